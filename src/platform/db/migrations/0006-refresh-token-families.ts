import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Refresh-token families: every token descended from one password sign-in shares a family, so a
 * replayed (already spent) refresh token can revoke its whole family, the access tokens issued
 * within it included (they carry the family id in `rk_fam`). `token_families.revoked_at` is what
 * the bearer guard reads; `refresh_tokens.family_id` lets the revocation find the family's tokens.
 * Tokens issued before this migration each become a family of their own (their successors cannot be
 * told apart any more), and access tokens issued before it carry no family.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('token_families')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(32)')
    .execute();
  await db.schema.createIndex('token_families_user').on('token_families').column('user_id').execute();
  await db.schema.alterTable('refresh_tokens').addColumn('family_id', 'varchar(36)').execute();
  await sql`insert into token_families (id, user_id, created_at, revoked_at)
    select id, user_id, created_at, null from refresh_tokens`.execute(db);
  await sql`update refresh_tokens set family_id = id`.execute(db);
  await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family_id').execute();
}
