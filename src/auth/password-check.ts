import { randomBytes } from 'node:crypto';
import type { LockDescription } from '../lockout/lockout-policy.js';
import type { LockoutAttempt, LockoutService } from '../lockout/lockout-service.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import type { RekeyError } from '../platform/errors/rekey-error.js';

/** What a password check needs to know about the account it checks. */
export interface CredentialSubject {
  readonly id: string;
  /** The stored argon2id hash; null for an account without a password. */
  readonly password_hash: string | null;
  /** The connector a synced user came from: its directory checks the password (pass-through). */
  readonly on_premises_connector_id?: string | null;
  /** The synced user's entry in that directory. */
  readonly on_premises_distinguished_name?: string | null;
}

/** What the directory said about a password it checked (pass-through). */
export type PassThroughResult =
  /** No directory to ask any more (the connector was removed): the stored hash decides. */
  | { readonly outcome: 'noDirectory' }
  | { readonly outcome: 'verified' }
  | { readonly outcome: 'wrongPassword' }
  | {
      readonly outcome: 'refused';
      /** The sign-in code: 50144 expired, 50053 locked on-premises, 80001/80002 unreachable... */
      readonly error: RekeyError;
      /**
       * True when the directory said so only because the password was right (expired, or to be
       * changed after a reset): a change of that password may go on.
       */
      readonly passwordProven: boolean;
      /** What the directory said, for the sign-in log (reason, ppolicy error, LDAP result code). */
      readonly onPremisesCause: string;
    };

/**
 * Checks a synced user's password against the directory the user came from, by binding as the
 * user: the directory's own password, lockout and expiry rules apply.
 */
export interface PassThroughVerifier {
  /** Whether `subject`'s password lives in a directory (a synced user); undefined for cloud users. */
  appliesTo(subject: CredentialSubject): boolean;
  verify(subject: CredentialSubject, password: string, correlationId: string): Promise<PassThroughResult>;
}

/**
 * Decides whether a password is an account's. Every implementation spends about the same time on
 * a wrong password, a right one and an account that does not exist, so the time of an answer does
 * not tell them apart. Argon2 against the stored hash today; a directory bind for synced users.
 */
export interface CredentialVerifier {
  /** True when `password` is the subject's; false for a wrong one or an account without a password. */
  verify(subject: CredentialSubject, password: string): Promise<boolean>;
  /** Spends the time of one verification and proves nothing: for accounts that do not exist. */
  spendVerification(password: string): Promise<void>;
}

/** The verifier of cloud accounts: argon2id against the hash Rekey stores. */
export function createStoredHashVerifier(hasher: PasswordHasher): CredentialVerifier {
  // Verified against when there is no hash to verify, so an unknown user (or one without a
  // password) costs the same time as a wrong password. Made on first use, not at start.
  let dummyHash: Promise<string> | undefined;
  async function spendVerification(password: string): Promise<void> {
    dummyHash ??= hasher.hash(randomBytes(16).toString('hex'));
    await hasher.verify(await dummyHash, password);
  }
  return {
    async verify(subject, password) {
      if (subject.password_hash === null) {
        await spendVerification(password);
        return false;
      }
      return hasher.verify(subject.password_hash, password);
    },
    spendVerification,
  };
}

/** The outcome of one password check. */
export type PasswordCheckResult<Subject extends CredentialSubject> =
  | {
      readonly outcome: 'verified';
      /**
       * The account, now known to have a password: a stored hash, or (`passThrough`) the
       * directory's, in which case `password_hash` is what is stored (null for a synced user).
       */
      readonly subject: Subject;
      /** True when the directory checked the password (a synced user). */
      readonly passThrough: boolean;
      /** The smart lockout attempt, for `rememberNetwork` after a successful sign-in. */
      readonly attempt: LockoutAttempt;
    }
  | { readonly outcome: 'unknownUser' | 'noPassword' | 'wrongPassword' }
  | {
      /**
       * The directory refused a synced user's sign-in for another reason than a wrong password
       * (expired, locked on-premises, unreachable); counted toward no lockout.
       */
      readonly outcome: 'onPremisesRefused';
      readonly error: RekeyError;
      readonly passwordProven: boolean;
      readonly onPremisesCause: string;
    }
  | {
      readonly outcome: 'locked';
      /** Which counter locked, and until when: for the logs, never for the caller. */
      readonly lock: LockDescription;
      /**
       * Whether the password given was the account's. A caller who gave it has proven knowledge of
       * the account, so the lock may be told to them; nobody else may learn it (see
       * sign-in-disclosure.ts). Never a reason to let the attempt through.
       */
      readonly passwordMatched: boolean;
    };

