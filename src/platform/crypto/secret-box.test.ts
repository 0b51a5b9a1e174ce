import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSecretBox, SealedValueRejectedError } from './secret-box.js';
import { loadSecretKey } from './secret-key.js';

const key = randomBytes(32);
const box = createSecretBox(key);

/** Flips one bit of the base64url part `index` of a sealed value. */
function flipBit(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index] ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('secret box (AES-256-GCM)', () => {
  it.each([
    ['ascii', 'Harbor-Lights-42!'],
    ['empty', ''],
    ['unicode', 'pässwörd-密码-🔑'],
    ['long', 'x'.repeat(10_000)],
  ])('round-trips a %s secret', (_name, plaintext) => {
    const sealed = box.seal(plaintext);
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(sealed.split('.')).toHaveLength(4);
    if (plaintext.length > 0) expect(sealed).not.toContain(plaintext);
    expect(box.open(sealed)).toBe(plaintext);
  });

  it('uses a fresh nonce for every seal', () => {
    const a = box.seal('same secret');
    const b = box.seal('same secret');
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
  });

  it.each([
    ['the nonce', 1],
    ['the ciphertext', 2],
    ['the tag', 3],
  ])('detects tampering with %s', (_name, index) => {
    const sealed = box.seal('Harbor-Lights-42!');
    expect(() => box.open(flipBit(sealed, index))).toThrow();
  });

  it('refuses a truncated authentication tag', () => {
    const sealed = box.seal('Harbor-Lights-42!');
    const parts = sealed.split('.');
    const shortTag = Buffer.from(parts[3] ?? '', 'base64url')
      .subarray(0, 4)
      .toString('base64url');
    expect(() => box.open([parts[0], parts[1], parts[2], shortTag].join('.'))).toThrow();
  });

  it('refuses another key, an unknown version and a malformed value', () => {
    const sealed = box.seal('Harbor-Lights-42!');
    // Another key is told apart from other failures: the start-up check relies on it.
    expect(() => createSecretBox(randomBytes(32)).open(sealed)).toThrow(SealedValueRejectedError);
    expect(() => box.open(sealed.replace(/^v1\./, 'v2.'))).toThrow(/unknown format/);
    expect(() => box.open('v1.only-two')).toThrow(/unknown format/);
    expect(() => createSecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('secret key file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rekey-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a 0600 key file on first use and reads the same key afterwards', () => {
    const dataDir = path.join(dir, 'data');
    const first = loadSecretKey(undefined, dataDir);
    expect(first).toHaveLength(32);
    const file = path.join(dataDir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The data directory it made is the owner's alone too.
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(first)).toBe(true);
    expect(loadSecretKey(undefined, dataDir).equals(first)).toBe(true);
  });

  it('fingerprints with a key of its own per purpose: same text, same fingerprint; other key or purpose, another', () => {
    const text = JSON.stringify({ newPassword: 'Harbor-Lights-42!' });
    expect(box.fingerprint('idempotency-request', text)).toBe(box.fingerprint('idempotency-request', text));
    expect(box.fingerprint('idempotency-request', text)).not.toBe(box.fingerprint('other', text));
    expect(createSecretBox(randomBytes(32)).fingerprint('idempotency-request', text)).not.toBe(
      box.fingerprint('idempotency-request', text),
    );
  });

  it('prefers the configured key', () => {
    const configured = randomBytes(32);
    expect(loadSecretKey(configured.toString('base64'), path.join(dir, 'unused')).equals(configured)).toBe(
      true,
    );
  });
});
