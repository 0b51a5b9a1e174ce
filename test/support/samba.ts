import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import selfsigned from 'selfsigned';

/*
 * A real Active Directory domain controller for the tests: Debian's Samba, provisioned as a
 * throwaway domain CORP.TEST in a temporary directory (its own smb.conf, private and state
 * directories, its own TLS certificate; nothing under /etc is read or written), started in the
 * foreground with only its LDAP server, on 127.0.0.1. LDAP's ports are fixed (389 and 636), so
 * only one domain controller runs at a time: every test that uses it is in one test file.
 */

const execFileAsync = promisify(execFile);

export const sambaPaths = {
  samba: '/usr/sbin/samba',
  sambaTool: '/usr/bin/samba-tool',
  /** Debian's Python, which has Samba's ldb module (a python3 earlier on the PATH may not). */
  python: '/usr/bin/python3',
} as const;

/**
 * The schema files `samba-tool domain provision` reads. Debian ships them in samba-ad-provision,
 * which samba-ad-dc only recommends: an install without recommends lacks them.
 */
const provisionSchema = '/usr/share/samba/setup/ad-schema';

const packages = ['samba', 'samba-ad-dc', 'samba-ad-provision', 'winbind', 'krb5-user'];
const installCommand = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')}`;

function isInstalled(): boolean {
  return (
    existsSync(sambaPaths.samba) &&
    existsSync(sambaPaths.sambaTool) &&
    existsSync(sambaPaths.python) &&
    existsSync(provisionSchema)
  );
}

/**
 * Makes sure Samba's AD domain controller is installed. Missing and running as root: installs it
 * with apt, non-interactively (krb5-user's debconf questions take their defaults); the packages'
 * own services are stopped where the image let them start, as the tests run their own. Missing
 * and not root: fails with the exact command to run.
 */
export function ensureSambaInstalled(): void {
  if (isInstalled()) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `The Active Directory tests need Samba's AD domain controller. Install it with:\n  sudo sh -c '${installCommand}'`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
    env,
    stdio: 'ignore',
  });
  for (const service of ['samba-ad-dc', 'smbd', 'nmbd', 'winbind']) {
    try {
      execFileSync('service', [service, 'stop'], { stdio: 'ignore' });
    } catch {
      // Not running, or no service manager: nothing to stop.
    }
  }
  if (!isInstalled()) throw new Error(`Samba is still missing after: ${installCommand}`);
}

export const realm = 'CORP.TEST';
export const domainDn = 'DC=corp,DC=test';
export const peopleDn = `OU=People,${domainDn}`;
export const servicesDn = `OU=Services,${domainDn}`;
export const administrator = { upn: 'Administrator@corp.test', password: 'Admin-Pass-4821!' };
/** Allowed (by an ACE on OU=People) to reset the passwords of the users there. */
export const serviceAccount = {
  dn: `CN=rekey-sync,${servicesDn}`,
  upn: 'rekey-sync@corp.test',
  password: 'Service-Pass-7301!',
};
/** An ordinary account: reads the directory, resets nothing (120015). */
export const readOnlyAccount = {
  dn: `CN=rekey-readonly,${servicesDn}`,
  upn: 'rekey-readonly@corp.test',
  password: 'Readonly-Pass-7302!',
};

/** The domain's password settings, set with `samba-tool domain passwordsettings set`. */
export const domainPasswordSettings = {
  minLength: 8,
  historyLength: 3,
  lockoutThreshold: 3,
  minAgeDays: 0,
  maxAgeDays: 60,
} as const;

/** What a fixture user is for; each test takes users no other test changes. */
export type SambaUserState =
  | 'active'
  | 'disabled'
  | 'mustChange'
  | 'expired'
  | 'accountExpired'
  | 'logonHours'
  | 'workstation'
  | 'tooYoung';

export interface SambaUser {
  readonly sam: string;
  readonly dn: string;
  readonly upn: string;
  readonly mail: string;
  readonly password: string;
  readonly state: SambaUserState;
}

function user(sam: string, state: SambaUserState): SambaUser {
  const name = `${sam[0]?.toUpperCase()}${sam.slice(1)}`;
  return {
    sam,
    dn: `CN=${name} Test,${peopleDn}`,
    upn: `${sam}@rekey.test`,
    mail: `${sam}@rekey.test`,
    // Not containing the account name, which the domain's complexity rule forbids.
    password: `${[...name].reverse().join('')}-Start-Pass-1`,
    state,
  };
}

