import { X509Certificate } from 'node:crypto';
import { FilterParser } from 'ldapts';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';

/*
 * What a connector is, and the one check of a connector's settings: the body of a create, or of a
 * PATCH laid over the stored settings. Every problem is collected and thrown together as one
 * 7700001 whose details name each field (`{ field: 'body/url', problem }`, the form schema errors
 * take), so an administrator fixes a configuration in one round. The bind password is checked
 * here too but never appears in a message.
 */

/** The flavours Rekey connects to: OpenLDAP, and Active Directory (or Samba's AD domain controller). */
export const connectorFlavors = ['openldap', 'activeDirectory'] as const;
export type ConnectorFlavor = (typeof connectorFlavors)[number];

/** The user properties a sync fills from directory attributes. */
export const syncedProperties = [
  'userPrincipalName',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'mailNickname',
  'onPremisesImmutableId',
  'onPremisesSamAccountName',
] as const;
export type SyncedProperty = (typeof syncedProperties)[number];

/** Properties every connector must map: a synced user needs a UPN and an immutable id. */
const requiredProperties: readonly SyncedProperty[] = ['userPrincipalName', 'onPremisesImmutableId'];

/** Which directory attribute fills which user property; a property left out is not synced. */
export type AttributeMap = Readonly<Partial<Record<SyncedProperty, string>>>;

/**
 * Defaults for each flavour: inetOrgPerson and the operational entryUUID on OpenLDAP; on Active
 * Directory the attributes a cloud sync takes (objectGUID, in base64, as the immutable id).
 */
export const defaultAttributes: Readonly<Record<ConnectorFlavor, AttributeMap>> = {
  openldap: {
    userPrincipalName: 'mail',
    displayName: 'displayName',
    givenName: 'givenName',
    surname: 'sn',
    mail: 'mail',
    mailNickname: 'uid',
    onPremisesImmutableId: 'entryUUID',
    onPremisesSamAccountName: 'uid',
  },
  activeDirectory: {
    userPrincipalName: 'userPrincipalName',
    displayName: 'displayName',
    givenName: 'givenName',
    surname: 'sn',
    mail: 'mail',
    mailNickname: 'sAMAccountName',
    onPremisesImmutableId: 'objectGUID',
    onPremisesSamAccountName: 'sAMAccountName',
  },
};

export const defaultUserFilter: Readonly<Record<ConnectorFlavor, string>> = {
  openldap: '(objectClass=inetOrgPerson)',
  // People, not computers (whose objectClass is user too) nor contacts.
  activeDirectory: '(&(objectCategory=person)(objectClass=user))',
};

/** The bounds of the numeric settings, with their defaults. */
export const connectorLimits = {
  connectTimeoutMs: { minimum: 100, maximum: 60_000, default: 5_000 },
  operationTimeoutMs: { minimum: 100, maximum: 300_000, default: 10_000 },
  syncIntervalSeconds: { minimum: 60, maximum: 7 * 86_400, default: 3_600 },
} as const;

/** A connector's settings as stored and shown (the bind password apart). */
export interface ConnectorSettings {
  readonly displayName: string;
  readonly flavor: ConnectorFlavor;
  /** `ldaps://host[:port]` or `ldap://host[:port]`, nothing after the host. */
  readonly url: string;
  readonly startTls: boolean;
  /** True only to allow a plain `ldap://` connection without StartTLS (a test directory). */
  readonly allowInsecure: boolean;
  /** PEM certificates to trust for the directory's TLS; null trusts the system's CAs. */
  readonly caCertificate: string | null;
  readonly bindDn: string;
  readonly baseDn: string;
  readonly userFilter: string;
  readonly attributes: AttributeMap;
  readonly writeback: boolean;
  readonly connectTimeoutMs: number;
  readonly operationTimeoutMs: number;
  /** Seconds between scheduled syncs; null: only when asked. */
  readonly syncIntervalSeconds: number | null;
}

