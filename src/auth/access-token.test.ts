import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { dialects, freshDatabaseUrl } from '../../test/support/databases.js';
import { systemClock } from '../platform/clock.js';
import { createSecretBox } from '../platform/crypto/secret-box.js';
import { type Db, migrateToLatest, openDatabase } from '../platform/db/database.js';
import { createTokenIssuer, graphAudience } from './access-token.js';
import { createKeyRing } from './signing-keys.js';

const issuerUrl = 'http://a';
const tenantId = 't1';

describe.each(dialects)('access-token verification on %s', (dialect) => {
  const opened: Db[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
  });

  /** A token with every Rekey claim, signed with the ring's real signing key; `exp` only if asked. */
  async function signedToken(withExpiry: boolean) {
    const db = openDatabase(await freshDatabaseUrl(dialect));
    opened.push(db);
    await migrateToLatest(db);
    const ring = createKeyRing(db, createSecretBox(randomBytes(32)), systemClock);
    const tokens = createTokenIssuer(ring, systemClock, issuerUrl, tenantId);
    const { kid, key } = await ring.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({
      oid: 'u1',
      sub: 'u1',
      tid: tenantId,
      upn: 'u1@example.com',
      name: 'U One',
      azp: 'app',
      rk_sv: 1,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(tokens.issuer)
      .setAudience(graphAudience)
      .setIssuedAt(now)
      .setNotBefore(now);
    return { tokens, token: await (withExpiry ? jwt.setExpirationTime(now + 60) : jwt).sign(key) };
  }

  it('accepts a well-formed token signed with the real key', async () => {
    const { tokens, token } = await signedToken(true);
    await expect(tokens.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'u1', sessionVersion: 1 });
  });

  it('refuses a token without exp, though its signature, issuer and audience are right', async () => {
    const { tokens, token } = await signedToken(false);
    await expect(tokens.verifyAccessToken(token)).rejects.toMatchObject({ code: 7700102 });
  });
});
