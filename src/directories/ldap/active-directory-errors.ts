/**
 * What Active Directory (and Samba's AD domain controller) adds to an LDAP error: a failed simple
 * bind answers 49 for every refusal and says why in its diagnostic text
 * (`80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1`),
 * and a refused write starts its text with a Windows error number (`0000052D: Constraint
 * violation - ...`). This module reads those sub-codes and refines the reason the LDAP result
 * code alone gave. The codes 530 to 775 come only with a right password (a wrong one is 52e),
 * except 775: a locked account answers 775 whatever the password.
 */
import type { DirectoryFailureReason } from '../directory-outcome.js';
import type { DirectoryTraceOperation } from '../directory-trace.js';
import type { ClassifiedLdapError } from './ldap-errors.js';
import { ldapResultCodes } from './ldap-errors.js';

/** A bind's `data` sub-code: its reason for a user's bind, and what it means. */
const bindCodes: Readonly<
  Record<string, { readonly reason: DirectoryFailureReason; readonly detail: string }>
> = {
  '52e': { reason: 'invalidCredentials', detail: 'the password is wrong' },
  '525': { reason: 'entryNotFound', detail: 'no such user' },
  '530': { reason: 'logonHours', detail: 'the account may not sign in at this time of day (logon hours)' },
  '531': {
    reason: 'workstationRestricted',
    detail: 'the account may sign in only from listed workstations (userWorkstations)',
  },
  '532': { reason: 'passwordExpired', detail: 'the password has expired' },
  '533': { reason: 'accountDisabled', detail: 'the account is disabled' },
  '701': { reason: 'accountDisabled', detail: 'the account has expired (accountExpires)' },
  '773': { reason: 'mustChangePassword', detail: 'the user must change the password (pwdLastSet is 0)' },
  '775': { reason: 'accountLocked', detail: 'the account is locked out' },
};

/** A write's error number: its reason, and what it means. */
const writeCodes: Readonly<
  Record<string, { readonly reason: DirectoryFailureReason; readonly detail: string }>
> = {
  '0000052D': {
    reason: 'passwordPolicy',
    detail:
      "error 0000052D: the new password breaks the domain's password policy (too short, not complex enough, in the password history, or the current one is too young to change); Active Directory does not say which",
  },
  '00000056': { reason: 'invalidCredentials', detail: 'error 00000056: the current password is wrong' },
  '00002077': {
    reason: 'confidentialityRequired',
    detail:
      'error 00002077: the domain controller writes passwords only over an encrypted connection; use an ldaps:// url or set startTls',
  },
  '00000775': { reason: 'accountLocked', detail: 'error 00000775: the account is locked out' },
  '00002098': {
    reason: 'insufficientAccess',
    detail:
      "error 00002098: the connector's service account lacks the right (Reset Password on the users' organizational unit)",
  },
};

const bindDataPattern = /AcceptSecurityContext error, data ([0-9a-f]+)/i;
const writeNumberPattern = /^([0-9A-F]{8}):/i;

/** The `data` sub-code of a refused bind's diagnostic (`775`), lower case, or undefined. */
export function bindSubCode(diagnostic: string | undefined): string | undefined {
  return diagnostic?.match(bindDataPattern)?.[1]?.toLowerCase();
}

/** The error number a refused write's diagnostic starts with (`0000052D`), upper case, or undefined. */
export function writeErrorNumber(diagnostic: string | undefined): string | undefined {
  return diagnostic?.match(writeNumberPattern)?.[1]?.toUpperCase();
}

/**
 * Refines a classified LDAP error with Active Directory's sub-codes. A service account's refused
 * bind stays `serviceBindFailed` (the connector's configuration), with the sub-code saying why.
 */
export function refineActiveDirectoryError(
  classified: ClassifiedLdapError,
  step: DirectoryTraceOperation,
): ClassifiedLdapError {
  if (classified.ldapResultCode === undefined) return classified;
  const bindCode = bindSubCode(classified.diagnostic);
  if (bindCode !== undefined && (step === 'userBind' || step === 'serviceBind')) {
    const known = bindCodes[bindCode];
    const detail = known?.detail ?? `Active Directory's bind code ${bindCode}`;
    return {
      ...classified,
      reason: step === 'serviceBind' ? 'serviceBindFailed' : (known?.reason ?? classified.reason),
      directoryCode: bindCode,
      detail: step === 'serviceBind' ? `the service account's bind: ${detail}` : detail,
    };
  }
  const number = writeErrorNumber(classified.diagnostic);
  const known = number === undefined ? undefined : writeCodes[number];
  if (number !== undefined && known !== undefined) {
    return { ...classified, reason: known.reason, directoryCode: number, detail: known.detail };
  }
  if (
    classified.ldapResultCode === ldapResultCodes.strongerAuthRequired ||
    classified.ldapResultCode === ldapResultCodes.confidentialityRequired
  ) {
    return {
      ...classified,
      ...(number === undefined ? {} : { directoryCode: number }),
      detail:
        'the domain controller accepts a password bind only over an encrypted connection; use an ldaps:// url or set startTls',
    };
  }
  return number === undefined ? classified : { ...classified, directoryCode: number };
}
