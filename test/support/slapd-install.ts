import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where Debian's `slapd` package puts the server, its modules and the schema files. */
export const slapdPaths = {
  slapd: '/usr/sbin/slapd',
  slapadd: '/usr/sbin/slapadd',
  ldapmodify: '/usr/bin/ldapmodify',
  ldappasswd: '/usr/bin/ldappasswd',
  modulePath: '/usr/lib/ldap',
  schemaDir: '/etc/ldap/schema',
} as const;

const installCommand =
  'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils';

function isInstalled(): boolean {
  return (
    existsSync(slapdPaths.slapd) &&
    existsSync(slapdPaths.slapadd) &&
    existsSync(slapdPaths.ldapmodify) &&
    existsSync(slapdPaths.ldappasswd) &&
    existsSync(`${slapdPaths.modulePath}/ppolicy.so`)
  );
}

/**
 * Makes sure Debian's `slapd` and `ldap-utils` are present, for the tests that run a real
 * directory. Missing and running as root (CI, the development machines): installs them with apt,
 * non-interactively so the package's debconf questions take their defaults instead of waiting
 * for an answer. The package's own service is of no use to the tests, which start their own
 * `slapd` on a free loopback port with a temporary configuration, so it cannot clash with them;
 * where the image's policy lets the package start it, it is stopped again. Missing and not root:
 * fails with the exact command to run. Called once per run from the global set-up, so parallel
 * test files never race apt.
 */
export function ensureSlapdInstalled(): void {
  if (isInstalled()) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `The directory tests need Debian's slapd and ldap-utils. Install them with:\n  sudo sh -c '${installCommand}'`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'slapd', 'ldap-utils'], {
    env,
    stdio: 'ignore',
  });
  // Debian images for containers forbid starting services on install (policy-rc.d); a full
  // system may start the package's slapd on port 389. It holds nothing the tests use: stop it.
  try {
    execFileSync('service', ['slapd', 'stop'], { stdio: 'ignore' });
  } catch {
    // Not running, or no service manager: nothing to stop.
  }
  if (!isInstalled()) throw new Error(`slapd is still missing after: ${installCommand}`);
}
