import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestSlapd } from './slapd.js';

/** The variables the README's hybrid walkthrough reads, with what each one is. */
export const slapdEnvVariables = {
  LDAP_URL: 'the directory, ldap:// with StartTLS',
  LDAP_CA_FILE: "the PEM file of the CA that signed the directory's certificate",
  LDAP_BIND_DN: "the connector's service account",
  LDAP_BIND_PASSWORD_FILE: "a file holding the service account's password",
  LDAP_BASE_DN: 'where the users are',
} as const;

/**
 * Writes, into `dir`, what a reader of the README needs to point Rekey at `slapd` (started with
 * `tls`): its CA certificate (`ca.pem`), the service account's password (`bind-password`, mode
 * 0600) and `slapd.env`, a file of `export` lines for the variables of `slapdEnvVariables` with
 * absolute paths. Returns the path of `slapd.env`. `npm run slapd` and the docs test both use it,
 * so the file the test sources is the one a reader gets.
 */
export function writeSlapdEnv(slapd: TestSlapd, dir: string): string {
  if (!slapd.caCertificate) throw new Error('writeSlapdEnv needs a slapd started with tls');
  const root = path.resolve(dir);
  const caFile = path.join(root, 'ca.pem');
  const passwordFile = path.join(root, 'bind-password');
  writeFileSync(caFile, slapd.caCertificate);
  writeFileSync(passwordFile, `${slapd.serviceAccount.password}\n`, { mode: 0o600 });
  const values: Record<keyof typeof slapdEnvVariables, string> = {
    LDAP_URL: slapd.url,
    LDAP_CA_FILE: caFile,
    LDAP_BIND_DN: slapd.serviceAccount.dn,
    LDAP_BIND_PASSWORD_FILE: passwordFile,
    LDAP_BASE_DN: slapd.peopleDn,
  };
  const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
  const lines = Object.entries(values).map(
    ([name, value]) =>
      `export ${name}=${quote(value)}    # ${slapdEnvVariables[name as keyof typeof slapdEnvVariables]}`,
  );
  const envFile = path.join(root, 'slapd.env');
  writeFileSync(envFile, `${lines.join('\n')}\n`);
  return envFile;
}
