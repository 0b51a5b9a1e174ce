import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliTestRekey, runRekeyCli, startCliTestRekey } from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { createRekey } from '../app/create-rekey.js';
import { loadConfig } from '../platform/config.js';
import { isRekeyError } from '../platform/errors/rekey-error.js';
import { createLogger } from '../platform/log.js';
import { startServer } from './serve-command.js';

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

describe.each(dialects)('serve on REKEY_PORT=0 on %s', (dialect) => {
  let harness: CliTestRekey;
  beforeAll(async () => {
    harness = await startCliTestRekey(dialect, 'rekey-port0-');
  });
  afterAll(async () => harness?.close());

  /** Starts `serve` (no worker) with `env` added, and captures what it printed. */
  async function start(env: Record<string, string>) {
    const out: string[] = [];
    const server = await startServer(
      { out: (text) => out.push(text), err: (text) => out.push(text), env: { ...harness.env, ...env } },
      { worker: false },
    );
    return { server, out: out.join('\n') };
  }

  it('prints the bound address and puts the real port, never :0, in the issuer, discovery and error_uri', async () => {
    const { server, out } = await start({ REKEY_PORT: '0' });
    try {
      const port = Number(new URL(server.boundUrl).port);
      expect(port).toBeGreaterThan(0);
      expect(server.boundUrl).toBe(`http://127.0.0.1:${port}`);
      expect(out).toContain(`Rekey is listening on http://127.0.0.1:${port} (database: ${dialect}`);
      expect(out).not.toContain(':0 ');

      const tenantId = server.rekey.tenant.id;
      const discovery = await fetch(`${server.boundUrl}/${tenantId}/v2.0/.well-known/openid-configuration`);
      expect(discovery.status).toBe(200);
      const document = (await discovery.json()) as { issuer: string; token_endpoint: string };
      expect(document.token_endpoint).toBe(`http://127.0.0.1:${port}/${tenantId}/oauth2/v2.0/token`);
      expect(document.issuer.startsWith(`http://127.0.0.1:${port}/`)).toBe(true);

      const refused = await fetch(`${server.boundUrl}/${tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=password',
      });
      const body = (await refused.json()) as { error_uri: string };
      expect(body.error_uri).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/error\\?code=\\d+$`));
    } finally {
      await server.close();
    }
  });

  it('with REKEY_PUBLIC_URL, prints the bound address and the public URL, and hands out the public URL', async () => {
    const { server, out } = await start({
      REKEY_PORT: '0',
      REKEY_PUBLIC_URL: 'https://rekey.contoso.example',
    });
    try {
      const port = Number(new URL(server.boundUrl).port);
      expect(port).toBeGreaterThan(0);
      expect(out).toContain(
        `Rekey is listening on http://127.0.0.1:${port} (public URL: https://rekey.contoso.example, database: ${dialect}`,
      );
      const tenantId = server.rekey.tenant.id;
      const discovery = await fetch(`${server.boundUrl}/${tenantId}/v2.0/.well-known/openid-configuration`);
      const document = (await discovery.json()) as { token_endpoint: string };
      expect(document.token_endpoint).toBe(`https://rekey.contoso.example/${tenantId}/oauth2/v2.0/token`);
    } finally {
      await server.close();
    }
  });
});
