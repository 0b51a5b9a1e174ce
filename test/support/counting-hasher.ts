import { createArgon2Hasher, type PasswordHasher } from '../../src/platform/crypto/password-hasher.js';

/**
 * A cheap real argon2id hasher that records the algorithm prefix of every hash it verifies
 * against, so a test can count the verifications a path spends (the timing promise).
 */
export function countingHasher(): PasswordHasher & { readonly verified: string[] } {
  const real = createArgon2Hasher({ memoryKib: 1024, iterations: 1, parallelism: 1 });
  const verified: string[] = [];
  return {
    verified,
    hash: (password) => real.hash(password),
    async verify(phc, password) {
      verified.push(phc.slice(0, 9));
      return real.verify(phc, password);
    },
    needsRehash: (phc) => real.needsRehash(phc),
  };
}