export type PasswordCheck = <Subject extends CredentialSubject>(
  subject: Subject | undefined,
  password: string,
  ipAddress: string,
  /** The request's correlation ID, carried into the connector trace of a pass-through bind. */
  correlationId?: string,
) => Promise<PasswordCheckResult<Subject>>;

/**
 * The one password check behind sign-in, self-service change and the expired-password change, so
 * the timing and smart lockout promises are kept in one place:
 *
 * Every outcome spends exactly one verification, so the time of an answer tells none of them
 * apart (a lock included: refusing it without hashing answered several times faster, which told
 * anyone that the account exists and is locked).
 *
 * 1. an unknown account, or one without a password, spends one verification and counts nothing
 *    (there is no password to guess);
 * 2. a locked account is refused whatever the password: its password is verified only to say
 *    whether the caller knew it (`passwordMatched`); nothing is counted and the lock is not
 *    extended;
 * 3. a wrong password is counted, and may lock the account;
 * 4. a right password clears the network's failures, unless a lock engaged while it was checked,
 *    in which case it is refused like any other attempt while locked.
 *
 * A synced user's password is checked by the directory (pass-through), behind the same smart
 * lockout: a locked account is refused without a bind (so guesses never reach the directory's
 * own lockout), a wrong password counts, and what is not a wrong password (expired, locked
 * on-premises, directory unreachable) is `onPremisesRefused` and counts nothing.
 */
export function createPasswordCheck(deps: {
  readonly verifier: CredentialVerifier;
  readonly lockout: Pick<LockoutService, 'open' | 'recordFailure' | 'recordSuccess'>;
  /** The directory bind of synced users; without it every account is checked against its hash. */
  readonly passThrough?: PassThroughVerifier | undefined;
}): PasswordCheck {
  const { verifier, lockout, passThrough } = deps;

  /** The check against the stored hash: every cloud user, and a synced user without a directory. */
  async function checkStoredHash<Subject extends CredentialSubject>(
    subject: Subject,
    password: string,
    ipAddress: string,
  ): Promise<PasswordCheckResult<Subject>> {
    const passwordHash = subject.password_hash;
    if (passwordHash === null) {
      await verifier.spendVerification(password);
      return { outcome: 'noPassword' };
    }
    const { attempt, lock } = await lockout.open(subject.id, ipAddress);
    if (lock) {
      const passwordMatched = await verifier.verify(subject, password);
      return { outcome: 'locked', lock, passwordMatched };
    }
    if (!(await verifier.verify(subject, password))) {
      const locked = await lockout.recordFailure(attempt, password);
      return locked
        ? { outcome: 'locked', lock: locked, passwordMatched: false }
        : { outcome: 'wrongPassword' };
    }
    const raced = await lockout.recordSuccess(attempt);
    if (raced) return { outcome: 'locked', lock: raced, passwordMatched: true };
    return { outcome: 'verified', subject, attempt, passThrough: false };
  }

  return async <Subject extends CredentialSubject>(
    subject: Subject | undefined,
    password: string,
    ipAddress: string,
    correlationId = '',
  ): Promise<PasswordCheckResult<Subject>> => {
    if (subject === undefined) {
      await verifier.spendVerification(password);
      return { outcome: 'unknownUser' };
    }
    if (passThrough?.appliesTo(subject)) {
      const { attempt, lock } = await lockout.open(subject.id, ipAddress);
      // Refused without asking the directory: a bind would tell whether the password matched,
      // but a wrong one would also count toward the directory's own lockout.
      if (lock) return { outcome: 'locked', lock, passwordMatched: false };
      const checked = await passThrough.verify(subject, password, correlationId);
      if (checked.outcome === 'noDirectory') return checkStoredHash(subject, password, ipAddress);
      if (checked.outcome === 'wrongPassword') {
        const locked = await lockout.recordFailure(attempt, password);
        return locked
          ? { outcome: 'locked', lock: locked, passwordMatched: false }
          : { outcome: 'wrongPassword' };
      }
      if (checked.outcome === 'refused') {
        return {
          outcome: 'onPremisesRefused',
          error: checked.error,
          passwordProven: checked.passwordProven,
          onPremisesCause: checked.onPremisesCause,
        };
      }
      const raced = await lockout.recordSuccess(attempt);
      if (raced) return { outcome: 'locked', lock: raced, passwordMatched: true };
      return { outcome: 'verified', subject, attempt, passThrough: true };
    }
    return checkStoredHash(subject, password, ipAddress);
  };
}
