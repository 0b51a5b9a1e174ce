import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type CreateRekeyOptions, createRekey, type Rekey } from '../../src/app/create-rekey.js';
import type { Clock } from '../../src/platform/clock.js';
import { loadConfig } from '../../src/platform/config.js';
import type { DialectName } from '../../src/platform/db/database.js';
import { createLogger } from '../../src/platform/log.js';
import { systemContext } from '../../src/platform/request-context.js';
import type { CreateUserInput } from '../../src/users/user-service.js';
import { freshDatabaseUrl } from './databases.js';

export const cliClientId = '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20';
export const portalClientId = '7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45';
export const adminUpn = 'admin@example.com';
export const adminPassword = 'Harness-Keeper-Pass-1!';

/** A Rekey instance for one test file, with everything it logged kept in memory. */
export interface TestRekey extends Rekey {
  readonly logLines: string[];
  readonly dataDir: string;
  /** Signs in with the password grant and returns the access token (fails the test otherwise). */
  signIn(upn: string, password: string): Promise<string>;
  /** Creates a user directly through the user service (POST /v1.0/users has its own tests). */
  createUser(
    alias: string,
    password: string,
    extra?: Partial<CreateUserInput>,
  ): Promise<{ id: string; userPrincipalName: string }>;
  adminToken(): Promise<string>;
}

/**
 * Starts a real Rekey (real database of `dialect`, real argon2id with small parameters so the
 * suite stays fast) in-process; requests go through Fastify's inject().
 */
export async function startTestRekey(
  dialect: DialectName,
  options: {
    readonly env?: Record<string, string>;
    readonly clock?: Clock;
    /** Runs with the data directory before the config is read; returns settings to add (e.g. TLS files). */
    readonly beforeStart?: (dataDir: string) => Record<string, string>;
  } & Pick<CreateRekeyOptions, 'plugins'> = {},
): Promise<TestRekey> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rekey-test-'));
  const config = loadConfig({
    REKEY_DATA_DIR: dataDir,
    REKEY_DATABASE_URL: await freshDatabaseUrl(dialect),
    REKEY_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
    REKEY_ARGON2_MEMORY_KIB: '1024',
    REKEY_ARGON2_ITERATIONS: '1',
    REKEY_LOG_LEVEL: 'trace',
    REKEY_PUBLIC_URL: 'http://rekey.test',
    ...options.env,
    ...options.beforeStart?.(dataDir),
  });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(chunk.toString('utf8'));
      callback();
    },
  });
  const rekey = await createRekey(config, {
    logger: createLogger(config.logLevel, sink),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
  });
  let cachedAdminToken: string | undefined;
  const closeRekey = rekey.close;

  async function signIn(upn: string, password: string): Promise<string> {
    const response = await rekey.app.inject({
      method: 'POST',
      url: '/example.com/oauth2/v2.0/token',
      payload: new URLSearchParams({
        grant_type: 'password',
        client_id: cliClientId,
        username: upn,
        password,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    if (response.statusCode !== 200)
      throw new Error(`sign-in of ${upn} failed: ${response.statusCode} ${response.body}`);
    return response.json<{ access_token: string }>().access_token;
  }

  async function adminToken(): Promise<string> {
    cachedAdminToken ??= await signIn(adminUpn, adminPassword);
    return cachedAdminToken;
  }

  return Object.assign(rekey, {
    logLines,
    dataDir,
    signIn,
    adminToken,
    async createUser(alias: string, password: string, extra: Partial<CreateUserInput> = {}) {
      const row = await rekey.users.createUser(systemContext('test-setup'), {
        accountEnabled: true,
        displayName: `Test ${alias}`,
        mailNickname: alias,
        userPrincipalName: `${alias}@example.com`,
        password,
        forceChangePasswordNextSignIn: false,
        ...extra,
      });
      return { id: row.id, userPrincipalName: row.user_principal_name };
    },
    async close() {
      await closeRekey();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
