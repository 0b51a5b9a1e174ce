import { describe, expect, it } from 'vitest';
import { createArgon2Hasher } from './password-hasher.js';

const small = { memoryKib: 1024, iterations: 1, parallelism: 1 };
const hasher = createArgon2Hasher(small);

describe('argon2id hasher', () => {
  it('hashes to an argon2id PHC string with the configured parameters and a random salt', async () => {
    const a = await hasher.hash('Harbor-Lights-42!');
    const b = await hasher.hash('Harbor-Lights-42!');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('Harbor');
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const phc = await hasher.hash('Harbor-Lights-42!');
    expect(await hasher.verify(phc, 'Harbor-Lights-42!')).toBe(true);
    expect(await hasher.verify(phc, 'Harbor-Lights-42')).toBe(false);
    expect(await hasher.verify(phc, '')).toBe(false);
  });

  it('verifies hashes made with other parameters, and says they need a rehash', async () => {
    const other = createArgon2Hasher({ memoryKib: 2048, iterations: 2, parallelism: 1 });
    const phc = await other.hash('Harbor-Lights-42!');
    expect(await hasher.verify(phc, 'Harbor-Lights-42!')).toBe(true);
    expect(hasher.needsRehash(phc)).toBe(true);
    expect(other.needsRehash(phc)).toBe(false);
    expect(hasher.needsRehash(await hasher.hash('x'))).toBe(false);
  });

  it.each([
    ['memory', { ...small, memoryKib: 2048 }],
    ['iterations', { ...small, iterations: 2 }],
    ['parallelism', { ...small, parallelism: 2 }],
  ])('needs a rehash when %s changes', async (_name, parameters) => {
    const phc = await hasher.hash('Harbor-Lights-42!');
    expect(createArgon2Hasher(parameters).needsRehash(phc)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not a hash'],
    ['truncated', '$argon2id$v=19$m=1024,t=1,p=1$'],
    ['bcrypt', '$2b$10$abcdefghijklmnopqrstuuQ5nH3V8s5h1Yt0b1kqG9a5y2o1ZrVfa'],
    ['bad base64', '$argon2id$v=19$m=1024,t=1,p=1$!!!!$????'],
  ])('treats a malformed stored hash (%s) as not matching, without throwing', async (_name, phc) => {
    await expect(hasher.verify(phc, 'Harbor-Lights-42!')).resolves.toBe(false);
  });
});
