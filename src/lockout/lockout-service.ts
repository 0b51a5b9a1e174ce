import type { Kysely } from 'kysely';
import {
  type AuditEntry,
  type AuditTarget,
  auditRefusals,
  failureReason,
  recordAudit,
} from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { Database, LockoutNetwork, LockoutStateRow, UserRow } from '../platform/db/schema.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import type { RequestContext } from '../platform/request-context.js';
import type { SettingsService } from '../settings/settings-service.js';
import { findUserToActOn, refusalToActOn } from '../users/authorization.js';
import { findLiveUser, lockUserForChange } from '../users/user-service.js';
import {
  createFingerprinter,
  emptyCounters,
  hasHistory,
  isLockedAt,
  judgeFailure,
  type LockDescription,
  type LockoutCounters,
  lockReason,
  networkKeyOf,
  type SmartLockoutSettings,
} from './lockout-policy.js';
import {
  clearLockoutStateIfUnlocked,
  compareAndSetLockoutState,
  countersOf,
  countLockedUsers,
  ensureLockoutState,
  findFamiliarNetwork,
  findLockoutState,
  insertFamiliarNetwork,
  listLockoutStates,
  resetLockoutStates,
  touchFamiliarNetwork,
} from './lockout-store.js';

/*
 * Smart lockout: counts wrong passwords per user and kind of network in the database, locks at
 * the threshold, and refuses attempts while locked, whatever their password.
 *
 * An attempt goes through three steps around the (slow) password check:
 *   open            which network, and is it locked? If so the caller refuses: nothing counted,
 *                   the lock not extended (the password check still spends its one verification,
 *                   so that a lock does not answer faster than a password check).
 *   recordFailure   a wrong password: compare-and-set on the counter's version, retried on
 *                   conflict. If the counter locked while the password was being checked, the
 *                   attempt is refused and not counted.
 *   recordSuccess   a right password: the counter is cleared by a conditional UPDATE that only
 *                   matches while it is not locked, then read back; a lock that engaged while the
 *                   password was being checked wins, and the attempt is refused.
 * Everything lives in the database, so several processes over one PostgreSQL share the counters.
 */

export interface LockoutServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  readonly settings: Pick<SettingsService, 'getSmartLockout'>;
  /** Rekey's secret key; the fingerprint key is derived from it. */
  readonly secretKey: Buffer;
  readonly logger: Logger;
}

/** One password attempt at one user, between `open` and its outcome. */
export interface LockoutAttempt {
  readonly userId: string;
  readonly network: LockoutNetwork;
  /** The /24 or /64 of the caller's address; undefined when the address is not an IP address. */
  readonly networkKey: string | undefined;
  /** When the user last signed in from that network (within the familiar window), if ever. */
  readonly familiarLastSeenAt: string | undefined;
  /** The counter held nothing to clear when the attempt began (the common case for a success). */
  readonly startedClean: boolean;
}

/** The lock state of one counter, as administrators see it. */
export interface NetworkLockoutView {
  readonly network: LockoutNetwork;
  readonly locked: boolean;
  readonly lockedUntil: string | null;
  readonly failureCount: number;
  readonly lockoutCount: number;
  readonly lastFailureDateTime: string | null;
  readonly lastLockoutDateTime: string | null;
  /** Why it is locked; null when it is not. */
  readonly reason: string | null;
}

/** A user's smart lockout state, with the settings in effect. */
export interface LockoutView {
  readonly userId: string;
  readonly userPrincipalName: string;
  /** True when either network is locked. */
  readonly locked: boolean;
  readonly lockoutThreshold: number;
  readonly lockoutDurationInSeconds: number;
  readonly networks: readonly NetworkLockoutView[];
}

/** A network stays familiar this long after the last successful sign-in from it. */
const familiarNetworkDays = 90;
/** `last_seen_at` of a familiar network is refreshed at most this often, to keep sign-in write-free. */
const familiarRefreshMs = 60 * 60 * 1000;
/**
 * Attempts at one compare-and-set before giving up. Each round has a winner, so only an attempt
 * that loses this many rounds in a row (hundreds of simultaneous wrong passwords at one user)
 * reaches the bound; it is then refused with a retryable code, having counted nothing.
 */
const maxWriteRounds = 64;
const networks: readonly LockoutNetwork[] = ['familiar', 'unfamiliar'];