/** The fields a create or PATCH body may hold. */
export const connectorInputFields = [
  'displayName',
  'flavor',
  'url',
  'startTls',
  'allowInsecure',
  'caCertificate',
  'bindDn',
  'bindPassword',
  'baseDn',
  'userFilter',
  'attributes',
  'writeback',
  'connectTimeoutMs',
  'operationTimeoutMs',
  'syncIntervalSeconds',
] as const;

/** Fields a GET shows that no body may set. */
const readOnlyFields: readonly string[] = [
  'id',
  'bindPasswordSet',
  'createdDateTime',
  'lastModifiedDateTime',
  'lastSyncDateTime',
  'lastSyncResult',
  'lastTestDateTime',
  'lastTestResult',
];

/** One bad field, in the form the HTTP edge reports schema errors. */
export interface ConnectorProblem {
  readonly field: string;
  readonly problem: string;
}

/** The checked result of a body: the settings to store, and a new bind password if one was given. */
export interface CheckedConnectorInput {
  readonly settings: ConnectorSettings;
  /** Present when the body set one; a PATCH without it keeps the stored one. */
  readonly bindPassword: string | undefined;
}

const maxLengths = {
  displayName: 256,
  url: 2048,
  dn: 1024,
  bindPassword: 1024,
  userFilter: 4096,
  caCertificate: 64 * 1024,
  attribute: 128,
} as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An attribute description: a name (`mail`, `entryUUID`) or an OID, with options (`;binary`). */
const attributeDescription = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9-]+)*$/;
const attributeType = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

/** Whether `name` is a valid attribute description. */
export function isAttributeName(name: string): boolean {
  return name.length <= maxLengths.attribute && attributeDescription.test(name);
}

/**
 * What is wrong with `dn` as an RFC 4514 distinguished name, or undefined. Checks the shape only
 * (attribute types, `=`, escapes, no empty RDN), which is what catches a typo before a bind does.
 */
export function dnProblem(dn: string): string | undefined {
  if (dn.trim() === '') return 'must not be empty';
  if (dn.length > maxLengths.dn) return `must be at most ${maxLengths.dn} characters`;
  // Split into attribute-value assertions on unescaped `,` and `+`, checking escapes on the way.
  const assertions: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i += 1) {
    const character = dn[i] ?? '';
    if (character === '\\') {
      const next = dn[i + 1];
      if (next === undefined) return 'ends with a lone backslash';
      if (/[0-9A-Fa-f]/.test(next)) {
        if (!/^[0-9A-Fa-f]{2}$/.test(dn.slice(i + 1, i + 3))) return `has a bad escape at character ${i + 1}`;
        current += dn.slice(i, i + 3);
        i += 2;
      } else {
        if (!' "#+,;<=>\\'.includes(next)) return `has a bad escape \\${next}`;
        current += `\\${next}`;
        i += 1;
      }
      continue;
    }
    if (character === ',' || character === '+') {
      assertions.push(current);
      current = '';
      continue;
    }
    if ('"<>;'.includes(character) || character === '\u0000') {
      return `has an unescaped ${JSON.stringify(character)}: escape it with a backslash`;
    }
    current += character;
  }
  assertions.push(current);
  for (const assertion of assertions) {
    const equals = assertion.indexOf('=');
    if (assertion.trim() === '') return 'has an empty component (two commas in a row, or one at an end)';
    if (equals < 0) return `has a component without "=": ${JSON.stringify(assertion.trim())}`;
    const type = assertion.slice(0, equals).trim();
    if (!attributeType.test(type)) return `has an invalid attribute type ${JSON.stringify(type)}`;
    if (assertion.slice(equals + 1).trim() === '') return `has an empty value for ${type}`;
  }
  return undefined;
}

