/**
 * Turns what ldapts throws into a directory failure reason. ldapts throws one error subclass per
 * LDAP result code (with `code` set to it), Node's socket and TLS errors as they are, and plain
 * errors of its own for a connection that closed or an operation that timed out.
 */
import { ResultCodeError } from 'ldapts';
import type { DirectoryFailureReason } from '../directory-outcome.js';
import type { DirectoryTraceOperation } from '../directory-trace.js';
import type { PasswordPolicyResponse } from './password-policy-control.js';

/** LDAP result codes (RFC 4511 §4.1.9) this module tells apart. */
export const ldapResultCodes = {
  success: 0,
  protocolError: 2,
  timeLimitExceeded: 3,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  confidentialityRequired: 13,
  constraintViolation: 19,
  noSuchObject: 32,
  invalidDnSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
} as const;

/** Raised by Rekey's own connect when the TCP or TLS connection is not up within the connect timeout. */
export class LdapConnectTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no connection within ${timeoutMs} ms`);
    this.name = 'LdapConnectTimeoutError';
  }
}

const networkErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** The facts of one failed LDAP step, before the purpose of the call gives them a code. */
export interface ClassifiedLdapError {
  readonly reason: DirectoryFailureReason;
  readonly ldapResultCode: number | undefined;
  readonly diagnostic: string | undefined;
  /** The directory's own sub-code (Active Directory's bind `data` value or write error number). */
  readonly directoryCode?: string | undefined;
  /** What that sub-code means, when it says more than the reason. */
  readonly detail?: string | undefined;
}

function nodeErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The server's own text: ldapts appends " Code: 0x.." to it, which the result code already says. */
function serverText(error: ResultCodeError): string | undefined {
  const text = error.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
  return text === '' ? undefined : text;
}

function classifyResultCode(
  code: number,
  step: DirectoryTraceOperation,
  ppolicy: PasswordPolicyResponse | undefined,
): DirectoryFailureReason {
  const ppolicyError = ppolicy?.error;
  switch (ppolicyError) {
    case 'accountLocked':
      return 'accountLocked';
    case 'passwordExpired':
      return 'passwordExpired';
    case 'insufficientPasswordQuality':
    case 'passwordTooShort':
    case 'passwordTooLong':
    case 'passwordTooYoung':
    case 'passwordInHistory':
      return 'passwordPolicy';
    case 'passwordModNotAllowed':
    case 'mustSupplyOldPassword':
      return 'passwordChangeRefused';
    case 'changeAfterReset':
      // On a failed operation it means the user must change the password before anything else.
      if (step !== 'passwordModify') return 'changeAfterReset';
      break;
    case undefined:
      break;
    default: {
      const unknown: never = ppolicyError;
      throw new Error(`unmapped password-policy error ${String(unknown)}`);
    }
  }
  switch (code) {
    case ldapResultCodes.invalidCredentials:
    case ldapResultCodes.inappropriateAuthentication:
      return step === 'userBind' ? 'invalidCredentials' : 'serviceBindFailed';
    case ldapResultCodes.constraintViolation:
      return 'passwordPolicy';
    case ldapResultCodes.noSuchObject:
    case ldapResultCodes.invalidDnSyntax:
      return 'entryNotFound';
    case ldapResultCodes.insufficientAccessRights:
      return 'insufficientAccess';
    case ldapResultCodes.strongerAuthRequired:
    case ldapResultCodes.confidentialityRequired:
      return 'confidentialityRequired';
    case ldapResultCodes.authMethodNotSupported:
    case ldapResultCodes.unwillingToPerform:
      return step === 'passwordModify' ? 'passwordChangeRefused' : 'serviceBindFailed';
    case ldapResultCodes.protocolError:
      // A server without TLS answers StartTLS with protocolError (OpenLDAP) or unavailable.
      return step === 'connect' || step === 'startTls' ? 'tlsFailure' : 'unexpected';
    case ldapResultCodes.busy:
    case ldapResultCodes.unavailable:
      return step === 'connect' || step === 'startTls' ? 'tlsFailure' : 'serverBusy';
    case ldapResultCodes.timeLimitExceeded:
      return 'timeout';
    default:
      return 'unexpected';
  }
}

/** Classifies anything one LDAP step threw; `ppolicy` is the step's response control, if any. */
export function classifyLdapError(
  error: unknown,
  step: DirectoryTraceOperation,
  ppolicy: PasswordPolicyResponse | undefined,
): ClassifiedLdapError {
  if (error instanceof ResultCodeError) {
    return {
      reason: classifyResultCode(error.code, step, ppolicy),
      ldapResultCode: error.code,
      diagnostic: serverText(error),
    };
  }
  const code = nodeErrorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (
    error instanceof LdapConnectTimeoutError ||
    code === 'ETIMEDOUT' ||
    /timed out|timeout/i.test(message)
  ) {
    return { reason: 'timeout', ldapResultCode: undefined, diagnostic: code ?? message };
  }
  if (
    code !== undefined &&
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|^ERR_TLS|^ERR_SSL|HOSTNAME|ALTNAME/.test(code)
  ) {
    return { reason: 'tlsFailure', ldapResultCode: undefined, diagnostic: code };
  }
  if (
    (code !== undefined && networkErrorCodes.has(code)) ||
    /connection closed|socket error|socket connection not established|no longer connected/i.test(message)
  ) {
    return { reason: 'unreachable', ldapResultCode: undefined, diagnostic: code ?? message.split('\n')[0] };
  }
  return { reason: 'unexpected', ldapResultCode: undefined, diagnostic: code ?? message.split('\n')[0] };
}
