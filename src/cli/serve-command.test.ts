import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliTestRekey, runRekeyCli, startCliTestRekey } from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { createRekey } from '../app/create-rekey.js';
import { loadConfig } from '../platform/config.js';
import { isRekeyError } from '../platform/errors/rekey-error.js';
import { createLogger } from '../platform/log.js';

describe.each(dialects)('serve with a secret key that does not fit the database on %s', (dialect) => {
  let harness: CliTestRekey;
  beforeAll(async () => {
    harness = await startCliTestRekey(dialect, 'rekey-serve-');
    // The harness's first sign-in has created the signing key under the data directory's key.
    await harness.rekey.adminToken();
  });
  afterAll(async () => harness?.close());

  it('refuses to start with 7700204 instead of starting ready and failing every sign-in', async () => {
    const wrongKey = randomBytes(32).toString('base64');
    const config = loadConfig({ ...harness.env, REKEY_SECRET_KEY: wrongKey });
    const started = createRekey(config, { logger: createLogger('silent') });
    const error = await started.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isRekeyError(error) && error.code).toBe(7700204);
  });

  it('says so from the command line: catalog code, what to do, no stack trace, exit 1', async () => {
    const run = await runRekeyCli(
      { ...harness.env, REKEY_SECRET_KEY: randomBytes(32).toString('base64'), REKEY_PORT: '0' },
      ['serve', '--no-worker'],
    );
    expect(run.code).toBe(1);
    expect(run.err).toContain(
      'error 7700204 SecretKeyMismatch: Rekey cannot start: the secret key does not open',
    );
    expect(run.err).toContain('what to do: Set REKEY_SECRET_KEY to the key this database was created with');
    expect(run.err).not.toMatch(/^\s+at /m);
    expect(run.out).not.toContain('listening');
  });

  it('starts with the right key', async () => {
    const rekey = await createRekey(loadConfig(harness.env), { logger: createLogger('silent') });
    await rekey.close();
  });
});
