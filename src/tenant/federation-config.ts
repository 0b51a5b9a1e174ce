import { X509Certificate } from 'node:crypto';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';

/*
 * What a domain's federation is (Graph's `internalDomainFederation`), and the one check of a
 * create or PATCH body. Every problem is collected and thrown together as one 7700001 whose
 * details name each field (`{ field: 'body/issuerUri', problem }`, the form schema errors take), so
 * an administrator fixes a configuration in one round.
 */

export const authenticationProtocols = ['wsFed', 'saml'] as const;
export type AuthenticationProtocol = (typeof authenticationProtocols)[number];

export const federatedIdpMfaBehaviors = [
  'acceptIfMfaDoneByFederatedIdp',
  'enforceMfaByFederatedIdp',
  'rejectMfaByFederatedIdp',
] as const;

export const promptLoginBehaviors = [
  'translateToFreshPasswordAuthentication',
  'nativeSupport',
  'disabled',
] as const;

/** A federation's settings, as stored and shown. */
export interface FederationSettings {
  readonly displayName: string;
  readonly issuerUri: string | null;
  readonly metadataExchangeUri: string | null;
  readonly passiveSignInUri: string | null;
  readonly activeSignInUri: string | null;
  readonly signOutUri: string | null;
  /** The federation's password page: where its users change and reset their password. */
  readonly passwordResetUri: string | null;
  /** Base64 DER of the token-signing certificate's public part. */
  readonly signingCertificate: string | null;
  readonly nextSigningCertificate: string | null;
  readonly preferredAuthenticationProtocol: AuthenticationProtocol;
  readonly federatedIdpMfaBehavior: string | null;
  readonly promptLoginBehavior: string | null;
  readonly isSignedAuthenticationRequestRequired: boolean;
}

/** A federation with nothing set but its name (the domain's): what a body is laid over on create. */
export function defaultFederationSettings(domain: string): FederationSettings {
  return {
    displayName: domain,
    issuerUri: null,
    metadataExchangeUri: null,
    passiveSignInUri: null,
    activeSignInUri: null,
    signOutUri: null,
    passwordResetUri: null,
    signingCertificate: null,
    nextSigningCertificate: null,
    preferredAuthenticationProtocol: 'wsFed',
    federatedIdpMfaBehavior: null,
    promptLoginBehavior: null,
    isSignedAuthenticationRequestRequired: false,
  };
}

/** The fields a create or PATCH body may set. */
export const federationInputFields = [
  'displayName',
  'issuerUri',
  'metadataExchangeUri',
  'passiveSignInUri',
  'activeSignInUri',
  'signOutUri',
  'passwordResetUri',
  'signingCertificate',
  'nextSigningCertificate',
  'preferredAuthenticationProtocol',
  'federatedIdpMfaBehavior',
  'promptLoginBehavior',
  'isSignedAuthenticationRequestRequired',
] as const;

/** What a create needs: where users sign in, who issues their tokens, and how to check them. */
const requiredOnCreate = ['issuerUri', 'passiveSignInUri', 'signingCertificate'] as const;

/** Pages users are sent to (and type passwords into): https only. */
const pageFields = [
  'metadataExchangeUri',
  'passiveSignInUri',
  'activeSignInUri',
  'signOutUri',
  'passwordResetUri',
] as const;

const maxUriLength = 2048;
const maxCertificateLength = 64 * 1024;

/** One bad field, in the form the HTTP edge reports schema errors. */
export interface FederationProblem {
  readonly field: string;
  readonly problem: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The certificate's base64 DER (a PEM block is accepted too), or the problem with it. */
function checkCertificate(raw: string, now: Date): { readonly value?: string; readonly problem?: string } {
  if (raw.length > maxCertificateLength)
    return { problem: `must be at most ${maxCertificateLength} characters` };
  const base64 = raw.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64))
    return {
      problem: "must be the base64 encoding of the federation's token-signing certificate (X.509, DER)",
    };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(Buffer.from(base64, 'base64'));
  } catch {
    return { problem: 'is not a valid X.509 certificate' };
  }
  if (new Date(certificate.validTo).getTime() < now.getTime())
    return { problem: `expired on ${certificate.validTo} (${certificate.subject.replaceAll('\n', ', ')})` };
  return { value: base64 };
}

/**
 * Checks a create body (`current` undefined) or a PATCH body laid over `current`, and returns the
 * settings to store. Throws one 7700001 naming every problem. `now` judges certificate expiry.
 */
