import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { dialects, freshDatabaseUrl } from '../../test/support/databases.js';
import { systemClock } from '../platform/clock.js';
import { createSecretBox } from '../platform/crypto/secret-box.js';
import { type Db, migrateToLatest, openDatabase } from '../platform/db/database.js';
import { createTokenIssuer } from './access-token.js';
import { createKeyRing } from './signing-keys.js';

const secretBox = createSecretBox(randomBytes(32));
const claims = {
  userId: 'u1',
  tenantId: 't1',
  userPrincipalName: 'u1@example.com',
  displayName: 'U One',
  appId: 'app',
  sessionVersion: 1,
};

describe.each(dialects)('the signing key ring on %s', (dialect) => {
  const opened: Db[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
  });

  async function open(url: string, migrate = true): Promise<Db> {
    const db = openDatabase(url);
    opened.push(db);
    if (migrate) await migrateToLatest(db);
    return db;
  }

  it('lets a second process verify tokens signed with a key the first one created', async () => {
    const url =
      dialect === 'sqlite'
        ? `sqlite:${(await import('node:os')).tmpdir()}/rekey-keys-${randomBytes(4).toString('hex')}.sqlite`
        : await freshDatabaseUrl(dialect);
    const first = createTokenIssuer(
      createKeyRing(await open(url), secretBox, systemClock),
      systemClock,
      'http://a',
      't1',
    );
    const second = createTokenIssuer(
      createKeyRing(await open(url, false), secretBox, systemClock),
      systemClock,
      'http://a',
      't1',
    );
    // The second ring loads the (still empty) key set before the first creates a key.
    await expect(second.verifyAccessToken('x.y.z')).rejects.toMatchObject({ code: 7700102 });
    const token = await first.issueAccessToken(claims, 60);
    await expect(second.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'u1', sessionVersion: 1 });
  });

  it('reloads for an unknown key id at most once per interval', async () => {
    const db = await open(await freshDatabaseUrl(dialect));
    const ring = createKeyRing(db, secretBox, systemClock);
    const verifier = createTokenIssuer(ring, systemClock, 'http://a', 't1');
    // A made-up key id costs one reload...
    expect(await ring.verificationKey('made-up')).toBeUndefined();
    const signer = createTokenIssuer(
      createKeyRing(db, secretBox, systemClock),
      systemClock,
      'http://a',
      't1',
    );
    const token = await signer.issueAccessToken(claims, 60);
    // ...and within the interval no further one, even for a key that now exists.
    await expect(verifier.verifyAccessToken(token)).rejects.toMatchObject({ code: 7700102 });
    expect(decodeProtectedHeader(token).kid).toBeTypeOf('string');
  });

  it('does not remember a failed load: it works once the database is ready', async () => {
    const db = await open(await freshDatabaseUrl(dialect), false);
    const ring = createKeyRing(db, secretBox, systemClock);
    await expect(ring.publicJwks()).rejects.toThrow();
    await migrateToLatest(db);
    const jwks = await ring.publicJwks();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});
