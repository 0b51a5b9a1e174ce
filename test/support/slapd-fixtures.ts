/**
 * The directory the tests run against: one base, the password policies, two service accounts
 * and users in `ou=people`, each user with the policy and state one test needs. Loaded offline
 * with `slapadd`, which (unlike an LDAP add) may set the operational attributes a state needs:
 * when the password was set, that it was reset, that the account is locked.
 */

export const baseDn = 'dc=rekey,dc=test';
export const peopleDn = `ou=people,${baseDn}`;
export const rootDn = `cn=admin,${baseDn}`;
export const rootPassword = 'root-secret-not-for-tests';

/** Allowed to read everything and to write any password in `ou=people` (admin resets). */
export const serviceAccount = { dn: `cn=rekey-service,ou=services,${baseDn}`, password: 'Service-Pass-1' };
/** Allowed to read, not to write passwords: an admin reset through it is refused (120015). */
export const readOnlyAccount = { dn: `cn=rekey-readonly,ou=services,${baseDn}`, password: 'Readonly-Pass-1' };

/** Minimum length 8, quality checked, last 3 passwords kept, no lockout, no age limits. */
export const standardPolicyDn = `cn=standard,ou=policies,${baseDn}`;
/** As standard, and locked after 3 failed binds until an administrator unlocks. */
export const lockoutPolicyDn = `cn=lockout,ou=policies,${baseDn}`;
/** As standard, and a password may change only once a day. */
export const minimumAgePolicyDn = `cn=minimum-age,ou=policies,${baseDn}`;
/** As standard, and a password expires after a day, with no grace binds and a day's warning. */
export const expiryPolicyDn = `cn=expiry,ou=policies,${baseDn}`;
/** As standard, and a password set by an administrator must be changed by its user. */
export const mustChangePolicyDn = `cn=must-change,ou=policies,${baseDn}`;

/** What a fixture user is for; each test takes users no other test in its file changes. */
export type FixtureUserState =
  | 'active'
  | 'lockout'
  | 'disabled'
  | 'tooYoung'
  | 'expired'
  | 'expiring'
  | 'mustChange';

export interface FixtureUser {
  readonly uid: string;
  readonly dn: string;
  readonly password: string;
  readonly mail: string;
  readonly state: FixtureUserState;
}

function user(uid: string, state: FixtureUserState): FixtureUser {
  return {
    uid,
    dn: `uid=${uid},${peopleDn}`,
    password: `${uid[0]?.toUpperCase()}${uid.slice(1)}-Start-Pass-1`,
    mail: `${uid}@rekey.test`,
    state,
  };
}

/** Users by name. `ann`..`kim` are plain active users for change, reset and sign-in tests. */
export const fixtureUsers = {
  ann: user('ann', 'active'),
  ben: user('ben', 'active'),
  cat: user('cat', 'active'),
  dan: user('dan', 'active'),
  eve: user('eve', 'active'),
  fay: user('fay', 'active'),
  gus: user('gus', 'active'),
  hal: user('hal', 'active'),
  ivy: user('ivy', 'active'),
  kim: user('kim', 'active'),
  lou: user('lou', 'lockout'),
  max: user('max', 'lockout'),
  ned: user('ned', 'disabled'),
  oli: user('oli', 'tooYoung'),
  pam: user('pam', 'expired'),
  quin: user('quin', 'expired'),
  ray: user('ray', 'expiring'),
  sam: user('sam', 'mustChange'),
} as const satisfies Record<string, FixtureUser>;

/** LDAP generalized time, UTC, to the second. */
export function generalizedTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

const policyOf: Readonly<Record<FixtureUserState, string>> = {
  active: standardPolicyDn,
  // OpenLDAP honours pwdAccountLockedTime only under a policy with pwdLockout TRUE.
  disabled: lockoutPolicyDn,
  lockout: lockoutPolicyDn,
  tooYoung: minimumAgePolicyDn,
  expired: expiryPolicyDn,
  expiring: expiryPolicyDn,
  mustChange: mustChangePolicyDn,
};

