import { hash, verify } from '@node-rs/argon2';

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
