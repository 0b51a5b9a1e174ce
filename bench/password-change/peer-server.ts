/**
 * The peer: better-auth's email-and-password flow on SQLite, as a plain Node HTTP server. Run as a
 * child process by the password-change benchmark (`node --import tsx bench/password-change/peer-server.ts`)
 * with PEER_PORT, PEER_DATA_DIR and PEER_SECRET set; it answers GET /api/auth/ok once ready.
 * GET /bench/argon2-count tells how often better-auth called the hash and verify hooks, so the
 * harness can check the hashes per cycle it assumes against what the peer really does.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { hash, verify } from '@node-rs/argon2';
import { type BetterAuthOptions, betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import Database from 'better-sqlite3';
import { assertOwaspPhc, owaspArgon2id } from '../lib/argon2-options.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`peer-server: ${name} is not set`);
  return value;
}

const port = Number(required('PEER_PORT'));
const dataDir = required('PEER_DATA_DIR');
const secret = required('PEER_SECRET');

const sqlite = new Database(join(dataDir, 'peer.sqlite'));
// The same pragmas as Rekey's SQLite store, so neither side wins on durability settings.
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = NORMAL');
sqlite.pragma('foreign_keys = ON');
sqlite.pragma('busy_timeout = 5000');

const baseURL = `http://127.0.0.1:${port}`;
const argon2Count = { hash: 0, verify: 0 };
const options = {
  baseURL,
  secret,
  database: sqlite,
  emailAndPassword: {
    enabled: true,
    // The same argon2id implementation and parameters as Rekey, so the comparison is of the
    // servers, not of their hash functions (better-auth's default is scrypt).
    password: {
      hash: (password: string) => {
        argon2Count.hash += 1;
        return hash(password, owaspArgon2id);
      },
      verify: async ({ hash: phc, password }: { hash: string; password: string }) => {
        argon2Count.verify += 1;
        try {
          return await verify(phc, password);
        } catch {
          return false;
        }
      },
    },
  },
  // Off for the benchmark: the production defaults (100 requests per 10 s, and 3 per 10 s on
  // sign-in, sign-up and change-password) would turn the load into 429s. The harness says so.
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  logger: { level: 'error' },
} satisfies BetterAuthOptions;

// Creates better-auth's tables (user, session, account, verification) on the empty database.
const { runMigrations } = await getMigrations(options);
await runMigrations();

// Fails at start, not in the results, if the hook did not produce the OWASP argon2id parameters.
assertOwaspPhc(await options.emailAndPassword.password.hash('Quartz-Check-0-x9!'), 'peer hash hook');
argon2Count.hash = 0;

const auth = betterAuth(options);
const handler = toNodeHandler(auth);
const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/bench/argon2-count') {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(argon2Count));
    return;
  }
  handler(request, response).catch((error: unknown) => {
    // better-call answers errors itself; this only catches a failure of the adapter, which must show.
    response.writeHead(500).end(error instanceof Error ? error.message : String(error));
  });
});
server.listen(port, '127.0.0.1');

const shutdown = (): void => {
  server.close();
  server.closeAllConnections();
  sqlite.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
