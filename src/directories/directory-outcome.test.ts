import { ConstraintViolationError, InvalidCredentialsError, UnavailableError } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { Codes, getCatalogEntry } from '../platform/errors/catalog.js';
import {
  type DirectoryFailureReason,
  directoryFailureToError,
  mapDirectoryFailure,
} from './directory-outcome.js';
import { classifyLdapError, LdapConnectTimeoutError } from './ldap/ldap-errors.js';

/** Issue 10 items 5 and 6, as a table: every reason, both purposes. */
const expected: Readonly<Record<DirectoryFailureReason, readonly [writeback: number, signIn: number]>> = {
  invalidCredentials: [Codes.PasswordChangeIncorrectCurrentPassword, Codes.InvalidUserNameOrPassword],
  passwordPolicy: [Codes.PasswordChangeOnPremComplexity, Codes.OnPremisePasswordValidatorErrorOccurredOnPrem],
  accountLocked: [Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled, Codes.IdsLocked],
  passwordExpired: [
    Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled,
    Codes.InvalidPasswordExpiredOnPremPassword,
  ],
  changeAfterReset: [Codes.PasswordChangeADAdminActionRequired, Codes.InvalidPasswordExpiredOnPremPassword],
  mustChangePassword: [Codes.PasswordChangeADAdminActionRequired, Codes.InvalidPasswordExpiredPassword],
  accountDisabled: [Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled, Codes.UserDisabled],
  logonHours: [
    Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled,
    Codes.OnPremisePasswordValidationAccountLogonInvalidHours,
  ],
  workstationRestricted: [
    Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled,
    Codes.OnPremisesWorkstationRestricted,
  ],
  entryNotFound: [Codes.PasswordChangeUserNotFoundBySspr, Codes.InvalidUserNameOrPassword],
  insufficientAccess: [
    Codes.PasswordChangeADAdminActionRequired,
    Codes.OnPremisePasswordValidatorErrorOccurredOnPrem,
  ],
  confidentialityRequired: [
    Codes.PasswordChangeADAdminActionRequired,
    Codes.OnPremisePasswordValidatorErrorOccurredOnPrem,
  ],
  serviceBindFailed: [
    Codes.PasswordChangeADAdminActionRequired,
    Codes.OnPremisePasswordValidatorErrorOccurredOnPrem,
  ],
  passwordChangeRefused: [
    Codes.PasswordChangeADAdminActionRequired,
    Codes.OnPremisePasswordValidatorErrorOccurredOnPrem,
  ],
  tlsFailure: [
    Codes.PasswordChangeADAdminActionRequired,
    Codes.OnPremisePasswordValidatorErrorOccurredOnPrem,
  ],
  unreachable: [Codes.PasswordChangeOnPremisesConnectivityFailure, Codes.OnPremiseStoreIsNotAvailable],
  timeout: [
    Codes.PasswordChangeOnPremisesConnectivityFailure,
    Codes.OnPremisePasswordValidatorRequestTimedout,
  ],
  serverBusy: [Codes.PasswordChangeOnPremisesConnectivityFailure, Codes.OnPremiseStoreIsNotAvailable],
  unexpected: [Codes.PasswordChangeFailure, Codes.OnPremisePasswordValidatorErrorOccurredOnPrem],
};

describe('mapDirectoryFailure', () => {
  it.each(Object.entries(expected))(
    'maps %s for writeback and for sign-in',
    (reason, [writeback, signIn]) => {
      const asWrite = mapDirectoryFailure('writeback', reason as DirectoryFailureReason);
      const asSignIn = mapDirectoryFailure('signIn', reason as DirectoryFailureReason);
      expect([asWrite.code, asSignIn.code]).toEqual([writeback, signIn]);
      expect(asWrite.retryable).toBe(getCatalogEntry(asWrite.code).retryable);
      expect(asSignIn.retryable).toBe(getCatalogEntry(asSignIn.code).retryable);
    },
  );

  it('makes connectivity retryable and everything the directory decided final', () => {
    for (const reason of ['unreachable', 'timeout', 'serverBusy'] as const) {
      expect(mapDirectoryFailure('writeback', reason).retryable).toBe(true);
      expect(mapDirectoryFailure('signIn', reason).retryable).toBe(true);
    }
    for (const reason of [
      'invalidCredentials',
      'passwordPolicy',
      'accountLocked',
      'entryNotFound',
      'insufficientAccess',
    ] as const) {
      expect(mapDirectoryFailure('writeback', reason).retryable).toBe(false);
    }
  });

  it('keeps the precise ppolicy reason in the error details', () => {
    const failure = mapDirectoryFailure('writeback', 'passwordPolicy', {
      ldapResultCode: 19,
      ppolicy: { error: 'passwordInHistory' },
      diagnostic: 'Password is in history of old passwords',
    });
    const error = directoryFailureToError(failure);
    expect(error.code).toBe(Codes.PasswordChangeOnPremComplexity);
    expect(error.details).toEqual({
      onPremisesReason: 'passwordPolicy',
      onPremisesPolicyError: 'passwordInHistory',
      ldapResultCode: 19,
    });
  });
});

describe('classifyLdapError', () => {
  it('reads the ppolicy error before the result code', () => {
    expect(
      classifyLdapError(new InvalidCredentialsError(''), 'userBind', { error: 'accountLocked' }).reason,
    ).toBe('accountLocked');
    expect(classifyLdapError(new InvalidCredentialsError(''), 'userBind', undefined).reason).toBe(
      'invalidCredentials',
    );
    expect(classifyLdapError(new InvalidCredentialsError(''), 'serviceBind', undefined).reason).toBe(
      'serviceBindFailed',
    );
    expect(
      classifyLdapError(new ConstraintViolationError('Password is not being changed'), 'passwordModify', {
        error: 'mustSupplyOldPassword',
      }),
    ).toEqual({
      reason: 'passwordChangeRefused',
      ldapResultCode: 19,
      diagnostic: 'Password is not being changed',
    });
  });

  it('tells network failures, timeouts and a busy server apart', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classifyLdapError(refused, 'connect', undefined).reason).toBe('unreachable');
    expect(classifyLdapError(new LdapConnectTimeoutError(5), 'connect', undefined).reason).toBe('timeout');
    expect(
      classifyLdapError(new Error('BindRequest: Operation timed out'), 'userBind', undefined).reason,
    ).toBe('timeout');
    expect(classifyLdapError(new UnavailableError('shutting down'), 'serviceBind', undefined).reason).toBe(
      'serverBusy',
    );
    const untrusted = Object.assign(new Error('self-signed certificate'), {
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(classifyLdapError(untrusted, 'connect', undefined).reason).toBe('tlsFailure');
    expect(classifyLdapError(new TypeError('a bug'), 'search', undefined).reason).toBe('unexpected');
  });
});
