/**
 * `npm run slapd -- [--dir <dir>]`: a throwaway OpenLDAP directory to try Rekey's hybrid features
 * on, the one the tests use (test/support/slapd.ts): Debian's slapd on 127.0.0.1 and a free port,
 * StartTLS with a self-signed certificate, the password-policy overlay, and the users of
 * test/support/slapd-fixtures.ts. It writes `<dir>/slapd.env` (default dir: ./local-slapd) for a
 * shell to `source`, runs until Ctrl-C (or SIGTERM), and then removes the directory's data and
 * the files it wrote into <dir>, so a stale slapd.env cannot point at a server that is gone.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startSlapd } from '../test/support/slapd.js';
import { writeSlapdEnv } from '../test/support/slapd-env.js';
import { fixtureUsers } from '../test/support/slapd-fixtures.js';

function dirArgument(args: readonly string[]): string {
  const at = args.indexOf('--dir');
  if (at === -1) return 'local-slapd';
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) {
    process.stderr.write('usage: npm run slapd -- [--dir <dir>]\n');
    process.exit(2);
  }
  return value;
}

const dir = path.resolve(dirArgument(process.argv.slice(2)));
mkdirSync(dir, { recursive: true });
const slapd = await startSlapd({ tls: true });
const envFile = writeSlapdEnv(slapd, dir);
const { ann, oli } = fixtureUsers;
process.stdout.write(
  [
    `slapd is listening on ${slapd.url} (StartTLS), base ${slapd.baseDn}.`,
    `Users are in ${slapd.peopleDn}, for example ${ann.mail} (password ${ann.password})`,
    `and ${oli.mail} (password ${oli.password}, whose policy allows one change a day).`,
    `In the shell you run Rekey's commands from:  source ${envFile}`,
    `Ctrl-C stops it and removes its data and the files in ${dir}.`,
    '',
  ].join('\n'),
);

let closing = false;
async function close(): Promise<void> {
  if (closing) return;
  closing = true;
  await slapd.close();
  for (const file of ['slapd.env', 'ca.pem', 'bind-password']) rmSync(path.join(dir, file), { force: true });
  process.exit(0);
}
process.on('SIGINT', () => void close());
process.on('SIGTERM', () => void close());
// Keeps the process alive until a signal: slapd is a child with its output ignored.
setInterval(() => {}, 1 << 30);