export function checkFederationInput(
  raw: unknown,
  current: FederationSettings | undefined,
  options: { readonly domain: string; readonly now: Date },
): FederationSettings {
  const problems: FederationProblem[] = [];
  const problem = (field: string, text: string) => problems.push({ field: `body/${field}`, problem: text });
  const creating = current === undefined;
  if (!isRecord(raw)) throw rejection([{ field: 'body', problem: 'must be a JSON object' }], creating);
  const body: Readonly<Record<string, unknown>> = raw;
  for (const key of Object.keys(body)) {
    if ((federationInputFields as readonly string[]).includes(key)) continue;
    if (key === '@odata.type') {
      if (body[key] !== '#microsoft.graph.internalDomainFederation')
        problem(key, 'must be #microsoft.graph.internalDomainFederation');
      continue;
    }
    problem(
      key,
      key === 'id' || key === 'signingCertificateUpdateStatus'
        ? 'is read-only'
        : 'is not a federation setting',
    );
  }
  if (creating) {
    for (const field of requiredOnCreate)
      if (body[field] === undefined || body[field] === null) problem(field, 'is required');
  } else {
    for (const field of requiredOnCreate) if (body[field] === null) problem(field, 'cannot be removed');
  }

  const changes: Record<string, unknown> = {};
  const text = (field: string, max: number): string | null | undefined => {
    const value = body[field];
    if (value === undefined || value === null) return value;
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
    return value.trim();
  };
  const oneOf = (field: string, allowed: readonly string[], nullable: boolean) => {
    const value = body[field];
    if (value === undefined) return;
    if ((value === null && nullable) || (typeof value === 'string' && allowed.includes(value))) {
      changes[field] = value;
      return;
    }
    problem(field, `must be one of ${allowed.join(', ')}${nullable ? ', or null' : ''}`);
  };

  const displayName = text('displayName', 256);
  if (displayName === null) problem('displayName', 'cannot be null');
  else if (displayName !== undefined) changes['displayName'] = displayName;

  const issuerUri = text('issuerUri', maxUriLength);
  if (typeof issuerUri === 'string') {
    // An issuer is an identifier: a URL (http://sts.contoso.com/adfs/services/trust) or a URN.
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(issuerUri)) problem('issuerUri', 'must be an absolute URI');
    else changes['issuerUri'] = issuerUri;
  }
  for (const field of pageFields) {
    const value = text(field, maxUriLength);
    if (value === null) {
      if (!(requiredOnCreate as readonly string[]).includes(field)) changes[field] = null;
      continue;
    }
    if (value === undefined) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') problem(field, 'must be an absolute https URL');
    else changes[field] = url.toString();
  }
  for (const field of ['signingCertificate', 'nextSigningCertificate'] as const) {
    const value = text(field, maxCertificateLength);
    if (value === null) {
      if (field === 'nextSigningCertificate') changes[field] = null;
      continue;
    }
    if (value === undefined) continue;
    const checked = checkCertificate(value, options.now);
    if (checked.problem !== undefined) problem(field, checked.problem);
    else changes[field] = checked.value;
  }
  oneOf('preferredAuthenticationProtocol', authenticationProtocols, false);
  oneOf('federatedIdpMfaBehavior', federatedIdpMfaBehaviors, true);
  oneOf('promptLoginBehavior', promptLoginBehaviors, true);
  const signed = body['isSignedAuthenticationRequestRequired'];
  if (signed !== undefined) {
    if (typeof signed === 'boolean') changes['isSignedAuthenticationRequestRequired'] = signed;
    else problem('isSignedAuthenticationRequestRequired', 'must be true or false');
  }

  if (problems.length > 0) throw rejection(problems, creating);
  const base: FederationSettings = current ?? defaultFederationSettings(options.domain);
  return { ...base, ...changes } as FederationSettings;
}

function describeProblem(problem: FederationProblem): string {
  const name = problem.field.replace(/^body\/?/, '');
  return `${name === '' ? 'the body' : name} ${problem.problem}`;
}

function rejection(problems: readonly FederationProblem[], creating: boolean): RekeyError {
  // The message lists the problems too, for the CLI, which shows messages rather than details.
  return new RekeyError(Codes.RequestValidationFailed, {
    message: `The federation was not ${creating ? 'created' : 'changed'}: ${problems.map(describeProblem).join('; ')}.`,
    details: { fields: problems },
  });
}