/** Whether `name` is an Active Directory logon name: `user@domain` (a UPN) or `DOMAIN\user`. */
export function isActiveDirectoryLogonName(name: string): boolean {
  if (name.length > maxLengths.dn) return false;
  return /^[^\s@=,\\]+@[A-Za-z0-9.-]+$/.test(name) || /^[A-Za-z0-9.-]+\\[^\s\\@=,]+$/.test(name);
}

/** What is wrong with `filter` as an LDAP search filter (RFC 4515), or undefined. */
export function filterProblem(filter: string): string | undefined {
  if (filter.trim() === '') return 'must not be empty';
  if (filter.length > maxLengths.userFilter) return `must be at most ${maxLengths.userFilter} characters`;
  const trimmed = filter.trim();
  if (!trimmed.startsWith('(') || !trimmed.endsWith(')')) {
    return 'must be enclosed in parentheses, e.g. (objectClass=inetOrgPerson)';
  }
  // Parentheses in values must be escaped (\28, \29), so every literal one is structure: the
  // parser below accepts some unbalanced filters ("(&(a=b)"), so count them first.
  let depth = 0;
  for (const [index, character] of [...trimmed].entries()) {
    if (character === '(') depth += 1;
    if (character === ')') depth -= 1;
    if (depth < 0 || (depth === 0 && index < trimmed.length - 1)) {
      return 'has unbalanced parentheses (a parenthesis in a value is written \\28 or \\29)';
    }
  }
  if (depth !== 0) return 'has unbalanced parentheses (a parenthesis in a value is written \\28 or \\29)';
  try {
    FilterParser.parseString(trimmed);
  } catch (error) {
    return `is not a valid LDAP filter: ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * The PEM certificates in `text`, each parsed, or the problems with them: no certificate, one that
 * does not parse, or one already expired at `now`.
 */
export function parseCaCertificates(
  text: string,
  now: Date,
): { readonly pem: string; readonly problems: readonly string[] } {
  if (text.length > maxLengths.caCertificate) {
    return { pem: '', problems: [`must be at most ${maxLengths.caCertificate} characters`] };
  }
  const blocks = text.match(pemBlock) ?? [];
  if (blocks.length === 0) {
    return {
      pem: '',
      problems: [
        'must hold one or more PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)',
      ],
    };
  }
  const problems: string[] = [];
  blocks.forEach((block, index) => {
    const which = blocks.length === 1 ? 'the certificate' : `certificate ${index + 1}`;
    try {
      const certificate = new X509Certificate(block);
      if (new Date(certificate.validTo).getTime() < now.getTime()) {
        problems.push(
          `${which} (${certificate.subject.replaceAll('\n', ', ')}) expired on ${certificate.validTo}`,
        );
      }
    } catch {
      problems.push(`${which} is not a valid X.509 certificate`);
    }
  });
  return { pem: `${blocks.join('\n')}\n`, problems };
}

/** What is wrong with `url` for `flavor`, or its normalized form (`ldaps://host:port`). */
function checkUrl(raw: string): { readonly url?: string; readonly problem?: string } {
  if (raw.length > maxLengths.url) return { problem: `must be at most ${maxLengths.url} characters` };
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return { problem: 'must be a URL such as ldaps://dc1.example.com or ldap://dc1.example.com:389' };
  }
  if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:') {
    return { problem: `must start with ldaps:// or ldap://, not ${parsed.protocol}//` };
  }
  if (parsed.hostname === '')
    return { problem: 'must name the directory server, e.g. ldaps://dc1.example.com' };
  if (parsed.username !== '' || parsed.password !== '') {
    return { problem: 'must not hold credentials: give them as bindDn and bindPassword' };
  }
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.hash !== '') {
    return {
      problem:
        'must name only the server (scheme, host and port): give the base DN as baseDn and the filter as userFilter',
    };
  }
  // Host names are case-insensitive; URLs of non-special schemes keep the case as typed.
  return { url: `${parsed.protocol}//${parsed.host.toLowerCase()}` };
}

/**
 * Checks a create body (`current` undefined) or a PATCH body laid over `current`, and returns the
 * settings to store. Throws one 7700001 naming every problem. `now` judges certificate expiry.
 */
