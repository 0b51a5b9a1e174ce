import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** Encrypts small secrets at rest (pending passwords, bind secrets, signing keys). */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
  /**
   * A keyed fingerprint of `text` for comparing it later without keeping it: HMAC-SHA-256 under a
   * key derived from the secret key for `purpose` (so one purpose's fingerprints say nothing
   * about another's), in base64url. Without the secret key a fingerprint cannot be tested against
   * guesses offline.
   */
  fingerprint(purpose: string, text: string): string;
}

/**
 * A sealed value whose tag does not verify: it was sealed under another key (or altered). Its own
 * class so that the start-up check can tell a wrong secret key from any other failure.
 */
export class SealedValueRejectedError extends Error {
  constructor() {
    super('the sealed value does not open with this secret key');
    this.name = 'SealedValueRejectedError';
  }
}

const version = 'v1';
/** GCM accepts tags as short as 4 bytes; only the full 16 are accepted, so a cut tag cannot ease forgery. */
const tagBytes = 16;

/**
 * AES-256-GCM with a random 96-bit nonce per message. The output is
 * `v1.<nonce>.<ciphertext>.<tag>` in base64url, so the format can change later without guessing.
 */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  const fingerprintKeys = new Map<string, Buffer>();
  return {
    fingerprint(purpose, text) {
      let subkey = fingerprintKeys.get(purpose);
      if (!subkey) {
        subkey = createHmac('sha256', key).update(`rekey fingerprint: ${purpose}`).digest();
        fingerprintKeys.set(purpose, subkey);
      }
      return createHmac('sha256', subkey).update(text, 'utf8').digest('base64url');
    },
    seal(plaintext) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [version, nonce, body, cipher.getAuthTag()]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },
    open(sealed) {
      const [tag, nonce, body, authTag] = sealed.split('.');
      if (tag !== version || nonce === undefined || body === undefined || authTag === undefined) {
        throw new Error('sealed value has an unknown format');
      }
      const tagBuffer = Buffer.from(authTag, 'base64url');
      if (tagBuffer.length !== tagBytes) throw new Error('sealed value has a malformed tag');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'), {
        authTagLength: tagBytes,
      });
      decipher.setAuthTag(tagBuffer);
      const opened = decipher.update(Buffer.from(body, 'base64url'));
      let last: Buffer;
      try {
        last = decipher.final();
      } catch {
        throw new SealedValueRejectedError();
      }
      return Buffer.concat([opened, last]).toString('utf8');
    },
  };
}
