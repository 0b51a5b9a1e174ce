/**
 * What a directory call ends in, in Rekey's terms: a catalog code and retryable flag for every
 * failure, the precise reason beside it, and the trace of the LDAP operations it took.
 */
import { Codes, type ErrorCode, getCatalogEntry } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { DirectoryTraceRecord } from './directory-trace.js';
import type { PasswordPolicyError, PasswordPolicyResponse } from './ldap/password-policy-control.js';

/**
 * Why a directory call failed, whatever the purpose of the call. Which catalog code it becomes
 * depends on the purpose: a wrong password is 120000 in a change and 50126 in a sign-in.
 */
export type DirectoryFailureReason =
  /** The user's password is wrong (or, in a sign-in, the user's entry is not there). */
  | 'invalidCredentials'
  /** The new password breaks the directory's policy; `ppolicyError` says which rule when the server said. */
  | 'passwordPolicy'
  /** Locked after failed binds, or locked by an administrator (OpenLDAP's way to disable). */
  | 'accountLocked'
  /** The password has expired. */
  | 'passwordExpired'
  /** An administrator set the password and the policy makes its user change it first. */
  | 'changeAfterReset'
  /** The account is flagged to change its password at the next sign-in (Active Directory's 773). */
  | 'mustChangePassword'
  /** The account is disabled or has expired (Active Directory's 533, 701). */
  | 'accountDisabled'
  /** The account may not sign in at this time of day (Active Directory's 530). */
  | 'logonHours'
  /** The account may sign in only from listed workstations (Active Directory's 531). */
  | 'workstationRestricted'
  /** The user's entry is not in the directory (moved, renamed or deleted). */
  | 'entryNotFound'
  /** The connector's service account may not do this (LDAP 50). */
  | 'insufficientAccess'
  /** The directory wants a protected connection or a stronger bind (LDAP 8, 13). */
  | 'confidentialityRequired'
  /** The connector's own bind DN or password is refused. */
  | 'serviceBindFailed'
  /** The directory refuses this kind of password change (policy forbids it, or it wants the old password). */
  | 'passwordChangeRefused'
  /** TLS failed: StartTLS refused, certificate not trusted, host name mismatch. */
  | 'tlsFailure'
  /** No connection: refused, reset, host unknown, closed mid-operation. */
  | 'unreachable'
  /** The directory accepted the connection but did not answer in time. */
  | 'timeout'
  /** The directory answered that it is busy or unavailable (LDAP 51, 52). */
  | 'serverBusy'
  /** Any other answer. */
  | 'unexpected';

/**
 * Reasons that are the directory doing its job for a user: it checked a password, a policy or an
 * account state and said no. A connector whose calls end so is working; connector health counts
 * them apart from the failures of the connector or the directory itself.
 */
const userRefusals: ReadonlySet<DirectoryFailureReason> = new Set<DirectoryFailureReason>([
  'invalidCredentials',
  'passwordPolicy',
  'accountLocked',
  'passwordExpired',
  'changeAfterReset',
  'entryNotFound',
]);

/** Whether a failure is the directory refusing for the user's own reason (see userRefusals). */
export function isUserRefusal(reason: DirectoryFailureReason): boolean {
  return userRefusals.has(reason);
}

/** One failure, mapped. Holds no secret: it may be stored, logged and shown to an administrator. */
export interface DirectoryFailure {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly reason: DirectoryFailureReason;
  /** The LDAP result code of the failing operation; undefined when no LDAP answer came. */
  readonly ldapResultCode: number | undefined;
  /** The password-policy response control's error, when the server sent one. */
  readonly ppolicyError: PasswordPolicyError | undefined;
  /** The server's diagnostic text, or the network error's code (ECONNREFUSED...). */
  readonly diagnostic: string | undefined;
  /**
   * The directory's own sub-code, when its diagnostic carries one: Active Directory's bind
   * `data` value (`775`) or the error number a write starts with (`0000052D`).
   */
  readonly directoryCode?: string | undefined;
  /** What the sub-code means, in words, when it says more than the reason (never a secret). */
  readonly detail?: string | undefined;
}

export type DirectoryOutcome<T> =
  | { readonly ok: true; readonly value: T; readonly trace: readonly DirectoryTraceRecord[] }
  | {
      readonly ok: false;
      readonly failure: DirectoryFailure;
      readonly trace: readonly DirectoryTraceRecord[];
    };

/** The two purposes whose codes differ: writing a password (writeback) and checking one (pass-through sign-in). */
export type DirectoryPurpose = 'writeback' | 'signIn';