function policyEntry(dn: string, name: string, extra: readonly string[]): string {
  return [
    `dn: ${dn}`,
    'objectClass: organizationalRole',
    'objectClass: pwdPolicy',
    `cn: ${name}`,
    'pwdAttribute: userPassword',
    'pwdMinLength: 8',
    // 2: a password the server cannot check (one sent already hashed) is refused.
    'pwdCheckQuality: 2',
    'pwdInHistory: 3',
    'pwdAllowUserChange: TRUE',
    ...extra,
  ].join('\n');
}

function userEntry(u: FixtureUser, now: Date): string {
  const lines = [
    `dn: ${u.dn}`,
    'objectClass: inetOrgPerson',
    `uid: ${u.uid}`,
    `cn: ${u.uid[0]?.toUpperCase()}${u.uid.slice(1)} Tester`,
    'sn: Tester',
    `givenName: ${u.uid[0]?.toUpperCase()}${u.uid.slice(1)}`,
    `mail: ${u.mail}`,
    `userPassword: ${u.password}`,
    `pwdPolicySubentry: ${policyOf[u.state]}`,
  ];
  const hoursAgo = (hours: number): string => generalizedTime(new Date(now.getTime() - hours * 3_600_000));
  switch (u.state) {
    case 'active':
    case 'lockout':
      break;
    case 'disabled':
      // The time OpenLDAP reserves for "locked by an administrator, until unlocked".
      lines.push('pwdAccountLockedTime: 000001010000Z');
      break;
    case 'tooYoung':
      lines.push(`pwdChangedTime: ${hoursAgo(1)}`);
      break;
    case 'expired':
      lines.push(`pwdChangedTime: ${hoursAgo(48)}`);
      break;
    case 'expiring':
      lines.push(`pwdChangedTime: ${hoursAgo(2)}`);
      break;
    case 'mustChange':
      lines.push(`pwdChangedTime: ${hoursAgo(1)}`, 'pwdReset: TRUE');
      break;
    default: {
      const unknown: never = u.state;
      throw new Error(`unknown fixture state ${String(unknown)}`);
    }
  }
  return lines.join('\n');
}

/** The LDIF `slapadd` loads, with times relative to `now`. */
export function fixtureLdif(now: Date = new Date()): string {
  const entries = [
    [
      `dn: ${baseDn}`,
      'objectClass: dcObject',
      'objectClass: organization',
      'dc: rekey',
      'o: Rekey Test',
    ].join('\n'),
    [`dn: ${peopleDn}`, 'objectClass: organizationalUnit', 'ou: people'].join('\n'),
    [`dn: ou=services,${baseDn}`, 'objectClass: organizationalUnit', 'ou: services'].join('\n'),
    [`dn: ou=policies,${baseDn}`, 'objectClass: organizationalUnit', 'ou: policies'].join('\n'),
    ...[serviceAccount, readOnlyAccount].map((account) =>
      [
        `dn: ${account.dn}`,
        'objectClass: organizationalRole',
        'objectClass: simpleSecurityObject',
        `cn: ${account.dn.slice(3, account.dn.indexOf(','))}`,
        `userPassword: ${account.password}`,
      ].join('\n'),
    ),
    policyEntry(standardPolicyDn, 'standard', []),
    policyEntry(lockoutPolicyDn, 'lockout', [
      'pwdLockout: TRUE',
      'pwdMaxFailure: 3',
      'pwdLockoutDuration: 0',
    ]),
    policyEntry(minimumAgePolicyDn, 'minimum-age', ['pwdMinAge: 86400']),
    policyEntry(expiryPolicyDn, 'expiry', [
      'pwdMaxAge: 86400',
      'pwdExpireWarning: 86400',
      'pwdGraceAuthNLimit: 0',
    ]),
    policyEntry(mustChangePolicyDn, 'must-change', ['pwdMustChange: TRUE']),
    ...Object.values(fixtureUsers).map((u) => userEntry(u, now)),
  ];
  return `${entries.join('\n\n')}\n`;
}