/** Users by name: `ann`..`kim` are active, the others each in the state their name says. */
export const sambaUsers = {
  ann: user('ann', 'active'),
  ben: user('ben', 'active'),
  cat: user('cat', 'active'),
  dan: user('dan', 'active'),
  eve: user('eve', 'active'),
  fay: user('fay', 'active'),
  gus: user('gus', 'active'),
  hal: user('hal', 'active'),
  ivy: user('ivy', 'active'),
  jon: user('jon', 'active'),
  kim: user('kim', 'active'),
  lou: user('lou', 'active'),
  max: user('max', 'active'),
  ned: user('ned', 'disabled'),
  sam: user('sam', 'mustChange'),
  pam: user('pam', 'expired'),
  ace: user('ace', 'accountExpired'),
  hue: user('hue', 'logonHours'),
  wes: user('wes', 'workstation'),
  oli: user('oli', 'tooYoung'),
} as const satisfies Record<string, SambaUser>;

/** Active Directory's password value: the password in double quotes, UTF-16LE. */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** The text form of a binary security identifier (S-1-5-21-...). */
export function sidToString(sid: Buffer): string {
  const revision = sid.readUInt8(0);
  const count = sid.readUInt8(1);
  const authority = sid.readUIntBE(2, 6);
  const parts = [`S-${revision}-${authority}`];
  for (let i = 0; i < count; i += 1) parts.push(String(sid.readUInt32LE(8 + i * 4)));
  return parts.join('-');
}

export interface TestSambaDc {
  /** `ldaps://127.0.0.1:636`. */
  readonly url: string;
  /** `ldap://127.0.0.1:389` (StartTLS offered; a simple bind needs TLS). */
  readonly plainUrl: string;
  /** The PEM certificate the domain controller presents (self-signed, so also its CA). */
  readonly caCertificate: string;
  readonly domainDn: string;
  readonly peopleDn: string;
  readonly administrator: typeof administrator;
  readonly serviceAccount: typeof serviceAccount;
  readonly readOnlyAccount: typeof readOnlyAccount;
  readonly users: typeof sambaUsers;
  /** Milliseconds the provisioning took, for the test's log. */
  readonly provisionMs: number;
  /** The pid of the running samba process (for a benchmark's CPU accounting). */
  readonly pid: number | undefined;
  /** A client bound as the domain's Administrator over LDAPS, for arranging a test's state. */
  admin<T>(work: (client: Client) => Promise<T>): Promise<T>;
  /** Adds a user under OU=People (active, with `password`), returning its DN. */
  addUser(sam: string, password: string, extra?: Readonly<Record<string, string | Buffer>>): Promise<string>;
  /** Stops Samba (SIGKILL) and starts it again over the same database: a restart. */
  restart(): Promise<void>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
}

