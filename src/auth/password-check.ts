import { randomBytes } from 'node:crypto';
import type { LockDescription } from '../lockout/lockout-policy.js';
import type { LockoutAttempt, LockoutService } from '../lockout/lockout-service.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';

/** What a password check needs to know about the account it checks. */
export interface CredentialSubject {
  readonly id: string;
  /** The stored argon2id hash; null for an account without a password. */
  readonly password_hash: string | null;
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
      /** The account, now known to have a password. */
      readonly subject: Subject & { readonly password_hash: string };
      /** The smart lockout attempt, for `rememberNetwork` after a successful sign-in. */
      readonly attempt: LockoutAttempt;
    }
  | { readonly outcome: 'unknownUser' | 'noPassword' | 'wrongPassword' }
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
 */
export function createPasswordCheck(deps: {
  readonly verifier: CredentialVerifier;
  readonly lockout: Pick<LockoutService, 'open' | 'recordFailure' | 'recordSuccess'>;
}): PasswordCheck {
  const { verifier, lockout } = deps;
  return async <Subject extends CredentialSubject>(
    subject: Subject | undefined,
    password: string,
    ipAddress: string,
  ): Promise<PasswordCheckResult<Subject>> => {
    if (subject === undefined) {
      await verifier.spendVerification(password);
      return { outcome: 'unknownUser' };
    }
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
    return { outcome: 'verified', subject: { ...subject, password_hash: passwordHash }, attempt };
  };
}
