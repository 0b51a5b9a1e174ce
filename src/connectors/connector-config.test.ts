import selfsigned from 'selfsigned';
import { beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../platform/errors/catalog.js';
import { isRekeyError } from '../platform/errors/rekey-error.js';
import {
  type ConnectorProblem,
  type ConnectorSettings,
  checkConnectorInput,
  dnProblem,
  filterProblem,
  parseCaCertificates,
} from './connector-config.js';

const now = new Date('2026-12-07T12:00:00.000Z');

const valid = {
  displayName: 'Head office',
  flavor: 'openldap',
  url: 'ldaps://ldap.example.com:636',
  bindDn: 'cn=rekey,ou=services,dc=example,dc=com',
  bindPassword: 'Service-Account-Secret-1',
  baseDn: 'ou=people,dc=example,dc=com',
};

/** The problems checkConnectorInput names for `body`, or [] when it accepts it. */
function problemsOf(body: unknown, current?: ConnectorSettings): ConnectorProblem[] {
  try {
    checkConnectorInput(body, current, now);
    return [];
  } catch (error) {
    if (!isRekeyError(error) || error.code !== Codes.RequestValidationFailed) throw error;
    return (error.details as { fields: ConnectorProblem[] }).fields;
  }
}

const fieldsOf = (problems: readonly ConnectorProblem[]) => problems.map((p) => p.field);

describe('checkConnectorInput', () => {
  it('accepts a minimal body and fills the defaults of the flavour', () => {
    const { settings, bindPassword } = checkConnectorInput(valid, undefined, now);
    expect(bindPassword).toBe(valid.bindPassword);
    expect(settings).toEqual({
      displayName: 'Head office',
      flavor: 'openldap',
      url: 'ldaps://ldap.example.com:636',
      startTls: false,
      allowInsecure: false,
      caCertificate: null,
      bindDn: valid.bindDn,
      baseDn: valid.baseDn,
      userFilter: '(objectClass=inetOrgPerson)',
      attributes: {
        userPrincipalName: 'mail',
        displayName: 'displayName',
        givenName: 'givenName',
        surname: 'sn',
        mail: 'mail',
        mailNickname: 'uid',
        onPremisesImmutableId: 'entryUUID',
        onPremisesSamAccountName: 'uid',
      },
      writeback: false,
      connectTimeoutMs: 5000,
      operationTimeoutMs: 10000,
      syncIntervalSeconds: 3600,
    });
  });

  it('names every problem of a bad body at once, and never the password', () => {
    const problems = problemsOf({
      displayName: '',
      flavor: 'novell',
      url: 'http://ldap.example.com',
      bindDn: 'cn=rekey,,dc=example',
      bindPassword: 42,
      baseDn: 'people',
      userFilter: '(&(objectClass=person)',
      attributes: { userPrincipalName: 'not an attribute', shoeSize: 'x', onPremisesImmutableId: null },
      writeback: 'yes',
      connectTimeoutMs: 0,
      operationTimeoutMs: 1.5,
      syncIntervalSeconds: 5,
      caCertificate: 'not a certificate',
      id: 'mine',
    });
    expect(fieldsOf(problems).sort()).toEqual(
      [
        'body/id',
        'body/displayName',
        'body/flavor',
        'body/url',
        'body/caCertificate',
        'body/bindDn',
        'body/baseDn',
        'body/bindPassword',
        'body/userFilter',
        'body/attributes/userPrincipalName',
        'body/attributes/shoeSize',
        'body/attributes/onPremisesImmutableId',
        'body/writeback',
        'body/connectTimeoutMs',
        'body/operationTimeoutMs',
        'body/syncIntervalSeconds',
      ].sort(),
    );
    expect(problems.find((p) => p.field === 'body/id')?.problem).toBe('is read-only');
    expect(problems.find((p) => p.field === 'body/flavor')?.problem).toBe(
      'must be one of: openldap, activeDirectory',
    );
  });

  it('names every missing required field of a create', () => {
    expect(fieldsOf(problemsOf({}))).toEqual([
      'body/displayName',
      'body/flavor',
      'body/url',
      'body/bindDn',
      'body/baseDn',
      'body/bindPassword',
    ]);
    expect(fieldsOf(problemsOf('not an object'))).toEqual(['body']);
  });

  it('takes activeDirectory, with its default attributes and filter, and a bind DN in UPN form', () => {
    const checked = checkConnectorInput(
      { ...valid, flavor: 'activeDirectory', bindDn: 'rekey-sync@corp.example.com' },
      undefined,
      now,
    );
    expect(checked.settings).toMatchObject({
      flavor: 'activeDirectory',
      bindDn: 'rekey-sync@corp.example.com',
      userFilter: '(&(objectCategory=person)(objectClass=user))',
      attributes: {
        onPremisesImmutableId: 'objectGUID',
        onPremisesSamAccountName: 'sAMAccountName',
        userPrincipalName: 'userPrincipalName',
      },
    });
    expect(problemsOf({ ...valid, flavor: 'activeDirectory', bindDn: 'CORP\\rekey-sync' })).toEqual([]);
    // An OpenLDAP bind DN is a DN.
    expect(fieldsOf(problemsOf({ ...valid, bindDn: 'rekey-sync@corp.example.com' }))).toEqual([
      'body/bindDn',
    ]);
    // A PATCH to the other flavour takes its defaults where the old flavour's were kept.
    const openldap = checkConnectorInput(valid, undefined, now).settings;
    const switched = checkConnectorInput({ flavor: 'activeDirectory' }, openldap, now).settings;
    expect(switched.userFilter).toBe('(&(objectCategory=person)(objectClass=user))');
    expect(switched.attributes).toMatchObject({ onPremisesImmutableId: 'objectGUID' });
    const customized = checkConnectorInput({ userFilter: '(uid=*)' }, openldap, now).settings;
    expect(checkConnectorInput({ flavor: 'activeDirectory' }, customized, now).settings.userFilter).toBe(
      '(uid=*)',
    );
    // Back to openldap with a UPN kept as the bind DN: the PATCH must give a DN.
    const byUpn = checkConnectorInput(
      { ...valid, flavor: 'activeDirectory', bindDn: 'rekey-sync@corp.example.com' },
      undefined,
      now,
    ).settings;
    expect(fieldsOf(problemsOf({ flavor: 'openldap' }, byUpn))).toEqual(['body/bindDn']);
    expect(problemsOf({ flavor: 'openldap', bindDn: valid.bindDn }, byUpn)).toEqual([]);
    expect(problemsOf({ ...valid, flavor: 'eDirectory' })).toEqual([
      { field: 'body/flavor', problem: 'must be one of: openldap, activeDirectory' },
    ]);
  });

  it('refuses a plain ldap:// url unless startTls or allowInsecure, and writeback without encryption', () => {
    const plain = { ...valid, url: 'ldap://ldap.example.com' };
    expect(fieldsOf(problemsOf(plain))).toEqual(['body/url']);
    expect(problemsOf({ ...plain, startTls: true })).toEqual([]);
    expect(problemsOf({ ...plain, allowInsecure: true })).toEqual([]);
    expect(fieldsOf(problemsOf({ ...plain, allowInsecure: true, writeback: true }))).toEqual([
      'body/writeback',
    ]);
    expect(fieldsOf(problemsOf({ ...valid, startTls: true }))).toEqual(['body/startTls']);
    for (const url of [
      'ldaps://user:pw@ldap.example.com',
      'ldaps://ldap.example.com/dc=example,dc=com',
      'ldaps://ldap.example.com?uid',
      'ldaps://',
      'ftp://ldap.example.com',
    ]) {
      expect(fieldsOf(problemsOf({ ...valid, url })), url).toEqual(['body/url']);
    }
    expect(
      checkConnectorInput({ ...valid, url: 'LDAPS://LDAP.example.com/' }, undefined, now).settings.url,
    ).toBe('ldaps://ldap.example.com');
  });

  it('lays a PATCH over the current settings and checks the result whole', () => {
    const current = checkConnectorInput(valid, undefined, now).settings;
    const patched = checkConnectorInput(
      { url: 'ldap://ldap.example.com:389', startTls: true, attributes: { surname: null, mail: 'email' } },
      current,
      now,
    );
    expect(patched.bindPassword).toBeUndefined();
    expect(patched.settings.url).toBe('ldap://ldap.example.com:389');
    expect(patched.settings.attributes).toMatchObject({ mail: 'email', userPrincipalName: 'mail' });
    expect(patched.settings.attributes).not.toHaveProperty('surname');
    // Switching back to ldaps:// while startTls stays on is a contradiction the PATCH must fix too.
    expect(fieldsOf(problemsOf({ url: 'ldaps://ldap.example.com' }, patched.settings))).toEqual([
      'body/startTls',
    ]);
    expect(problemsOf({}, current)).toEqual([]);
    expect(
      checkConnectorInput({ syncIntervalSeconds: null }, current, now).settings.syncIntervalSeconds,
    ).toBeNull();
  });
});

describe('the parts of a connector', () => {
  it('checks distinguished names', () => {
    for (const dn of [
      'dc=example,dc=com',
      'cn=Smith\\, John+uid=js,ou=people,dc=example',
      '2.5.4.3=x',
      'cn=a\\2cb',
    ]) {
      expect(dnProblem(dn), dn).toBeUndefined();
    }
    for (const dn of ['', 'example.com', 'cn=a,,dc=b', 'cn=,dc=b', 'c n=a', 'cn=a;b', 'cn=a\\zz', 'cn=a\\']) {
      expect(dnProblem(dn), dn).toBeDefined();
    }
  });

  it('checks LDAP filters, including the unbalanced ones the parser lets through', () => {
    for (const filter of [
      '(objectClass=inetOrgPerson)',
      '(&(objectClass=person)(!(uid=svc-*)))',
      '(cn=a\\28b\\29)',
    ]) {
      expect(filterProblem(filter), filter).toBeUndefined();
    }
    for (const filter of [
      'objectClass=person',
      '(&(a=b)',
      '(a=b)(c=d)',
      '(uid=a(b)',
      '(bad attr=1)',
      '(&)',
      '',
    ]) {
      expect(filterProblem(filter), filter).toBeDefined();
    }
  });

  describe('CA certificates', () => {
    let current = '';
    let expired = '';
    beforeAll(async () => {
      current = (
        await selfsigned.generate([{ name: 'commonName', value: 'Example Root CA' }], {
          notBeforeDate: new Date('2026-01-01T00:00:00Z'),
          notAfterDate: new Date('2028-01-01T00:00:00Z'),
          keySize: 2048,
        })
      ).cert;
      expired = (
        await selfsigned.generate([{ name: 'commonName', value: 'Old CA' }], {
          notBeforeDate: new Date('2020-01-01T00:00:00Z'),
          notAfterDate: new Date('2021-01-01T00:00:00Z'),
          keySize: 2048,
        })
      ).cert;
    });

    it('accepts PEM certificates and keeps only the blocks', () => {
      const parsed = parseCaCertificates(`# our root\n${current}\n${current}`, now);
      expect(parsed.problems).toEqual([]);
      expect(parsed.pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      expect(parsed.pem).not.toContain('# our root');
    });

    it('refuses text without a certificate, a damaged block and an expired certificate', () => {
      expect(parseCaCertificates('hello', now).problems).toHaveLength(1);
      const damaged = current.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!');
      expect(parseCaCertificates(damaged, now).problems).toEqual([
        'the certificate is not a valid X.509 certificate',
      ]);
      expect(parseCaCertificates(`${current}${expired}`, now).problems).toEqual([
        expect.stringMatching(/^certificate 2 \(CN=Old CA\) expired on /),
      ]);
    });
  });
});
