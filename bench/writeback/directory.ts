import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { encodePasswordModifyRequest, passwordModifyOid } from '../../src/directories/ldap/ldap-directory.js';
import { startSlapd, type TestSlapd } from '../../test/support/slapd.js';
import { slapdPaths } from '../../test/support/slapd-install.js';

const execFileAsync = promisify(execFile);

/*
 * The directory side of the writeback bench: the test suite's slapd (TLS on, the ppolicy overlay,
 * the standard policy keeping the last 3 passwords), loaded with `count` bench users through
 * `ldapmodify -a`, and the raw RFC 3062 changes Rekey's writeback is compared with: OpenLDAP's
 * `ldappasswd`, one process a change, and the same operations from ldapts in this process.
 */

/** Bench user `n`'s `k`-th password: never one the directory keeps in its history of 3. */
export function passwordFor(n: number, k: number): string {
  return `Harbor-${n}-${k}-Qz!7`;
}

/** The bench user `n` (1-based): its entry and first password; its mail is in Rekey's tenant domain. */
export function benchEntry(n: number, tenantDomain: string, peopleDn: string) {
  return {
    dn: `uid=wb${n},${peopleDn}`,
    mail: `wb${n}@${tenantDomain}`,
    password: passwordFor(n, 0),
  };
}

/** Runs an LDIF file through `ldapmodify` as the root DN (`-a`: records without changetype are adds). */
async function applyLdif(slapd: TestSlapd, ldif: string, add: boolean): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rekey-wb-ldif-'));
  try {
    const file = path.join(dir, 'load.ldif');
    writeFileSync(file, ldif);
    await execFileAsync(
      slapdPaths.ldapmodify,
      [
        ...(add ? ['-a'] : []),
        '-x',
        '-H',
        slapd.url,
        '-D',
        slapd.rootDn,
        '-w',
        slapd.rootPassword,
        '-f',
        file,
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts slapd with TLS and adds bench users 1..`count`; returns it and how long the load took. */
export async function startLoadedSlapd(
  count: number,
  tenantDomain: string,
): Promise<{ slapd: TestSlapd; loadSeconds: number }> {
  // slapd answers at most 500 entries per search by default; the sync reads them all.
  const slapd = await startSlapd({
    tls: true,
    extraGlobalConfig: ['sizelimit unlimited'],
    // Room for the users (the test default is 64 MiB); mdb maps the file sparse.
    maxSizeBytes: 4 * 1024 ** 3,
  });
  const started = performance.now();
  const chunk = 10_000;
  for (let first = 1; first <= count; first += chunk) {
    const records: string[] = [];
    for (let n = first; n < Math.min(count + 1, first + chunk); n += 1) {
      const entry = benchEntry(n, tenantDomain, slapd.peopleDn);
      records.push(
        [
          `dn: ${entry.dn}`,
          'objectClass: inetOrgPerson',
          `uid: wb${n}`,
          `cn: Bench ${n}`,
          `sn: Bench${n}`,
          `displayName: Bench User ${n}`,
          `mail: ${entry.mail}`,
          `userPassword: ${entry.password}`,
          '',
        ].join('\n'),
      );
    }
    await applyLdif(slapd, `${records.join('\n')}\n`, true);
  }
  return { slapd, loadSeconds: (performance.now() - started) / 1000 };
}

/** Changes the displayName of bench users 1..`count` (what an incremental sync must pick up). */
export async function touchUsers(slapd: TestSlapd, count: number, tenantDomain: string): Promise<void> {
  const records: string[] = [];
  for (let n = 1; n <= count; n += 1) {
    const entry = benchEntry(n, tenantDomain, slapd.peopleDn);
    records.push(
      [`dn: ${entry.dn}`, 'changetype: modify', 'replace: displayName', `displayName: Renamed ${n}`, ''].join(
        '\n',
      ),
    );
  }
  await applyLdif(slapd, `${records.join('\n')}\n`, false);
}

/**
 * The same change as a script would make it with OpenLDAP's own tool, the baseline issue 10 names:
 * one `ldappasswd` process that connects, requires StartTLS (-ZZ, trusting the slapd's CA), binds
 * as the user and sends the RFC 3062 password modify with the old and the new password.
 */
export async function ldappasswdChange(
  slapd: TestSlapd,
  caFile: string,
  dn: string,
  oldPassword: string,
  newPassword: string,
): Promise<void> {
  await execFileAsync(
    slapdPaths.ldappasswd,
    ['-x', '-ZZ', '-H', slapd.url, '-D', dn, '-w', oldPassword, '-a', oldPassword, '-s', newPassword],
    { env: { ...process.env, LDAPTLS_CACERT: caFile } },
  );
}

/**
 * The raw change Rekey's self-change writeback makes, done directly: connect, StartTLS with the
 * slapd's CA, bind as the user, RFC 3062 password modify with the old and new password, unbind.
 */
export async function rawChange(
  slapd: TestSlapd,
  dn: string,
  oldPassword: string,
  newPassword: string,
): Promise<void> {
  const client = new Client({ url: slapd.url, timeout: 10_000, connectTimeout: 5_000 });
  try {
    await client.startTLS({ ca: slapd.caCertificate ? [slapd.caCertificate] : undefined });
    await client.bind(dn, oldPassword);
    await client.exop(passwordModifyOid, encodePasswordModifyRequest({ oldPassword, newPassword }));
  } finally {
    await client.unbind();
  }
}
