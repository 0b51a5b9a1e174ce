import type { Kysely } from 'kysely';
import { preparedQuery } from '../platform/db/prepared-query.js';
import type { Database, DomainRow, NewDomainRow } from '../platform/db/schema.js';

export interface TenantRecord {
  readonly id: string;
  readonly displayName: string;
  readonly createdAt: string;
}

export async function findTenant(db: Kysely<Database>): Promise<TenantRecord | undefined> {
  const row = await db
    .selectFrom('tenants')
    .select(['id', 'display_name', 'created_at'])
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
  return row && { id: row.id, displayName: row.display_name, createdAt: row.created_at };
}

export async function insertTenant(db: Kysely<Database>, tenant: TenantRecord): Promise<void> {
  await db
    .insertInto('tenants')
    .values({ id: tenant.id, display_name: tenant.displayName, settings: '{}', created_at: tenant.createdAt })
    .execute();
}

const domainColumns = [
  'domains.name',
  'domains.tenant_id',
  'domains.authentication_type',
  'domains.is_default',
  'domains.is_initial',
  'domains.is_verified',
  'domains.created_at',
  // The federation's password page is the domain's password change URL (Rekey's extension).
  'domain_federations.password_reset_uri as password_change_url',
] as const;

function selectDomains(db: Kysely<Database>) {
  return db
    .selectFrom('domains')
    .leftJoin('domain_federations', 'domain_federations.domain_name', 'domains.name')
    .select(domainColumns);
}

export async function listDomains(db: Kysely<Database>, tenantId: string): Promise<DomainRow[]> {
  return selectDomains(db).where('domains.tenant_id', '=', tenantId).orderBy('domains.name').execute();
}

const domainByName = preparedQuery((db, p: { tenantId: string; name: string }) =>
  selectDomains(db).where('domains.tenant_id', '=', p.tenantId).where('domains.name', '=', p.name),
);

export async function findDomain(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
): Promise<DomainRow | undefined> {
  // The tenant segment of every sign-in and change names a domain: prepared once.
  const { rows } = await domainByName(db, { tenantId, name: name.toLowerCase() });
  return rows[0];
}

/** The names (lower case) of the tenant's verified domains: one read, without the federation join. */
export async function listVerifiedDomainNames(db: Kysely<Database>, tenantId: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('domains')
    .select('name')
    .where('tenant_id', '=', tenantId)
    .where('is_verified', '=', 1)
    .execute();
  return new Set(rows.map((row) => row.name.toLowerCase()));
}

/** True when any tenant already has a domain of this name (domain names are globally unique). */
export async function domainNameTaken(db: Kysely<Database>, name: string): Promise<boolean> {
  const row = await db
    .selectFrom('domains')
    .select('name')
    .where('name', '=', name.toLowerCase())
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertDomain(db: Kysely<Database>, domain: NewDomainRow): Promise<void> {
  await db.insertInto('domains').values(domain).execute();
}

/** Sets a domain's authentication type (the federation service keeps it beside the federation). */
export async function setDomainAuthenticationType(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
  authenticationType: 'Managed' | 'Federated',
): Promise<void> {
  await db
    .updateTable('domains')
    .set({ authentication_type: authenticationType })
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .execute();
}

export interface ApplicationRecord {
  readonly appId: string;
  readonly displayName: string;
}

const applicationById = preparedQuery((db, p: { tenantId: string; appId: string }) =>
  db
    .selectFrom('applications')
    .select(['app_id', 'display_name'])
    .where('tenant_id', '=', p.tenantId)
    .where('app_id', '=', p.appId),
);

export async function findApplication(
  db: Kysely<Database>,
  tenantId: string,
  appId: string,
): Promise<ApplicationRecord | undefined> {
  // Every sign-in names its client: prepared once.
  const [row] = (await applicationById(db, { tenantId, appId: appId.toLowerCase() })).rows;
  return row && { appId: row.app_id, displayName: row.display_name };
}

/** The tenant's applications, built-in first, then by name. */
export async function listApplications(db: Kysely<Database>, tenantId: string): Promise<ApplicationRecord[]> {
  const rows = await db
    .selectFrom('applications')
    .select(['app_id', 'display_name'])
    .where('tenant_id', '=', tenantId)
    .orderBy('is_builtin', 'desc')
    .orderBy('display_name')
    .execute();
  return rows.map((row) => ({ appId: row.app_id, displayName: row.display_name }));
}

export async function insertApplication(
  db: Kysely<Database>,
  tenantId: string,
  app: ApplicationRecord & { readonly isBuiltin: boolean; readonly createdAt: string },
): Promise<void> {
  await db
    .insertInto('applications')
    .values({
      app_id: app.appId,
      tenant_id: tenantId,
      display_name: app.displayName,
      is_builtin: app.isBuiltin ? 1 : 0,
      created_at: app.createdAt,
    })
    .execute();
}
