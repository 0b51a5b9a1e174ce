import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { type CreateRekeyOptions, createRekey, type Rekey } from '../../src/app/create-rekey.js';
import type { Clock } from '../../src/platform/clock.js';
import { loadConfig } from '../../src/platform/config.js';
import type { DialectName } from '../../src/platform/db/database.js';
import { createLogger } from '../../src/platform/log.js';
import { systemContext } from '../../src/platform/request-context.js';
import type { CreateUserInput } from '../../src/users/user-service.js';
import { freshDatabaseUrl } from './databases.js';
import { signInCodeOf, tokenRequestOptions } from './http-helpers.js';
import { checkResponseContracts } from './response-contract.js';

export const cliClientId = '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20';
export const portalClientId = '7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45';
export const adminUpn = 'admin@example.com';
export const adminPassword = 'Harness-Keeper-Pass-1!';

/** A stream that keeps each chunk written to it (a log line, for pino) as a string in `lines`. */
export function lineSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
}

/** The form fields of a password grant for `upn` by the CLI client. */
export function passwordGrant(upn: string, password: string): Record<string, string> {
  return { grant_type: 'password', client_id: cliClientId, username: upn, password };
}

/** The inject() options of a token request sent from `remoteAddress` (the limits count by it). */
export function tokenRequestOptionsFrom(remoteAddress: string, fields: Record<string, string>) {
  return { ...tokenRequestOptions(fields), remoteAddress };
}

/** A Rekey instance for one test file, with everything it logged kept in memory. */
export interface TestRekey extends Rekey {
  readonly logLines: string[];
  readonly dataDir: string;
  /** Posts `fields` as a form to the token endpoint of `tenant` (example.com unless given). */
  tokenRequest(
    fields: Record<string, string>,
    headers?: Record<string, string>,
    tenant?: string,
  ): Promise<LightMyRequestResponse>;
  /** Signs in with the password grant and returns the access token (fails the test otherwise). */
  signIn(upn: string, password: string): Promise<string>;
  /** Tries the password grant: 0 on success, else the first AADSTS code (see signInCodeOf). */
  signInCode(upn: string, password: string): Promise<number>;
  /** Creates a user directly through the user service (POST /v1.0/users has its own tests). */
  createUser(
    alias: string,
    password: string,
    extra?: Partial<CreateUserInput>,
  ): Promise<{ id: string; userPrincipalName: string }>;
  /** Creates a user as createUser does and signs them in (e.g. to act with the roles in `extra`). */
  createUserWithToken(
    alias: string,
    password: string,
    extra?: Partial<CreateUserInput>,
  ): Promise<{ id: string; userPrincipalName: string; token: string }>;
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
  } & Pick<
    CreateRekeyOptions,
    'plugins' | 'hasher' | 'onPremises' | 'directories' | 'webRoot' | 'onQuery'
  > = {},
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
    // Every request of a test file comes from 127.0.0.1 and many sign in one user again and
    // again: the limits' own tests set them low; the rest of the suite is not throttled.
    REKEY_RATE_LIMIT_PER_IP: '1000000',
    REKEY_RATE_LIMIT_PER_USER: '1000000',
    // Tests that hold verifications in a gated hasher queue more than the default bound.
    REKEY_HASH_QUEUE_MAX: '100000',
    ...options.env,
    ...options.beforeStart?.(dataDir),
  });
  const logLines: string[] = [];
  const rekey = await createRekey(config, {
    logger: createLogger(config.logLevel, lineSink(logLines)),
    ...(options.clock ? { clock: options.clock } : {}),
    plugins: [checkResponseContracts, ...(options.plugins ?? [])],
    ...(options.hasher ? { hasher: options.hasher } : {}),
    ...(options.onPremises ? { onPremises: options.onPremises } : {}),
    ...(options.directories ? { directories: options.directories } : {}),
    ...(options.webRoot ? { webRoot: options.webRoot } : {}),
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
  });
  let cachedAdminToken: string | undefined;
  const closeRekey = rekey.close;

  function tokenRequest(
    fields: Record<string, string>,
    headers: Record<string, string> = {},
    tenant = 'example.com',
  ): Promise<LightMyRequestResponse> {
    return rekey.app.inject(tokenRequestOptions(fields, headers, tenant));
  }

  async function signIn(upn: string, password: string): Promise<string> {
    const response = await tokenRequest(passwordGrant(upn, password));
    if (response.statusCode !== 200)
      throw new Error(`sign-in of ${upn} failed: ${response.statusCode} ${response.body}`);
    return response.json<{ access_token: string }>().access_token;
  }

  async function adminToken(): Promise<string> {
    cachedAdminToken ??= await signIn(adminUpn, adminPassword);
    return cachedAdminToken;
  }

  async function createUser(alias: string, password: string, extra: Partial<CreateUserInput> = {}) {
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
  }

  return Object.assign(rekey, {
    logLines,
    dataDir,
    tokenRequest,
    signIn,
    async signInCode(upn: string, password: string) {
      return signInCodeOf(await tokenRequest(passwordGrant(upn, password)));
    },
    adminToken,
    createUser,
    async createUserWithToken(alias: string, password: string, extra: Partial<CreateUserInput> = {}) {
      const user = await createUser(alias, password, extra);
      return { ...user, token: await signIn(user.userPrincipalName, password) };
    },
    async close() {
      await closeRekey();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/**
 * Makes the tenant answer refused sign-ins as Entra does (`signInErrorDisclosure:
 * entraCompatible`: 50034 for an unknown user, 50053 for a locked account whatever the password),
 * for suites that read those codes from the answers. The default (`uniform`) answers are tested
 * in src/auth/sign-in-disclosure.test.ts.
 */
export async function answerSignInsAsEntra(rekey: Pick<Rekey, 'settings'>): Promise<void> {
  await rekey.settings.updateSignIn(systemContext('test-entra-compatible'), {
    signInErrorDisclosure: 'entraCompatible',
  });
}