function writebackCode(reason: DirectoryFailureReason): ErrorCode {
  switch (reason) {
    case 'invalidCredentials':
      return Codes.PasswordChangeIncorrectCurrentPassword;
    case 'passwordPolicy':
      return Codes.PasswordChangeOnPremComplexity;
    case 'accountLocked':
    case 'passwordExpired':
    case 'accountDisabled':
    case 'logonHours':
    case 'workstationRestricted':
      return Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled;
    case 'changeAfterReset':
    case 'mustChangePassword':
      // A self change is what the directory asks for here, so this only reaches a caller whose
      // directory refused it anyway: an administrator has to act.
      return Codes.PasswordChangeADAdminActionRequired;
    case 'entryNotFound':
      return Codes.PasswordChangeUserNotFoundBySspr;
    case 'insufficientAccess':
    case 'confidentialityRequired':
    case 'serviceBindFailed':
    case 'passwordChangeRefused':
    case 'tlsFailure':
      return Codes.PasswordChangeADAdminActionRequired;
    case 'unreachable':
    case 'timeout':
    case 'serverBusy':
      return Codes.PasswordChangeOnPremisesConnectivityFailure;
    case 'unexpected':
      return Codes.PasswordChangeFailure;
    default: {
      const unknown: never = reason;
      throw new Error(`unmapped directory failure ${String(unknown)}`);
    }
  }
}

function signInCode(reason: DirectoryFailureReason): ErrorCode {
  switch (reason) {
    case 'invalidCredentials':
    case 'entryNotFound':
      // One answer for a wrong password and a missing entry, as for cloud accounts.
      return Codes.InvalidUserNameOrPassword;
    case 'passwordExpired':
    case 'changeAfterReset':
      return Codes.InvalidPasswordExpiredOnPremPassword;
    case 'mustChangePassword':
      return Codes.InvalidPasswordExpiredPassword;
    case 'accountLocked':
      return Codes.IdsLocked;
    case 'accountDisabled':
      return Codes.UserDisabled;
    case 'logonHours':
      return Codes.OnPremisePasswordValidationAccountLogonInvalidHours;
    case 'workstationRestricted':
      return Codes.OnPremisesWorkstationRestricted;
    case 'unreachable':
    case 'serverBusy':
      return Codes.OnPremiseStoreIsNotAvailable;
    case 'timeout':
      return Codes.OnPremisePasswordValidatorRequestTimedout;
    case 'passwordPolicy':
    case 'insufficientAccess':
    case 'confidentialityRequired':
    case 'serviceBindFailed':
    case 'passwordChangeRefused':
    case 'tlsFailure':
    case 'unexpected':
      return Codes.OnPremisePasswordValidatorErrorOccurredOnPrem;
    default: {
      const unknown: never = reason;
      throw new Error(`unmapped directory failure ${String(unknown)}`);
    }
  }
}

/** Maps a failure reason to its catalog code for `purpose`; the retryable flag is the code's. */
export function mapDirectoryFailure(
  purpose: DirectoryPurpose,
  reason: DirectoryFailureReason,
  facts: {
    readonly ldapResultCode?: number | undefined;
    readonly ppolicy?: PasswordPolicyResponse | undefined;
    readonly diagnostic?: string | undefined;
    readonly directoryCode?: string | undefined;
    readonly detail?: string | undefined;
  } = {},
): DirectoryFailure {
  const code = purpose === 'writeback' ? writebackCode(reason) : signInCode(reason);
  return {
    code,
    retryable: getCatalogEntry(code).retryable,
    reason,
    ldapResultCode: facts.ldapResultCode,
    ppolicyError: facts.ppolicy?.error,
    diagnostic: facts.diagnostic,
    ...(facts.directoryCode === undefined ? {} : { directoryCode: facts.directoryCode }),
    ...(facts.detail === undefined ? {} : { detail: facts.detail }),
  };
}

/**
 * What the directory said, in one line for an operation's status detail, an audit row's cause or
 * a sign-in's on-premises cause: the reason, the password-policy error or the directory's
 * sub-code, the LDAP result code, and what the sub-code means. Never a password.
 */
export function describeDirectoryFailure(failure: DirectoryFailure): string {
  const said = [
    failure.reason,
    failure.ppolicyError,
    failure.directoryCode === undefined ? undefined : `directory code ${failure.directoryCode}`,
    failure.ldapResultCode === undefined ? undefined : `LDAP result ${failure.ldapResultCode}`,
  ].filter((part): part is string => part !== undefined);
  return failure.detail === undefined ? said.join(', ') : `${said.join(', ')} (${failure.detail})`;
}

/**
 * The failure as Rekey's one error class, for callers that throw. Its details say what the
 * directory said (reason, LDAP result code, ppolicy error), never a password.
 */
export function directoryFailureToError(failure: DirectoryFailure): RekeyError {
  return new RekeyError(failure.code, {
    details: {
      onPremisesReason: failure.reason,
      ...(failure.ppolicyError ? { onPremisesPolicyError: failure.ppolicyError } : {}),
      ...(failure.ldapResultCode !== undefined ? { ldapResultCode: failure.ldapResultCode } : {}),
      ...(failure.directoryCode !== undefined ? { onPremisesDirectoryCode: failure.directoryCode } : {}),
    },
  });
}