/** Resolves once a TLS handshake on 127.0.0.1:`port` succeeds and an LDAP bind answers, or throws. */
async function waitForLdaps(
  port: number,
  ca: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `samba exited while starting (code ${child.exitCode}); is another domain controller (an earlier run's) holding 127.0.0.1:389 and 636?\n${output()}`,
      );
    }
    const isUp = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: [ca], servername: 'localhost' });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (isUp) {
      const client = new Client({
        url: `ldaps://127.0.0.1:${port}`,
        tlsOptions: { ca: [ca] },
        timeout: 5_000,
      });
      try {
        await client.bind(administrator.upn, administrator.password);
        return;
      } catch {
        // Listening before its database is open: try again.
      } finally {
        await client.unbind().catch(() => {});
      }
    }
    if (Date.now() > deadline) throw new Error(`samba did not answer LDAPS on ${port}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Writes `pwdLastSet` straight into the domain partition, below the directory's checks (which
 * take only 0 and -1 over LDAP): a password set in 1601 has long passed the domain's maximum age,
 * so the domain controller itself then answers 532 (expired) to a bind with it.
 */
async function setPwdLastSetRaw(dir: string, dn: string, value: string): Promise<void> {
  const partition = path.join(dir, 'private', 'sam.ldb.d', `${domainDn.toUpperCase()}.ldb`);
  const script = [
    'import sys, ldb',
    "db = ldb.Ldb(url=sys.argv[1], options=['modules:'])",
    'm = ldb.Message(); m.dn = ldb.Dn(db, sys.argv[2])',
    "m['pwdLastSet'] = ldb.MessageElement(sys.argv[3], ldb.FLAG_MOD_REPLACE, 'pwdLastSet')",
    'db.modify(m)',
  ].join('\n');
  await execFileAsync(sambaPaths.python, ['-c', script, partition, dn, value]);
}

/**
 * Provisions CORP.TEST in a temporary directory, starts Samba's LDAP server on 127.0.0.1:389/636
 * and creates the fixtures: OU=People with `sambaUsers` in their states, OU=Services with the
 * service account (allowed to reset passwords in OU=People) and a read-only account.
 */
export async function startSambaDc(): Promise<TestSambaDc> {
  ensureSambaInstalled();
  const dir = mkdtempSync(path.join(tmpdir(), 'rekey-samba-'));
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    notAfterDate: new Date(Date.now() + 86_400_000),
    keySize: 2048,
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  const caCertificate = pems.cert;

  const started = performance.now();
  const options = [
    'interfaces=lo',
    'bind interfaces only=yes',
    // Only the LDAP server: no file sharing, RPC, Kerberos or NetBIOS for the tests.
    'server services=ldap',
    `pid directory=${path.join(dir, 'run')}`,
    `log file=${path.join(dir, 'log.%m')}`,
    `tls certfile=${certFile}`,
    `tls keyfile=${keyFile}`,
    'tls cafile=',
    // No fsync per write: a throwaway domain needs no durability.
    'ldb:nosync=true',
  ];
  await execFileAsync(
    sambaPaths.sambaTool,
    [
      'domain',
      'provision',
      `--realm=${realm}`,
      '--domain=CORP',
      '--host-name=dc1',
      '--server-role=dc',
      '--dns-backend=NONE',
      `--adminpass=${administrator.password}`,
      `--targetdir=${dir}`,
      ...options.map((option) => `--option=${option}`),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const smbConf = path.join(dir, 'etc', 'smb.conf');
  // A changed password stops working at once: Samba accepts the previous one for an hour by
  // default (for NTLM sign-ins, a path its simple bind takes too). Provisioning leaves this
  // option out of the smb.conf it writes, so it is added to the global section here.
  writeFileSync(
    smbConf,
    readFileSync(smbConf, 'utf8').replace('[global]\n', '[global]\n\told password allowed period = 0\n'),
  );
  const samLdb = path.join(dir, 'private', 'sam.ldb');
  const s = domainPasswordSettings;
  await execFileAsync(sambaPaths.sambaTool, [
    'domain',
    'passwordsettings',
    'set',
    '-H',
    samLdb,
    `--configfile=${smbConf}`,
    `--min-pwd-length=${s.minLength}`,
    `--history-length=${s.historyLength}`,
    `--account-lockout-threshold=${s.lockoutThreshold}`,
    `--min-pwd-age=${s.minAgeDays}`,
    `--max-pwd-age=${s.maxAgeDays}`,
    '--complexity=on',
  ]);
  const provisionMs = Math.round(performance.now() - started);

  let child: ChildProcess | undefined;
  let output = '';
  async function start(): Promise<void> {
    output = '';
    // -i: the foreground, logging to stdout; it stops when its stdin closes. -M single: one process.
    const started = spawn(sambaPaths.samba, ['-i', '-M', 'single', '-s', smbConf], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = started;
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
    };
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    const killOnExit = (): void => {
      started.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    started.once('exit', () => process.removeListener('exit', killOnExit));
    try {
      await waitForLdaps(636, caCertificate, started, () => output);
    } catch (error) {
      started.kill('SIGKILL');
      throw error;
    }
  }
  async function stop(): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
  }

  await start();

  async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({
      url: 'ldaps://127.0.0.1:636',
      tlsOptions: { ca: [caCertificate] },
      timeout: 10_000,
    });
    try {
      await client.bind(administrator.upn, administrator.password);
      return await work(client);
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  async function addUser(
    sam: string,
    password: string,
    extra: Readonly<Record<string, string | Buffer>> = {},
    container = peopleDn,
    cn = sam,
  ): Promise<string> {
    const dn = `CN=${cn},${container}`;
    await admin(async (client) => {
      await client.add(dn, {
        objectClass: 'user',
        sAMAccountName: sam,
        userPrincipalName: `${sam}@${container === peopleDn ? 'rekey.test' : 'corp.test'}`,
        unicodePwd: unicodePwd(password) as unknown as string,
        userAccountControl: '512',
        ...(extra as Record<string, string>),
      });
    });
    return dn;
  }

  try {
    await admin(async (client) => {
      await client.add(peopleDn, { objectClass: 'organizationalUnit' });
      await client.add(servicesDn, { objectClass: 'organizationalUnit' });
    });
    await addUser('rekey-sync', serviceAccount.password, {}, servicesDn, 'rekey-sync');
    await addUser('rekey-readonly', readOnlyAccount.password, {}, servicesDn, 'rekey-readonly');
    // The service account may reset (not only change) the passwords of OU=People's users.
    const sid = await admin(async (client) => {
      const { searchEntries } = await client.search(serviceAccount.dn, {
        scope: 'base',
        attributes: ['objectSid'],
        explicitBufferAttributes: ['objectSid'],
      });
      return sidToString(searchEntries[0]?.['objectSid'] as Buffer);
    });
    const resetPassword = '00299570-246d-11d0-a768-00aa006e0529';
    const userClass = 'bf967aba-0de6-11d0-a285-00aa003049e2';
    await execFileAsync(sambaPaths.sambaTool, [
      'dsacl',
      'set',
      '-H',
      samLdb,
      `--configfile=${smbConf}`,
      `--objectdn=${peopleDn}`,
      `--sddl=(OA;CI;CR;${resetPassword};${userClass};${sid})`,
    ]);
    for (const fixture of Object.values(sambaUsers)) {
      const [given, surname] = fixture.dn.slice(3, fixture.dn.indexOf(',')).split(' ');
      const attributes: Record<string, string | Buffer> = {
        givenName: given ?? fixture.sam,
        sn: surname ?? 'Test',
        displayName: `${given} ${surname}`,
        mail: fixture.mail,
      };
      if (fixture.state === 'disabled') attributes['userAccountControl'] = '514';
      if (fixture.state === 'mustChange') attributes['pwdLastSet'] = '0';
      if (fixture.state === 'accountExpired') attributes['accountExpires'] = '1';
      if (fixture.state === 'logonHours') attributes['logonHours'] = Buffer.alloc(21);
      if (fixture.state === 'workstation') attributes['userWorkstations'] = 'OTHERPC';
      await admin((client) =>
        client.add(fixture.dn, {
          objectClass: 'user',
          sAMAccountName: fixture.sam,
          userPrincipalName: fixture.upn,
          unicodePwd: unicodePwd(fixture.password) as unknown as string,
          userAccountControl: '512',
          ...(attributes as Record<string, string>),
        }),
      );
      if (fixture.state === 'expired') await setPwdLastSetRaw(dir, fixture.dn, '1');
    }
    // A policy of its own for `oli`: a password may change once a day, so a change right after
    // the one that set it is too young (0000052D).
    await admin((client) =>
      client.add(`CN=once-a-day,CN=Password Settings Container,CN=System,${domainDn}`, {
        objectClass: 'msDS-PasswordSettings',
        'msDS-PasswordSettingsPrecedence': '1',
        'msDS-PasswordReversibleEncryptionEnabled': 'FALSE',
        'msDS-PasswordHistoryLength': String(s.historyLength),
        'msDS-PasswordComplexityEnabled': 'TRUE',
        'msDS-MinimumPasswordLength': String(s.minLength),
        'msDS-MinimumPasswordAge': String(-864_000_000_000),
        'msDS-MaximumPasswordAge': String(-864_000_000_000 * s.maxAgeDays),
        'msDS-LockoutThreshold': String(s.lockoutThreshold),
        'msDS-LockoutObservationWindow': '-18000000000',
        'msDS-LockoutDuration': '-18000000000',
        'msDS-PSOAppliesTo': sambaUsers.oli.dn,
      }),
    );
  } catch (error) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Samba's fixtures could not be created: ${(error as Error).message}\n${output}`);
  }

  return {
    url: 'ldaps://127.0.0.1:636',
    plainUrl: 'ldap://127.0.0.1:389',
    caCertificate,
    domainDn,
    peopleDn,
    administrator,
    serviceAccount,
    readOnlyAccount,
    users: sambaUsers,
    provisionMs,
    get pid() {
      return child?.pid;
    },
    admin,
    addUser: (sam, password, extra) => addUser(sam, password, extra),
    async restart() {
      await stop();
      await start();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The body of `POST /rekey/v1/connectors` for the domain controller over LDAPS with its CA, bound
 * as the service account by its UPN, over OU=People; `overrides` sets or adds the rest.
 */
export function adConnectorBodyFor(
  dc: TestSambaDc,
  displayName: string,
  overrides: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  return {
    displayName,
    flavor: 'activeDirectory',
    url: dc.url,
    caCertificate: dc.caCertificate,
    bindDn: dc.serviceAccount.upn,
    bindPassword: dc.serviceAccount.password,
    baseDn: dc.peopleDn,
    ...overrides,
  };
}
