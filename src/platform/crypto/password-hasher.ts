import { hash, verify } from '@node-rs/argon2';
import { Codes } from '../errors/catalog.js';
import { RekeyError } from '../errors/rekey-error.js';

/** @node-rs/argon2's `Algorithm.Argon2id`; its const enum cannot be imported under verbatimModuleSyntax. */
const argon2id = 2;

export interface Argon2Parameters {
  readonly memoryKib: number;
  readonly iterations: number;
  readonly parallelism: number;
}

/** Hashes and verifies passwords; the port services use, so unit tests can pass a cheap one. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(phc: string, password: string): Promise<boolean>;
  /** True when `phc` was made with other parameters than the current ones and should be redone. */
  needsRehash(phc: string): boolean;
}

/**
 * argon2id through @node-rs/argon2. Its async functions run on libuv's thread pool, so a hash
 * never blocks the event loop; the entry point sizes the pool to the cores.
 */
export function createArgon2Hasher(parameters: Argon2Parameters): PasswordHasher {
  const options = {
    algorithm: argon2id,
    memoryCost: parameters.memoryKib,
    timeCost: parameters.iterations,
    parallelism: parameters.parallelism,
  };
  const expected = `$argon2id$v=19$m=${parameters.memoryKib},t=${parameters.iterations},p=${parameters.parallelism}$`;
  return {
    hash: (password) => hash(password, options),
    async verify(phc, password) {
      try {
        return await verify(phc, password);
      } catch {
        // A malformed stored hash verifies nothing; it must not turn a sign-in into a 500.
        return false;
      }
    },
    needsRehash: (phc) => !phc.startsWith(expected),
  };
}

/** How many verifications a bounded hasher admits at once, and what it tells those it turns away. */
export interface VerificationBound {
  /** Verifications running or waiting for a thread at most; one more is shed at once. */
  readonly maxPending: number;
  /** The `Retry-After` of a shed verification, in seconds. */
  readonly retryAfterSeconds: number;
}

/**
 * `hasher` with at most `bound.maxPending` verifications running or queued on the thread pool.
 * Beyond that a verification is refused at once with 7700702 (503, `Retry-After`) instead of
 * waiting behind the others: under a flood of sign-ins the wait would grow without limit for
 * everyone, the legitimate user included. The refusal is thrown before any password is compared,
 * so smart lockout never counts it as a wrong password. Hashing a new password is not bounded: it
 * only follows a verification or an administrator's action.
 */
export function withVerificationBound(hasher: PasswordHasher, bound: VerificationBound): PasswordHasher {
  let pending = 0;
  return {
    hash: (password) => hasher.hash(password),
    async verify(phc, password) {
      if (pending >= bound.maxPending) {
        throw new RekeyError(Codes.PasswordCheckBusy, { retryAfterSeconds: bound.retryAfterSeconds });
      }
      pending += 1;
      try {
        return await hasher.verify(phc, password);
      } finally {
        pending -= 1;
      }
    },
    needsRehash: (phc) => hasher.needsRehash(phc),
  };
}

/**
 * `hasher` with the time of every hash and verification reported to `observe` (the metrics'
 * histogram); a verification refused by the bound is not a hash and is not reported.
 */
export function withHashTiming(
  hasher: PasswordHasher,
  observe: (operation: 'hash' | 'verify', seconds: number) => void,
): PasswordHasher {
  const timed = async <T>(operation: 'hash' | 'verify', work: () => Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    try {
      return await work();
    } finally {
      observe(operation, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
  return {
    hash: (password) => timed('hash', () => hasher.hash(password)),
    verify: (phc, password) => timed('verify', () => hasher.verify(phc, password)),
    needsRehash: (phc) => hasher.needsRehash(phc),
  };
}