/** A short random pause that grows with the round, so that the losers of a round spread out. */
function backoff(round: number): Promise<void> {
  const ms = Math.random() * Math.min(25, 2 ** round);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describeLock(
  network: LockoutNetwork,
  counters: LockoutCounters,
  lockedByThisAttempt: boolean,
): LockDescription {
  return {
    network,
    lockedUntil: counters.lockedUntil ?? '',
    failureCount: counters.failureCount,
    lockoutCount: counters.lockoutCount,
    lockedByThisAttempt,
  };
}

function viewOf(network: LockoutNetwork, row: LockoutStateRow | undefined, now: Date): NetworkLockoutView {
  const counters = row ? countersOf(row) : emptyCounters;
  const locked = isLockedAt(counters.lockedUntil, now);
  return {
    network,
    locked,
    lockedUntil: locked ? counters.lockedUntil : null,
    failureCount: counters.failureCount,
    lockoutCount: counters.lockoutCount,
    lastFailureDateTime: counters.lastFailureAt,
    lastLockoutDateTime: counters.lastLockoutAt,
    reason: locked ? lockReason(describeLock(network, counters, false)) : null,
  };
}

/** One line per counter that was locked or counting, for the audit row of an unlock or a reset. */
export function describeClearedLockout(before: readonly LockoutStateRow[], now: Date): string {
  const parts = before
    .filter((row) => row.failure_count > 0 || row.lockout_count > 0 || isLockedAt(row.locked_until, now))
    .map((row) =>
      isLockedAt(row.locked_until, now)
        ? `${row.network} networks were locked until ${row.locked_until} (${row.failure_count} failures, lockout ${row.lockout_count})`
        : `${row.network} networks were not locked (${row.failure_count} failures, lockout ${row.lockout_count})`,
    );
  return parts.length === 0
    ? 'No lock and no failed attempts to clear.'
    : `Lock ended and counts restarted: ${parts.join('; ')}.`;
}

/**
 * Ends a user's locks and restarts both counters, inside the transaction of a password reset:
 * the old password, and every wrong guess at it, no longer matter. Returns what was cleared, in
 * the words of {@link describeClearedLockout}, for the reset's audit row.
 */
export async function endLockoutForReset(trx: Kysely<Database>, userId: string, at: string): Promise<string> {
  return describeClearedLockout(await resetLockoutStates(trx, userId, at), new Date(at));
}

/**
 * How many users of the tenant are locked on some network at `now`: what a preview of a change
 * to the smart lockout settings tells the administrator about locks already in force.
 */
export function countUsersLockedAt(db: Kysely<Database>, tenantId: string, now: string): Promise<number> {
  return countLockedUsers(db, tenantId, now);
}

export type LockoutService = ReturnType<typeof createLockoutService>;

/** Smart lockout for one tenant. */
export function createLockoutService(deps: LockoutServiceDeps) {
  const { db, tenantId, clock, logger } = deps;
  const fingerprint = createFingerprinter(deps.secretKey);

  /**
   * Starts an attempt: the network kind of `ipAddress` for this user, and the lock on it, if any.
   * When a lock is returned the caller refuses the attempt, whatever the password.
   */
  async function open(
    userId: string,
    ipAddress: string,
  ): Promise<{ readonly attempt: LockoutAttempt; readonly lock: LockDescription | undefined }> {
    const now = clock.now();
    const networkKey = networkKeyOf(ipAddress);
    const seen =
      networkKey === undefined ? undefined : await findFamiliarNetwork(db.kysely, userId, networkKey);
    const familiarSince = new Date(now.getTime() - familiarNetworkDays * 24 * 60 * 60 * 1000).toISOString();
    const familiar = seen !== undefined && seen.lastSeenAt >= familiarSince;
    const network: LockoutNetwork = familiar ? 'familiar' : 'unfamiliar';
    const row = await findLockoutState(db.kysely, userId, network);
    const attempt: LockoutAttempt = {
      userId,
      network,
      networkKey,
      familiarLastSeenAt: seen?.lastSeenAt,
      startedClean: row === undefined || !hasHistory(countersOf(row)),
    };
    if (row && isLockedAt(row.locked_until, now)) {
      return { attempt, lock: describeLock(network, countersOf(row), false) };
    }
    return { attempt, lock: undefined };
  }

  /**
   * Counts a wrong password (unless it is one of the last three on this counter). Returns the lock
   * when the attempt must be refused as locked: it reached the threshold, or the counter locked
   * while its password was being checked (then it is not counted).
   */
  async function recordFailure(
    attempt: LockoutAttempt,
    password: string,
  ): Promise<LockDescription | undefined> {
    const settings = await deps.settings.getSmartLockout();
    const print = fingerprint(attempt.userId, password);
    await ensureLockoutState(db.kysely, {
      userId: attempt.userId,
      network: attempt.network,
      tenantId,
      at: clock.now().toISOString(),
    });
    for (let round = 0; round < maxWriteRounds; round += 1) {
      if (round > 0) await backoff(round);
      const row = await findLockoutState(db.kysely, attempt.userId, attempt.network);
      if (!row) {
        // Reset by an administrator's purge of the user between the insert and here.
        return undefined;
      }
      const now = clock.now();
      const decision = judgeFailure(countersOf(row), print, settings, now);
      if (decision.kind === 'alreadyLocked') return describeLock(attempt.network, countersOf(row), false);
      if (decision.kind === 'repeated') return undefined;
      let written: boolean;
      try {
        written = await compareAndSetLockoutState(
          db.kysely,
          { userId: attempt.userId, network: attempt.network, expectedVersion: row.version },
          decision.next,
          now.toISOString(),
        );
      } catch (error) {
        // A write that lost to another is retried like a compare-and-set miss.
        if (!isWriteConflict(error)) throw error;
        written = false;
      }
      if (!written) continue;
      if (!decision.locks) return undefined;
      logger.info(
        {
          userId: attempt.userId,
          network: attempt.network,
          lockedUntil: decision.next.lockedUntil,
          lockoutCount: decision.next.lockoutCount,
        },
        'smart lockout locked an account',
      );
      return describeLock(attempt.network, decision.next, true);
    }
    logger.warn({ userId: attempt.userId }, 'smart lockout counter kept changing; attempt refused uncounted');
    throw new RekeyError(Codes.LockoutStateContention);
  }

  /**
   * Commits a right password: clears this network's counter if it is not locked. Returns the lock
   * when the counter is locked now (it locked while the password was being checked): the attempt
   * must then be refused like any other while locked.
   */
  async function recordSuccess(attempt: LockoutAttempt): Promise<LockDescription | undefined> {
    for (let round = 0; round < maxWriteRounds; round += 1) {
      if (round > 0) await backoff(round);
      // A counter that was clean when the attempt began usually still is: read first, and write
      // only if a failure came in meanwhile.
      if (round > 0 || !attempt.startedClean) {
        let cleared: boolean;
        try {
          cleared = await clearLockoutStateIfUnlocked(
            db.kysely,
            attempt.userId,
            attempt.network,
            clock.now().toISOString(),
          );
        } catch (error) {
          if (!isWriteConflict(error)) throw error;
          continue;
        }
        if (cleared) return undefined;
      }
      // Nothing matched: the counter is absent, clean, or locked. Read which; the read is the
      // point at which this success is ordered against other attempts.
      const row = await findLockoutState(db.kysely, attempt.userId, attempt.network);
      if (!row) return undefined;
      const counters = countersOf(row);
      if (isLockedAt(counters.lockedUntil, clock.now()))
        return describeLock(attempt.network, counters, false);
      if (!hasHistory(counters)) return undefined;
      // A failure was counted, or a lock expired, between the two statements: clear it again.
    }
    // Every round lost a write (or only conflicted, on the distributed databases, without a read):
    // one last read orders this success, and a lock found there refuses it like any other.
    const row = await findLockoutState(db.kysely, attempt.userId, attempt.network);
    if (row && isLockedAt(row.locked_until, clock.now())) {
      return describeLock(attempt.network, countersOf(row), false);
    }
    // Not locked: the success stands; only the clearing of old failures was lost.
    return undefined;
  }

  /** Records the attempt's network as familiar after a successful sign-in (refreshed hourly). */
  async function rememberNetwork(attempt: LockoutAttempt): Promise<void> {
    if (attempt.networkKey === undefined) return;
    const now = clock.now();
    const at = now.toISOString();
    if (attempt.familiarLastSeenAt === undefined) {
      await insertFamiliarNetwork(db.kysely, attempt.userId, attempt.networkKey, at);
      return;
    }
    const staleBefore = new Date(now.getTime() - familiarRefreshMs).toISOString();
    if (attempt.familiarLastSeenAt < staleBefore) {
      await touchFamiliarNetwork(db.kysely, attempt.userId, attempt.networkKey, at, staleBefore);
    }
  }

  async function view(user: UserRow, settings: SmartLockoutSettings): Promise<LockoutView> {
    const rows = await listLockoutStates(db.kysely, user.id);
    const now = clock.now();
    const byNetwork = networks.map((network) =>
      viewOf(
        network,
        rows.find((row) => row.network === network),
        now,
      ),
    );
    return {
      userId: user.id,
      userPrincipalName: user.user_principal_name,
      locked: byNetwork.some((n) => n.locked),
      lockoutThreshold: settings.lockoutThreshold,
      lockoutDurationInSeconds: settings.lockoutDurationInSeconds,
      networks: byNetwork,
    };
  }

  /** A user's lock state for administrators (`id` is an object id or a user principal name). */
  async function getLockout(id: string): Promise<LockoutView> {
    const user = await findLiveUser(db.kysely, tenantId, id.includes('@') ? { upn: id } : { id });
    if (!user) throw new RekeyError(Codes.ResourceNotFound, { details: { id } });
    return view(user, await deps.settings.getSmartLockout());
  }

  /**
   * An administrator ends a user's locks and restarts both counters, audited as "Unlock user
   * account". Who may: the authorization module's `unlock` rule, which follows the password reset
   * table; a context without an actor is the operator at the CLI.
   */
  async function unlock(context: RequestContext, id: string): Promise<LockoutView> {
    // A refused unlock of an existing user is audited as a failure, like a refused reset.
    const refusedUnlock = (target: UserRow, refusal: RekeyError): AuditEntry => ({
      activity: 'unlockUserAccount',
      result: 'failure',
      resultReason: failureReason(refusal),
      targets: [
        {
          id: target.id,
          displayName: target.display_name,
          userPrincipalName: target.user_principal_name,
        },
      ],
    });
    const auditRefusal = async (target: UserRow, refusal: RekeyError): Promise<void> => {
      await recordAudit(
        db.kysely,
        tenantId,
        context,
        refusedUnlock(target, refusal),
        clock.now().toISOString(),
      );
    };
    const user = await findUserToActOn(db, tenantId, context, id, 'unlock', auditRefusal);
    const now = clock.now();
    const at = now.toISOString();
    async function unlockInside(trx: Kysely<Database>): Promise<void> {
      const before = await resetLockoutStates(trx, user.id, at);
      const target: AuditTarget = {
        id: user.id,
        displayName: user.display_name,
        userPrincipalName: user.user_principal_name,
        modifiedProperties: networks.map((network) => {
          const row = before.find((r) => r.network === network);
          return {
            displayName: `lockout.${network}`,
            oldValue: JSON.stringify({
              locked: row ? isLockedAt(row.locked_until, now) : false,
              lockedUntil: row && isLockedAt(row.locked_until, now) ? row.locked_until : null,
              failureCount: row?.failure_count ?? 0,
              lockoutCount: row?.lockout_count ?? 0,
            }),
            newValue: JSON.stringify({ locked: false, lockedUntil: null, failureCount: 0, lockoutCount: 0 }),
          };
        }),
      };
      await recordAudit(
        trx,
        tenantId,
        context,
        {
          activity: 'unlockUserAccount',
          result: 'success',
          targets: [target],
          additionalDetails: [{ key: 'smartLockout', value: describeClearedLockout(before, now) }],
        },
        at,
      );
    }
    await auditRefusals(
      {
        db: db.kysely,
        tenantId,
        context,
        codes: new Set([Codes.InsufficientPrivileges]),
        entry: (refusal) => refusedUnlock(user, refusal),
        now: () => clock.now().toISOString(),
      },
      () =>
        db.kysely.transaction().execute(async (trx) => {
          // Judged again on the locked row: the user may have been given a role since the first look.
          const current = await lockUserForChange(trx, tenantId, user.id);
          if (!current) throw new RekeyError(Codes.ResourceNotFound, { details: { id } });
          const refusal = refusalToActOn('unlock', context.actor, current);
          if (refusal) throw refusal;
          await unlockInside(trx);
        }),
    );
    return view(user, await deps.settings.getSmartLockout());
  }

  return { open, recordFailure, recordSuccess, rememberNetwork, getLockout, unlock };
}
