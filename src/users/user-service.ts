import { randomUUID } from 'node:crypto';
import { insertAudit } from '../audit/audit-store.js';
import { assertPasswordAcceptable } from '../passwords/password-policy.js';
import type { Clock } from '../platform/clock.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import type { Db } from '../platform/db/database.js';
import type { UserRow } from '../platform/db/schema.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import { findDomain } from '../tenant/tenant-store.js';
import type { DirectoryRole } from './roles.js';
import { parseUserPrincipalName } from './upn.js';
import {
  addPasswordHistory,
  findUserById,
  findUserByUpn,
  insertUser,
  upsertCredential,
} from './user-store.js';

export interface CreateUserInput {
  readonly accountEnabled: boolean;
  readonly displayName: string;
  readonly mailNickname: string;
  readonly userPrincipalName: string;
  readonly password: string;
  readonly forceChangePasswordNextSignIn: boolean;
  readonly forceChangePasswordNextSignInWithMfa?: boolean;
  readonly passwordPolicies?: string | null;
  readonly givenName?: string | null;
  readonly surname?: string | null;
  readonly mail?: string | null;
  readonly jobTitle?: string | null;
  readonly usageLocation?: string | null;
  readonly onPremisesImmutableId?: string | null;
  readonly roles?: readonly DirectoryRole[];
}

export interface UserServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
}

const passwordPolicyValues = ['None', 'DisablePasswordExpiration', 'DisableStrongPassword'] as const;

/** Normalises Graph's `passwordPolicies` string ("A, B") to Rekey's stored form, or throws 7700001. */
export function normalizePasswordPolicies(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const unknown = parts.filter((p) => !(passwordPolicyValues as readonly string[]).includes(p));
  if (unknown.length > 0) {
    throw new RekeyError(7700001, {
      details: {
        field: 'passwordPolicies',
        problem: `unknown value ${unknown.join(', ')}`,
        allowed: passwordPolicyValues,
      },
    });
  }
  const kept = [...new Set(parts.filter((p) => p !== 'None'))].sort();
  return kept.length === 0 ? null : kept.join(', ');
}

export type UserService = ReturnType<typeof createUserService>;

/** Users of the directory: create and find. */
export function createUserService(deps: UserServiceDeps) {
  const { db, tenantId, hasher, clock } = deps;

  /** Finds a live user by object id or UPN (a value with an @ is a UPN), or throws 7700008. */
  async function getUser(idOrUpn: string): Promise<UserRow> {
    const user = idOrUpn.includes('@')
      ? await findUserByUpn(db.kysely, tenantId, idOrUpn)
      : await findUserById(db.kysely, tenantId, idOrUpn);
    if (!user) throw new RekeyError(7700008, { details: { id: idOrUpn } });
    return user;
  }

  /**
   * Creates a user with a password, as Graph's POST /users does: the UPN must be in a verified
   * domain of the tenant, a federated domain needs an immutable id, and the password must pass
   * the policy. The user, credential, history entry and audit row are written together.
   */
  async function createUser(context: RequestContext, input: CreateUserInput): Promise<UserRow> {
    const { domain } = parseUserPrincipalName(input.userPrincipalName);
    const domainRow = await findDomain(db.kysely, tenantId, domain);
    if (domainRow?.is_verified !== 1) {
      throw new RekeyError(7700009, {
        message: `The domain ${domain} is not a verified domain of this tenant.`,
        details: { userPrincipalName: input.userPrincipalName, domain },
      });
    }
    if (domainRow.authentication_type === 'Federated' && !input.onPremisesImmutableId) {
      throw new RekeyError(7700001, {
        message: 'A user in a federated domain needs an onPremisesImmutableId.',
        details: { field: 'onPremisesImmutableId', domain },
      });
    }
    if (input.onPremisesImmutableId && /[$_]/.test(input.onPremisesImmutableId)) {
      throw new RekeyError(7700001, {
        details: { field: 'onPremisesImmutableId', problem: 'must not contain $ or _' },
      });
    }
    const passwordPolicies = normalizePasswordPolicies(input.passwordPolicies);
    assertPasswordAcceptable(input.password, {
      userPrincipalName: input.userPrincipalName,
      displayName: input.displayName,
      givenName: input.givenName ?? null,
      surname: input.surname ?? null,
    });
    if (await findUserByUpn(db.kysely, tenantId, input.userPrincipalName, { includeDeleted: true })) {
      throw new RekeyError(7700010, {
        message: 'Another user already has this user principal name.',
        details: { userPrincipalName: input.userPrincipalName },
      });
    }

    const passwordHash = await hasher.hash(input.password);
    const now = clock.now().toISOString();
    const row: UserRow = {
      id: randomUUID(),
      tenant_id: tenantId,
      user_principal_name: input.userPrincipalName,
      upn_key: input.userPrincipalName.toLowerCase(),
      display_name: input.displayName,
      given_name: input.givenName ?? null,
      surname: input.surname ?? null,
      mail: input.mail ?? null,
      mail_nickname: input.mailNickname,
      job_title: input.jobTitle ?? null,
      usage_location: input.usageLocation ?? null,
      account_enabled: input.accountEnabled ? 1 : 0,
      password_policies: passwordPolicies,
      force_change_password_next_sign_in: input.forceChangePasswordNextSignIn ? 1 : 0,
      force_change_password_next_sign_in_with_mfa: input.forceChangePasswordNextSignInWithMfa ? 1 : 0,
      last_password_change_at: now,
      user_type: 'Member',
      roles: JSON.stringify(input.roles ?? []),
      session_version: 1,
      sign_in_sessions_valid_from: now,
      on_premises_sync_enabled: null,
      on_premises_immutable_id: input.onPremisesImmutableId ?? null,
      on_premises_distinguished_name: null,
      on_premises_sam_account_name: null,
      on_premises_last_sync_at: null,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    try {
      await db.kysely.transaction().execute(async (trx) => {
        await insertUser(trx, row);
        await upsertCredential(trx, row.id, passwordHash, now);
        await addPasswordHistory(trx, row.id, passwordHash, now);
        await insertAudit(
          trx,
          tenantId,
          context,
          {
            activityDisplayName: 'Add user',
            category: 'UserManagement',
            loggedByService: 'Core Directory',
            operationType: 'Add',
            result: 'success',
            targets: [
              {
                id: row.id,
                displayName: row.display_name,
                type: 'User',
                userPrincipalName: row.user_principal_name,
              },
            ],
          },
          now,
        );
      });
    } catch (error) {
      // Two creates racing for one UPN: the unique index decides, and the loser gets the same 409.
      if (await findUserByUpn(db.kysely, tenantId, input.userPrincipalName, { includeDeleted: true })) {
        throw new RekeyError(7700010, {
          details: { userPrincipalName: input.userPrincipalName },
          cause: error,
        });
      }
      throw error;
    }
    return row;
  }

  return { getUser, createUser };
}
