import { randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Clock } from '../platform/clock.js';
import type { SecretBox } from '../platform/crypto/secret-box.js';
import type { Db } from '../platform/db/database.js';

const algorithm = 'RS256';

export interface KeyRing {
  /** The key new tokens are signed with. */
  signingKey(): Promise<{ readonly kid: string; readonly key: CryptoKey }>;
  /** The public key for `kid`, reloading from the database once if it is not known yet. */
  verificationKey(kid: string): Promise<CryptoKey | undefined>;
  /** The public JWKS document. */
  publicJwks(): Promise<{ keys: JWK[] }>;
}

interface LoadedKey {
  readonly kid: string;
  readonly publicJwk: JWK;
  readonly publicKey: CryptoKey;
  readonly privateJwkCiphertext: string;
  readonly createdAt: string;
}

/**
 * Token signing keys, kept in the database (private halves encrypted with the secret key) so
 * that every `serve` process over one database signs and verifies with the same set.
 */
export function createKeyRing(db: Db, secretBox: SecretBox, clock: Clock): KeyRing {
  let loaded: Promise<LoadedKey[]> | undefined;
  let signing: Promise<{ kid: string; key: CryptoKey }> | undefined;
  /** When the key set was last reloaded for an unknown kid; bounds reloads under forged tokens. */
  let lastReloadAt = 0;
  const reloadIntervalMs = 30_000;

  async function load(): Promise<LoadedKey[]> {
    const rows = await db.kysely
      .selectFrom('signing_keys')
      .select(['kid', 'public_jwk', 'private_jwk_ciphertext', 'created_at'])
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .execute();
    return Promise.all(
      rows.map(async (row) => {
        const publicJwk = JSON.parse(row.public_jwk) as JWK;
        return {
          kid: row.kid,
          publicJwk,
          publicKey: (await importJWK(publicJwk, algorithm)) as CryptoKey,
          privateJwkCiphertext: row.private_jwk_ciphertext,
          createdAt: row.created_at,
        };
      }),
    );
  }

  async function createKey(): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: algorithm, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: algorithm };
    await db.kysely
      .insertInto('signing_keys')
      .values({
        kid,
        algorithm,
        public_jwk: JSON.stringify(publicJwk),
        private_jwk_ciphertext: secretBox.seal(JSON.stringify(privateJwk)),
        created_at: clock.now().toISOString(),
        retired_at: null,
      })
      .execute();
  }

  async function keys(): Promise<LoadedKey[]> {
    loaded ??= load().catch((error: unknown) => {
      // A failed read must not be remembered: the next call tries the database again.
      loaded = undefined;
      throw error;
    });
    return loaded;
  }

  return {
    signingKey() {
      signing ??= (async () => {
        let all = await keys();
        if (all.length === 0) {
          await createKey();
          loaded = undefined;
          all = await keys();
        }
        const newest = all[0];
        if (!newest) throw new Error('no signing key could be created');
        const privateJwk = JSON.parse(secretBox.open(newest.privateJwkCiphertext)) as JWK;
        return { kid: newest.kid, key: (await importJWK(privateJwk, algorithm)) as CryptoKey };
      })().catch((error: unknown) => {
        signing = undefined;
        throw error;
      });
      return signing;
    },
    async verificationKey(kid) {
      let found = (await keys()).find((k) => k.kid === kid);
      const now = Date.now();
      if (!found && now - lastReloadAt > reloadIntervalMs) {
        // Another process may have created a key since we loaded: look again, but at most every
        // 30 seconds, so tokens with made-up key ids cannot turn into a database query each.
        lastReloadAt = now;
        loaded = undefined;
        found = (await keys()).find((k) => k.kid === kid);
      }
      return found?.publicKey;
    },
    async publicJwks() {
      await this.signingKey();
      return { keys: (await keys()).map((k) => k.publicJwk) };
    },
  };
}
