import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Codes } from '../errors/catalog.js';
import { RekeyError } from '../errors/rekey-error.js';
import { ensurePrivateDirectory, privateFileMode } from '../files-at-rest.js';
import { SealedValueRejectedError } from './secret-box.js';

/**
 * Returns the 32-byte key that encrypts secrets at rest: the configured one, else the one in
 * `<dataDir>/secret.key`, created (mode 0600) on first start.
 */
export function loadSecretKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured !== undefined) return Buffer.from(configured, 'base64');
  const file = path.join(dataDir, 'secret.key');
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
    return key;
  }
  ensurePrivateDirectory(dataDir);
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: privateFileMode, flag: 'wx' });
  chmodSync(file, privateFileMode);
  return key;
}

/**
 * Runs `probe`, which opens a value the database holds sealed (the token signing key), and turns
 * a value that does not open with this key into 7700204. Without this check a wrong
 * `REKEY_SECRET_KEY` starts a server that reports itself ready and then fails every sign-in.
 * Other failures (the database unreachable) are thrown as they are.
 */
export async function assertSecretKeyOpens(probe: () => Promise<unknown>): Promise<void> {
  try {
    await probe();
  } catch (error) {
    if (error instanceof SealedValueRejectedError)
      throw new RekeyError(Codes.SecretKeyMismatch, { cause: error });
    throw error;
  }
}
