import { fileURLToPath } from 'node:url';
import { jsonStringField, send } from '../lib/http.js';
import { childEnv, startServerWithDataDir } from '../lib/processes.js';
import { type Flow, type PreparedTarget, prepareOnServer } from './flow.js';
import { PasswordRotation } from './passwords.js';

/**
 * Everything this benchmark assumes about Rekey's server, in one place: when a route, a client id or
 * the way the server starts changes, adapt it here.
 */
/** Rekey's limits during the benchmark: counted on every request, never reached. */
export const benchLimitSettings = {
  REKEY_RATE_LIMIT_PER_IP: '1000000',
  REKEY_RATE_LIMIT_PER_USER: '1000000',
  REKEY_HASH_QUEUE_MAX: '1000',
} as const;

export const rekeyContract = {
  /** The repository root; the server is started from there. */
  cwd: fileURLToPath(new URL('../../', import.meta.url)),
  /**
   * The TypeScript entry point, run as `node --import tsx <entry> serve` (the tsx loader runs in
   * process, so the child's pid is the server's and its RSS is the server's).
   */
  defaultEntry: 'src/main.ts',
  /** REKEY_BENCH_ENTRY points the benchmark at another entry file, e.g. a stand-in of the contract. */
  entry: process.env['REKEY_BENCH_ENTRY'] ?? 'src/main.ts',
  readyPath: '/readyz',
  /** tsx compiles the whole server on first start; give it time on a 2-core machine. */
  readyTimeoutMs: 60_000,
  tenantDomain: 'example.com',
  adminUpn: 'admin@example.com',
  // Must pass Rekey's policy: no part of "admin" or "Rekey Administrator" in it.
  adminPassword: 'Quartz-Owner-7q!Zr4-long',
  /** The well-known public client id Rekey accepts for the resource-owner password grant. */
  clientId: '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20',
  scope: 'https://graph.microsoft.com/.default',
  tokenPath: (tenant: string) => `/${tenant}/oauth2/v2.0/token`,
  createUserPath: '/v1.0/users',
  changePasswordPath: '/v1.0/me/changePassword',
  tokenlessChangePath: (tenant: string) => `/${tenant}/password/change`,
  /**
   * argon2id operations per cycle: sign-in verifies once (sign-in-service.ts; a rehash only when the
   * parameters changed, not here); a change verifies the current password and hashes the new one
   * (password-check.ts, then password-operation.ts's `begin`; the same-as-current rule compares
   * plain text). Re-check when the policy engine gains history depth: comparing against older passwords
   * would add a verify per history entry, and alternating two passwords would then be refused.
   */
  hashesPerSignInAndChange: 3,
  hashesPerTokenlessChange: 2,
} as const;

const upn = (user: number): string => `bench${user}@${rekeyContract.tenantDomain}`;

/** Signs `username` in with the password grant and returns the access token. */
async function signIn(
  baseUrl: string,
  username: string,
  password: string,
  signal?: AbortSignal,
): Promise<string> {
  const reply = await send({
    method: 'POST',
    url: `${baseUrl}${rekeyContract.tokenPath(rekeyContract.tenantDomain)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: rekeyContract.clientId,
      username,
      password,
      scope: rekeyContract.scope,
    }).toString(),
    expect: [200],
    signal,
  });
  return jsonStringField(reply, 'access_token', `sign-in of ${username}`);
}

/**
 * Starts Rekey as a child process on a free loopback port with a fresh data dir, signs the bootstrap
 * admin in and creates bench users 1..`users`, each with its first bench password.
 */
export async function prepareRekey(users: number): Promise<PreparedTarget> {
  const started = await startServerWithDataDir({
    name: 'rekey',
    tempPrefix: 'rekey-bench-',
    command: process.execPath,
    args: ['--import', 'tsx', rekeyContract.entry, 'serve'],
    cwd: rekeyContract.cwd,
    env: (port, dataDir) =>
      childEnv({
        REKEY_DATA_DIR: dataDir,
        REKEY_PORT: String(port),
        REKEY_HOST: '127.0.0.1',
        REKEY_TENANT_DOMAIN: rekeyContract.tenantDomain,
        REKEY_BOOTSTRAP_ADMIN_PASSWORD: rekeyContract.adminPassword,
        REKEY_LOG_LEVEL: 'warn',
        // The load generator is a few users on one address signing in back to back: raise the
        // limits out of its way (they still count every request) and let the hashing queue hold
        // every user's request, so what is measured is the password path, not throttling.
        ...benchLimitSettings,
      }),
    readyPath: rekeyContract.readyPath,
    readyTimeoutMs: rekeyContract.readyTimeoutMs,
  });
  const { baseUrl } = started;
  return prepareOnServer(started, async () => {
    const rotation = new PasswordRotation();
    const adminToken = await signIn(baseUrl, rekeyContract.adminUpn, rekeyContract.adminPassword);
    for (let user = 1; user <= users; user += 1) {
      await send({
        method: 'POST',
        url: `${baseUrl}${rekeyContract.createUserPath}`,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          accountEnabled: true,
          displayName: `Bench User ${user}`,
          mailNickname: `bench${user}`,
          userPrincipalName: upn(user),
          passwordProfile: { password: rotation.current(user), forceChangePasswordNextSignIn: false },
        }),
        expect: [201],
      });
    }

    const signInAndChange: Flow = {
      target: 'rekey',
      name: 'sign-in + change',
      hashesPerCycle: rekeyContract.hashesPerSignInAndChange,
      async cycle(user, signal) {
        const currentPassword = rotation.current(user);
        const newPassword = rotation.next(user);
        // A change revokes the user's tokens, so every cycle needs a fresh sign-in, as a real user would.
        const token = await signIn(baseUrl, upn(user), currentPassword, signal);
        await send({
          method: 'POST',
          url: `${baseUrl}${rekeyContract.changePasswordPath}`,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ currentPassword, newPassword }),
          expect: [204],
          signal,
        });
        rotation.advance(user);
      },
    };
    const tokenlessChange: Flow = {
      target: 'rekey',
      name: 'change, no token',
      hashesPerCycle: rekeyContract.hashesPerTokenlessChange,
      async cycle(user, signal) {
        const currentPassword = rotation.current(user);
        const newPassword = rotation.next(user);
        await send({
          method: 'POST',
          url: `${baseUrl}${rekeyContract.tokenlessChangePath(rekeyContract.tenantDomain)}`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ userPrincipalName: upn(user), currentPassword, newPassword }),
          expect: [204],
          signal,
        });
        rotation.advance(user);
      },
    };
    return { flows: [signInAndChange, tokenlessChange] };
  });
}
