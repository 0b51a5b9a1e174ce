import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type HttpReply, send } from '../lib/http.js';
import { childEnv, startServerWithDataDir } from '../lib/processes.js';
import { type Flow, type PreparedTarget, prepareOnServer } from './flow.js';
import { PasswordRotation } from './passwords.js';

/** How the peer is run and called; see peer-server.ts for its configuration. */
export const peerContract = {
  name: 'better-auth',
  cwd: fileURLToPath(new URL('../../', import.meta.url)),
  args: ['--import', 'tsx', fileURLToPath(new URL('./peer-server.ts', import.meta.url))],
  readyPath: '/api/auth/ok',
  readyTimeoutMs: 60_000,
  signUpPath: '/api/auth/sign-up/email',
  signInPath: '/api/auth/sign-in/email',
  changePasswordPath: '/api/auth/change-password',
  /**
   * argon2id operations per cycle, counted in better-auth's source (dist/api/routes/sign-in.mjs and
   * update-user.mjs): sign-in of an existing user verifies once; change-password hashes the new
   * password and verifies the current one. Nothing else hashes on this path.
   */
  hashesPerCycle: 3,
} as const;

const email = (user: number): string => `bench${user}@example.com`;

/** `name=value` pairs of every Set-Cookie in `reply`, as a Cookie header value. */
function cookieHeader(reply: HttpReply, what: string): string {
  const setCookie = reply.headers['set-cookie'] ?? [];
  const cookies = Array.isArray(setCookie) ? setCookie : [setCookie];
  const pairs = cookies.map((cookie) => cookie.split(';', 1)[0] ?? '');
  const header = pairs.filter((pair) => pair.includes('=')).join('; ');
  if (header === '')
    throw new Error(`${what}: no session cookie in the response: ${reply.body.slice(0, 500)}`);
  return header;
}

/**
 * Starts the better-auth peer as a child process on a free loopback port with a fresh SQLite file and
 * signs up bench users 1..`users`, each with its first bench password.
 */
export async function preparePeer(users: number): Promise<PreparedTarget> {
  const started = await startServerWithDataDir({
    name: peerContract.name,
    tempPrefix: 'peer-bench-',
    command: process.execPath,
    args: peerContract.args,
    cwd: peerContract.cwd,
    env: (port, dataDir) =>
      childEnv({
        PEER_PORT: String(port),
        PEER_DATA_DIR: dataDir,
        PEER_SECRET: randomBytes(32).toString('base64'),
        BETTER_AUTH_TELEMETRY: '0',
        NODE_ENV: 'production',
      }),
    readyPath: peerContract.readyPath,
    readyTimeoutMs: peerContract.readyTimeoutMs,
  });
  const { baseUrl } = started;
  // better-auth rejects cookie-bearing POSTs whose Origin is not trusted (CSRF protection); a browser
  // on the app's own origin sends this, so the benchmark does too instead of turning the check off.
  const json = { 'content-type': 'application/json', origin: baseUrl };
  return prepareOnServer(started, async () => {
    const rotation = new PasswordRotation();
    for (let user = 1; user <= users; user += 1) {
      await send({
        method: 'POST',
        url: `${baseUrl}${peerContract.signUpPath}`,
        headers: json,
        body: JSON.stringify({
          email: email(user),
          password: rotation.current(user),
          name: `Bench User ${user}`,
        }),
        expect: [200],
      });
    }
    const signInAndChange: Flow = {
      target: peerContract.name,
      name: 'sign-in + change',
      hashesPerCycle: peerContract.hashesPerCycle,
      async cycle(user, signal) {
        const currentPassword = rotation.current(user);
        const newPassword = rotation.next(user);
        const signIn = await send({
          method: 'POST',
          url: `${baseUrl}${peerContract.signInPath}`,
          headers: json,
          body: JSON.stringify({ email: email(user), password: currentPassword }),
          expect: [200],
          signal,
        });
        await send({
          method: 'POST',
          url: `${baseUrl}${peerContract.changePasswordPath}`,
          headers: { ...json, cookie: cookieHeader(signIn, `sign-in of ${email(user)}`) },
          body: JSON.stringify({ currentPassword, newPassword, revokeOtherSessions: false }),
          expect: [200],
          signal,
        });
        rotation.advance(user);
      },
    };
    const argon2Calls = async (): Promise<number> => {
      const reply = await send({ method: 'GET', url: `${baseUrl}/bench/argon2-count`, expect: [200] });
      const counts: unknown = JSON.parse(reply.body);
      const hashes = typeof counts === 'object' && counts !== null ? Reflect.get(counts, 'hash') : undefined;
      const verifies =
        typeof counts === 'object' && counts !== null ? Reflect.get(counts, 'verify') : undefined;
      if (typeof hashes !== 'number' || typeof verifies !== 'number') {
        throw new Error(`peer /bench/argon2-count answered ${reply.body}`);
      }
      return hashes + verifies;
    };
    return { flows: [signInAndChange], argon2Calls };
  });
}