export function checkConnectorInput(
  raw: unknown,
  current: ConnectorSettings | undefined,
  now: Date,
): CheckedConnectorInput {
  const problems: ConnectorProblem[] = [];
  const problem = (field: string, text: string) => problems.push({ field: `body/${field}`, problem: text });
  if (!isRecord(raw)) {
    throw rejection([{ field: 'body', problem: 'must be a JSON object' }], current === undefined);
  }
  const body: Readonly<Record<string, unknown>> = raw;
  for (const key of Object.keys(body)) {
    if ((connectorInputFields as readonly string[]).includes(key)) continue;
    problem(key, readOnlyFields.includes(key) ? 'is read-only' : 'is not a connector setting');
  }
  const has = (field: string) => body[field] !== undefined;
  const required = (field: string) => {
    if (current === undefined && !has(field)) problem(field, 'is required');
  };

  // Each field: its checked value, or the current one when the body leaves it out (PATCH).
  function text(field: string, max: number): string | undefined {
    const value = body[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      problem(field, 'must be a string');
      return undefined;
    }
    if (value.trim() === '') {
      problem(field, 'must not be empty');
      return undefined;
    }
    if (value.length > max) {
      problem(field, `must be at most ${max} characters`);
      return undefined;
    }
    return value;
  }
  function flag(field: string): boolean | undefined {
    const value = body[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') {
      problem(field, 'must be true or false');
      return undefined;
    }
    return value;
  }
  function whole(field: keyof typeof connectorLimits, nullable: boolean): number | null | undefined {
    const value = body[field];
    if (value === undefined) return undefined;
    if (value === null && nullable) return null;
    const { minimum, maximum } = connectorLimits[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
      problem(field, `must be a whole number from ${minimum} to ${maximum}${nullable ? ', or null' : ''}`);
      return undefined;
    }
    return value;
  }

  // displayName
  required('displayName');
  const displayNameRaw = text('displayName', maxLengths.displayName);
  if (displayNameRaw !== undefined && /\p{Cc}/u.test(displayNameRaw)) {
    problem('displayName', 'must not contain control characters');
  }
  const displayName = displayNameRaw?.trim();

  // flavor
  required('flavor');
  let flavor: ConnectorFlavor | undefined;
  if (has('flavor')) {
    const value = body['flavor'];
    if (typeof value === 'string' && (connectorFlavors as readonly string[]).includes(value)) {
      flavor = value as ConnectorFlavor;
    } else {
      problem('flavor', `must be one of: ${connectorFlavors.join(', ')}`);
    }
  }

  // url
  required('url');
  let url: string | undefined;
  const urlRaw = text('url', maxLengths.url);
  if (urlRaw !== undefined) {
    const checked = checkUrl(urlRaw.trim());
    if (checked.problem) problem('url', checked.problem);
    url = checked.url;
  }

  const startTls = flag('startTls');
  const allowInsecure = flag('allowInsecure');
  const writeback = flag('writeback');

  // caCertificate: PEM or null
  let caCertificate: string | null | undefined;
  if (has('caCertificate')) {
    const value = body['caCertificate'];
    if (value === null) caCertificate = null;
    else if (typeof value !== 'string')
      problem('caCertificate', 'must be a string of PEM certificates, or null');
    else {
      const parsed = parseCaCertificates(value, now);
      for (const text of parsed.problems) problem('caCertificate', text);
      if (parsed.problems.length === 0) caCertificate = parsed.pem;
    }
  }

  // bindDn, baseDn
  const dns: Partial<Record<'bindDn' | 'baseDn', string>> = {};
  const flavorSoFar = flavor ?? current?.flavor;
  for (const field of ['bindDn', 'baseDn'] as const) {
    required(field);
    if (!has(field)) continue;
    const value = body[field];
    if (typeof value !== 'string') {
      problem(field, 'must be a string, a distinguished name such as cn=rekey,ou=services,dc=example,dc=com');
      continue;
    }
    // Active Directory also binds by user principal name or DOMAIN\name.
    if (field === 'bindDn' && flavorSoFar === 'activeDirectory' && isActiveDirectoryLogonName(value.trim())) {
      dns[field] = value.trim();
      continue;
    }
    const wrong = dnProblem(value.trim());
    if (wrong) problem(field, `is not a distinguished name: it ${wrong}`);
    else dns[field] = value.trim();
  }

  // bindPassword: checked, never echoed
  required('bindPassword');
  let bindPassword: string | undefined;
  if (has('bindPassword')) {
    const value = body['bindPassword'];
    if (typeof value !== 'string' || value === '') problem('bindPassword', 'must be a non-empty string');
    else if (value.length > maxLengths.bindPassword) {
      problem('bindPassword', `must be at most ${maxLengths.bindPassword} characters`);
    } else bindPassword = value;
  }

  // userFilter
  let userFilter: string | undefined;
  if (has('userFilter')) {
    const value = body['userFilter'];
    if (typeof value !== 'string')
      problem('userFilter', 'must be a string, e.g. (objectClass=inetOrgPerson)');
    else {
      const wrong = filterProblem(value);
      if (wrong) problem('userFilter', wrong);
      else userFilter = value.trim();
    }
  }

  // attributes: laid over the current map, or the flavour's defaults
  let attributeChanges: Readonly<Record<string, string | null>> | undefined;
  if (has('attributes')) {
    const value = body['attributes'];
    if (!isRecord(value)) {
      problem(
        'attributes',
        'must be an object from user property to directory attribute, e.g. {"userPrincipalName": "mail"}',
      );
    } else {
      const changes: Record<string, string | null> = {};
      for (const [property, attribute] of Object.entries(value)) {
        if (!(syncedProperties as readonly string[]).includes(property)) {
          problem(
            `attributes/${property}`,
            `is not a property Rekey syncs; the properties are: ${syncedProperties.join(', ')}`,
          );
        } else if (attribute === null) {
          if (requiredProperties.includes(property as SyncedProperty)) {
            problem(`attributes/${property}`, 'must be mapped: every synced user needs it');
          } else changes[property] = null;
        } else if (typeof attribute !== 'string' || !isAttributeName(attribute)) {
          problem(
            `attributes/${property}`,
            'must be an attribute name (letters, digits and hyphens, starting with a letter) or an OID, or null to stop syncing it',
          );
        } else changes[property] = attribute;
      }
      attributeChanges = changes;
    }
  }

  const connectTimeoutMs = whole('connectTimeoutMs', false);
  const operationTimeoutMs = whole('operationTimeoutMs', false);
  const syncIntervalSeconds = whole('syncIntervalSeconds', true);

  // The merged settings, where every field this body set was valid; cross-field rules after.
  const mergedFlavor = flavor ?? current?.flavor;
  // A PATCH that changes the flavour takes the new flavour's defaults for a filter and map that
  // were the old flavour's defaults (an entryUUID map means nothing on Active Directory).
  const switchedTo = current !== undefined && flavor !== current.flavor ? flavor : undefined;
  const currentFilter =
    switchedTo && current && current.userFilter === defaultUserFilter[current.flavor]
      ? defaultUserFilter[switchedTo]
      : current?.userFilter;
  const currentAttributes =
    switchedTo && current && sameMap(current.attributes, defaultAttributes[current.flavor])
      ? defaultAttributes[switchedTo]
      : current?.attributes;
  const merged = {
    displayName: displayName ?? current?.displayName,
    flavor: mergedFlavor,
    url: url ?? current?.url,
    startTls: startTls ?? current?.startTls ?? false,
    allowInsecure: allowInsecure ?? current?.allowInsecure ?? false,
    caCertificate: caCertificate === undefined ? (current?.caCertificate ?? null) : caCertificate,
    bindDn: dns.bindDn ?? current?.bindDn,
    baseDn: dns.baseDn ?? current?.baseDn,
    userFilter: userFilter ?? currentFilter ?? (mergedFlavor ? defaultUserFilter[mergedFlavor] : undefined),
    writeback: writeback ?? current?.writeback ?? false,
    connectTimeoutMs:
      connectTimeoutMs ?? current?.connectTimeoutMs ?? connectorLimits.connectTimeoutMs.default,
    operationTimeoutMs:
      operationTimeoutMs ?? current?.operationTimeoutMs ?? connectorLimits.operationTimeoutMs.default,
    syncIntervalSeconds:
      syncIntervalSeconds === undefined
        ? current === undefined
          ? connectorLimits.syncIntervalSeconds.default
          : current.syncIntervalSeconds
        : syncIntervalSeconds,
  };
  const baseAttributes: AttributeMap =
    currentAttributes ?? (mergedFlavor ? defaultAttributes[mergedFlavor] : {});
  const attributes: Partial<Record<SyncedProperty, string>> = { ...baseAttributes };
  for (const [property, attribute] of Object.entries(attributeChanges ?? {})) {
    if (attribute === null) delete attributes[property as SyncedProperty];
    else attributes[property as SyncedProperty] = attribute;
  }

  if (
    merged.flavor === 'openldap' &&
    merged.bindDn !== undefined &&
    !has('bindDn') &&
    dnProblem(merged.bindDn) !== undefined
  ) {
    problem('bindDn', 'is not a distinguished name, which an openldap connector binds with: give bindDn too');
  }
  const secure = merged.url?.startsWith('ldaps://') || merged.startTls;
  if (merged.url?.startsWith('ldaps://') && merged.startTls) {
    problem('startTls', 'must be false with an ldaps:// url: that connection is encrypted from the start');
  }
  if (merged.url?.startsWith('ldap://') && !merged.startTls && !merged.allowInsecure) {
    problem(
      'url',
      'is ldap:// without startTls, which would send the bind password unencrypted: set startTls to true, use ldaps://, or set allowInsecure to true (for a test directory only)',
    );
  }
  if (merged.url !== undefined && merged.writeback && !secure) {
    problem(
      'writeback',
      "needs an encrypted connection (ldaps:// or startTls): writeback sends users' new passwords",
    );
  }

  if (problems.length > 0) throw rejection(problems, current === undefined);
  // Every field is known here: a create had each required one, a PATCH starts from `current`.
  const settings: ConnectorSettings = {
    displayName: merged.displayName as string,
    flavor: merged.flavor as ConnectorFlavor,
    url: merged.url as string,
    startTls: merged.startTls,
    allowInsecure: merged.allowInsecure,
    caCertificate: merged.caCertificate,
    bindDn: merged.bindDn as string,
    baseDn: merged.baseDn as string,
    userFilter: merged.userFilter as string,
    attributes,
    writeback: merged.writeback,
    connectTimeoutMs: merged.connectTimeoutMs,
    operationTimeoutMs: merged.operationTimeoutMs,
    syncIntervalSeconds: merged.syncIntervalSeconds,
  };
  return { settings, bindPassword };
}

function sameMap(a: AttributeMap, b: AttributeMap): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => a[key as SyncedProperty] === b[key as SyncedProperty]);
}

function describeProblem(problem: ConnectorProblem): string {
  const name = problem.field.replace(/^body\/?/, '').replaceAll('/', '.');
  return `${name === '' ? 'the body' : name} ${problem.problem}`;
}

function rejection(problems: readonly ConnectorProblem[], creating: boolean): RekeyError {
  // The message lists the problems too, for the CLI, which shows messages rather than details.
  return new RekeyError(Codes.RequestValidationFailed, {
    message: `The connector was not ${creating ? 'created' : 'changed'}: ${problems.map(describeProblem).join('; ')}.`,
    details: { fields: problems },
  });
}
