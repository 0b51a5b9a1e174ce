/**
 * The error catalog: the single source of truth for every code Rekey emits.
 *
 * Numbers that Entra ID also uses (the AADSTS numbers) keep Entra's meaning, so scripts written
 * against Entra branch the same way here. Codes that are Rekey's own live in the 7700000-7799999
 * range, which Entra does not use. Messages and remediation steps are Rekey's own words.
 */

/** The `error` values of the OAuth 2.0 token endpoint (RFC 6749 §5.2 plus Entra's extras). */
export type OAuthErrorKind =
  | 'invalid_request'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'invalid_resource'
  | 'interaction_required'
  | 'login_required'
  | 'unsupported_response_type'
  | 'temporarily_unavailable'
  | 'server_error';

/** Broad families, used by the troubleshooter and the `/error` page to group codes. */
export type ErrorCategory =
  | 'request'
  | 'authentication'
  | 'authorization'
  | 'account'
  | 'passwordPolicy'
  | 'passwordChange'
  | 'onPremises'
  | 'directory'
  | 'service';

export interface CatalogEntry {
  readonly code: number;
  /** Entra's name for the code where Entra has one, otherwise Rekey's own, in the same style. */
  readonly name: string;
  readonly message: string;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly category: ErrorCategory;
  /** The OAuth `error` value used when the token endpoint returns this code. */
  readonly oauthError: OAuthErrorKind;
  /**
   * The OAuth `suberror` the token endpoint adds to this answer. `bad_token` is the value MSAL
   * (`@azure/msal-common`, InteractionRequiredAuthSubErrorMessage) takes to mean the refresh token
   * is dead: it raises InteractionRequiredAuthError, so the app signs the user in again, and drops
   * the token from its cache.
   */
  readonly oauthSuberror?: 'bad_token';
  /** The Graph-style `error.code` string used by `/v1.0` and `/rekey/v1`. */
  readonly graphCode: string;
  /** What to do about it, in order; shown by `rekey errors`, `/error` and the troubleshooter. */
  readonly remediation: readonly string[];
  /** True where the number is Entra's own AADSTS number with the same meaning. */
  readonly isEntraCode: boolean;
}

/** An entry as written below: its code is the key, and whether it is Entra's follows from the number. */
type EntryInput = Omit<CatalogEntry, 'code' | 'isEntraCode'>;

const entries = {
  // --- Sign-in -------------------------------------------------------------------------------
  50034: {
    name: 'UserAccountNotFound',
    message: 'The user name or password is incorrect.',
    httpStatus: 400,
    retryable: false,
    category: 'authentication',
    oauthError: 'invalid_grant',
    graphCode: 'InvalidAuthenticationToken',
    remediation: [
      'Check the spelling of the user name, including the domain after the @.',
      'An administrator can confirm the account exists with `rekey users get <upn>`; a deleted account can be restored for 30 days.',
    ],
  },
  50053: {
    name: 'IdsLocked',
    message: 'The account is temporarily locked after too many failed sign-in attempts.',
    httpStatus: 400,
    retryable: true,
    category: 'account',
    oauthError: 'invalid_grant',
    graphCode: 'accountLocked',
    remediation: [
      'Wait for the lockout to end and try again with the right password.',
      'If the password is forgotten, ask an administrator to reset it (`rekey users set-password <upn>`): the reset also ends the lockout.',
      'An administrator can end the lock at once with `rekey users unlock <upn>` (or POST /rekey/v1/users/{id}/unlock).',
    ],
  },
  50055: {
    name: 'InvalidPasswordExpiredPassword',
    message: 'The password has expired or must be changed before the account can be used.',
    httpStatus: 400,
    retryable: false,
    category: 'account',
    oauthError: 'invalid_grant',
    graphCode: 'passwordExpired',
    remediation: [
      'Change the password with the current one at POST /{tenant}/password/change.',
      'If the current password is unknown, ask an administrator for a reset.',
    ],
  },
  50057: {
    name: 'UserDisabled',
    message: 'The account is disabled.',
    httpStatus: 400,
    retryable: false,
    category: 'account',
    oauthError: 'invalid_grant',
    graphCode: 'accountDisabled',
    remediation: ['An administrator can enable the account with `rekey users enable <upn>`.'],
  },
  50126: {
    name: 'InvalidUserNameOrPassword',
    message: 'The user name or password is incorrect.',
    httpStatus: 400,
    retryable: false,
    category: 'authentication',
    oauthError: 'invalid_grant',
    graphCode: 'InvalidAuthenticationToken',
    remediation: [
      'Try again with the right password; Caps Lock and keyboard layout are common causes.',
      'If the password is forgotten, ask an administrator to reset it (`rekey users set-password <upn>`).',
    ],
  },
  50133: {
    name: 'SsoArtifactRevoked',
    message: 'The session is no longer valid because the password was changed or sessions were revoked.',
    httpStatus: 401,
    retryable: false,
    category: 'authentication',
    oauthError: 'interaction_required',
    graphCode: 'InvalidAuthenticationToken',
    remediation: ['Sign in again with the current password.'],
  },
  50173: {
    name: 'FreshTokenNeeded',
    message: 'The refresh token was revoked or has expired; a new sign-in is needed.',
    httpStatus: 400,
    retryable: false,
    category: 'authentication',
    oauthError: 'invalid_grant',
    oauthSuberror: 'bad_token',
    graphCode: 'InvalidAuthenticationToken',
    remediation: ['Sign in again with the user name and password.'],
  },
  700016: {
    name: 'UnauthorizedClient_DoesNotMatchRequest',
    message: 'The client_id is not an application registered in this tenant.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'unauthorized_client',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Use the id of a registered application; the built-in ones are listed in the README (Rekey CLI, Rekey portal).',
    ],
  },
  90002: {
    name: 'InvalidTenantName',
    message: 'No tenant matches the tenant named in the request path.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['Use the tenant id, one of its verified domains, or `organizations` in the path.'],
  },
  900144: {
    name: 'InvalidRequestParameter',
    message: 'A required request parameter is missing or has an invalid value.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['Check the parameter named in the error details against the README.'],
  },
  70000: {
    name: 'InvalidGrant',
    message: 'The grant is invalid or malformed.',
    httpStatus: 400,
    retryable: false,
    category: 'authentication',
    oauthError: 'invalid_grant',
    graphCode: 'InvalidAuthenticationToken',
    remediation: ['Sign in again to obtain a new refresh token.'],
  },
  70003: {
    name: 'UnsupportedGrantType',
    message: 'The grant_type is not supported; use password or refresh_token.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'unsupported_grant_type',
    graphCode: 'Request_BadRequest',
    remediation: ['Send grant_type=password or grant_type=refresh_token.'],
  },
  // --- Browser sign-in: the authorize endpoint and the authorization-code grant -----------------
  50011: {
    name: 'InvalidReplyTo',
    message: 'The redirect_uri is not one registered for the application.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Send a redirect_uri registered for the client_id, exactly as registered; an administrator lists and adds them with GET and PATCH /v1.0/applications/{appId}.',
    ],
  },
  50058: {
    name: 'UserInformationNotProvided',
    message:
      'No one is signed in to Rekey in this browser, and the request asked not to show a sign-in page.',
    httpStatus: 400,
    retryable: false,
    category: 'authentication',
    oauthError: 'login_required',
    graphCode: 'InvalidAuthenticationToken',
    remediation: ['Send the authorize request again without prompt=none, so the user can sign in.'],
  },
  54005: {
    name: 'AuthorizationCodeAlreadyRedeemed',
    message: 'The authorization code was already redeemed; the tokens issued for it were revoked.',
    httpStatus: 400,
    retryable: false,
    category: 'authentication',
    oauthError: 'invalid_grant',
    graphCode: 'InvalidAuthenticationToken',
    remediation: ['Start a new sign-in: an authorization code is redeemed once.'],
  },
  70008: {
    name: 'ExpiredOrRevokedGrant',
    message: 'The authorization code has expired or its sign-in session ended.',
    httpStatus: 400,
    retryable: false,
    category: 'authentication',
    oauthError: 'invalid_grant',
    graphCode: 'InvalidAuthenticationToken',
    remediation: ['Start a new sign-in and redeem the code it returns at once (a code lives 60 seconds).'],
  },
  501481: {
    name: 'InvalidCodeVerifier',
    message: 'The code_verifier does not match the code_challenge of the authorize request.',
    httpStatus: 400,
    retryable: false,
    category: 'authentication',
    oauthError: 'invalid_grant',
    graphCode: 'InvalidAuthenticationToken',
    remediation: [
      'Send the code_verifier the client generated for this sign-in: its S256 hash is the code_challenge it sent to the authorize endpoint.',
    ],
  },
  // --- Pass-through sign-in to an on-premises directory ------------------------------------------
  50144: {
    name: 'InvalidPasswordExpiredOnPremPassword',
    message:
      "The user's password has expired in the on-premises directory, or must be changed there before use.",
    httpStatus: 400,
    retryable: false,
    category: 'onPremises',
    oauthError: 'invalid_grant',
    graphCode: 'passwordExpired',
    remediation: [
      'Change the password with the current one at POST /{tenant}/password/change; for an account kept in an on-premises directory, the change is written there too when writeback is on.',
      'If the current password is unknown, ask an administrator for a reset (`rekey users set-password <upn>`).',
    ],
  },
  80001: {
    name: 'OnPremiseStoreIsNotAvailable',
    message: 'The on-premises directory that checks this password could not be reached.',
    httpStatus: 503,
    retryable: true,
    category: 'onPremises',
    oauthError: 'temporarily_unavailable',
    graphCode: 'serviceNotAvailable',
    remediation: [
      'Try again in a few minutes.',
      "An administrator can check that the directory server is running and that Rekey can reach the connector's address and port.",
    ],
  },
  80002: {
    name: 'OnPremisePasswordValidatorRequestTimedout',
    message: 'The on-premises directory that checks this password did not answer in time.',
    httpStatus: 503,
    retryable: true,
    category: 'onPremises',
    oauthError: 'temporarily_unavailable',
    graphCode: 'serviceNotAvailable',
    remediation: [
      'Try again in a few minutes.',
      "An administrator can check the directory server's load and the connector's timeouts.",
    ],
  },
  80007: {
    name: 'OnPremisePasswordValidatorErrorOccurredOnPrem',
    message:
      "The on-premises directory could not check the password because of its own or the connector's configuration.",
    httpStatus: 500,
    retryable: false,
    category: 'onPremises',
    oauthError: 'server_error',
    graphCode: 'generalException',
    remediation: [
      "An administrator can compare the connector's address, TLS settings and certificate, and service account with the directory's configuration.",
      'The connector trace of the correlation ID gives the LDAP result code the directory answered.',
    ],
  },
  80012: {
    name: 'OnPremisePasswordValidationAccountLogonInvalidHours',
    message: 'The on-premises directory does not let this account sign in at this time of day.',
    httpStatus: 400,
    retryable: false,
    category: 'onPremises',
    oauthError: 'invalid_grant',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Sign in during the hours the account is allowed to, or ask an administrator to widen its logon hours in the on-premises directory.',
    ],
  },
  // --- Password change family ------------------------------------------------------------------
  120000: {
    name: 'PasswordChangeIncorrectCurrentPassword',
    message: 'The current password given is not correct.',
    httpStatus: 400,
    retryable: false,
    category: 'passwordChange',
    oauthError: 'invalid_grant',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Type the current password again; if it is forgotten, ask an administrator to reset it (`rekey users set-password <upn>`).',
    ],
  },
  120002: {
    name: 'PasswordChangeInvalidNewPasswordWeak',
    message: 'The new password does not meet the password policy.',
    httpStatus: 400,
    retryable: false,
    category: 'passwordPolicy',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Read `details.failures`: it names every rule the password failed (length, characterCategories, unsupportedCharacters, breached, history, minimumAge) and what each one asks for.',
      'Choose a longer password of several unrelated words, using only the letters A-Z, digits, spaces and ASCII symbols, that is in no list of breached passwords and is none of your recent passwords.',
      'If the message says the password is too recent to change (minimumAge), wait until the date it gives or ask an administrator for a reset.',
      'An administrator can dry-run a password with POST /rekey/v1/passwordPolicy/evaluate or `rekey policy test`, and read the rules with `rekey policy show`.',
    ],
  },
  120003: {
    name: 'PasswordChangeInvalidNewPasswordContainsMemberName',
    message: "The new password contains part of the user's name or sign-in name.",
    httpStatus: 400,
    retryable: false,
    category: 'passwordPolicy',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Choose a password that does not contain your name or the part of your sign-in name before the @.',
    ],
  },
  120004: {
    name: 'PasswordChangeOnPremComplexity',
    message: 'The on-premises directory rejected the new password under its own policy.',
    httpStatus: 400,
    retryable: false,
    category: 'onPremises',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Choose a password that also meets the on-premises policy (length, complexity, history, minimum age).',
    ],
  },
  120005: {
    name: 'PasswordChangeOnPremSuccessCloudFail',
    message:
      'The password was changed on-premises but is not yet committed in the cloud directory; Rekey is finishing it.',
    httpStatus: 503,
    retryable: true,
    category: 'passwordChange',
    oauthError: 'temporarily_unavailable',
    graphCode: 'serviceNotAvailable',
    remediation: ['Wait a few minutes; the operation is retried until it completes.'],
  },
  120008: {
    name: 'PasswordChangeAsyncJobStateTerminated',
    message: 'The password operation ended with an error that retrying will not fix.',
    httpStatus: 400,
    retryable: false,
    category: 'passwordChange',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      "Read the operation's statusDetail (GET the operation's Location): it names the underlying cause code.",
      'Look that code up with `rekey errors <code>` or /error?code=<code> and follow its steps.',
    ],
  },
  120012: {
    name: 'PasswordChangeNeedsToHappenOnPrem',
    message:
      "This user's password is managed by an on-premises or federated directory and must be changed there.",
    httpStatus: 400,
    retryable: false,
    category: 'onPremises',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      "Change the password where the account's password lives: for a user of a federated domain, on the federation's password page the message names (its passwordResetUri, or its sign-in page).",
      'An administrator can instead sync the user from a directory connector that writes passwords back, or make the domain managed again (DELETE /v1.0/domains/{domain}/federationConfiguration/{id}).',
    ],
  },
  120013: {
    name: 'PasswordChangeOnPremisesConnectivityFailure',
    message: 'The on-premises directory could not be reached.',
    httpStatus: 503,
    retryable: true,
    category: 'onPremises',
    oauthError: 'temporarily_unavailable',
    graphCode: 'serviceNotAvailable',
    remediation: ['Try again later.', "An administrator can check the connector's health and reachability."],
  },
  120014: {
    name: 'PasswordChangeOnPremUserAccountLockedOutOrDisabled',
    message: 'The on-premises account is locked out or disabled.',
    httpStatus: 400,
    retryable: false,
    category: 'onPremises',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['An administrator must unlock or enable the account in the on-premises directory.'],
  },
  120015: {
    name: 'PasswordChangeADAdminActionRequired',
    message:
      "The on-premises directory refused the password write because of its configuration or the connector's rights.",
    httpStatus: 400,
    retryable: false,
    category: 'onPremises',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      "An administrator must give the connector's service account the right to reset passwords, check its bind password, and use TLS (ldaps:// or StartTLS) if the directory requires it.",
      'The connector trace of the correlation ID gives the LDAP result code the directory answered.',
    ],
  },
  120016: {
    name: 'PasswordChangeUserNotFoundBySspr',
    message: "The user's entry was not found in the on-premises directory.",
    httpStatus: 400,
    retryable: false,
    category: 'onPremises',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'The account was moved, renamed or deleted on-premises; an administrator should sync the connector again so Rekey learns its new place.',
    ],
  },
  120018: {
    name: 'PasswordChangePasswordDoesnotComplyFuzzyPolicy',
    message: 'The new password is too easy to guess: it is built from banned words or names.',
    httpStatus: 400,
    retryable: false,
    category: 'passwordPolicy',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Common words, banned terms, your name and the organisation name count 1 point each however long they are, every other character 1 point; a password needs 5 points. `details.passwordProtection` gives the score and the terms found.',
      'Add unrelated words or characters, or choose a password that is not built around a common word, a name or the organisation name; look-alike spellings (P@ssw0rd) are read as the word.',
    ],
  },
  120020: {
    name: 'PasswordChangeFailure',
    message: 'The password could not be changed because of an unexpected error.',
    httpStatus: 500,
    retryable: true,
    category: 'passwordChange',
    oauthError: 'server_error',
    graphCode: 'generalException',
    remediation: ['Try again. If it keeps failing, collect the correlation ID and create a support bundle.'],
  },
  // --- Rekey's own codes: requests ---------------------------------------------------------------
  7700001: {
    name: 'RequestValidationFailed',
    message: 'The request body or parameters are invalid.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['Correct the fields named in the error details and send the request again.'],
  },
  7700002: {
    name: 'MalformedJson',
    message: 'The request body is not valid JSON.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['Send a well-formed JSON document.'],
  },
  7700003: {
    name: 'UnsupportedMediaType',
    message: 'The request content type is not supported by this endpoint.',
    httpStatus: 415,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Send application/json to the Graph and Rekey APIs, and application/x-www-form-urlencoded to the token endpoint.',
    ],
  },
  7700004: {
    name: 'PayloadTooLarge',
    message: 'The request body is larger than this endpoint accepts.',
    httpStatus: 413,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['Send a smaller body.'],
  },
  7700005: {
    name: 'RouteNotFound',
    message: 'No resource exists at this path.',
    httpStatus: 404,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_ResourceNotFound',
    remediation: ['Check the path and method against the README.'],
  },
  7700006: {
    name: 'MethodNotAllowed',
    message: 'This method is not allowed on this resource.',
    httpStatus: 405,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['Check the method against the README.'],
  },
  7700007: {
    name: 'InvalidQueryOption',
    message: 'An OData query option is malformed or not supported on this resource.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_UnsupportedQuery',
    remediation: ['Use only the properties and operators listed in the error details.'],
  },
  7700008: {
    name: 'ResourceNotFound',
    message: 'The requested object does not exist.',
    httpStatus: 404,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_ResourceNotFound',
    remediation: [
      'Check the id or user principal name; deleted users are listed by `rekey users list --deleted` (GET /v1.0/directory/deletedItems/microsoft.graph.user).',
    ],
  },
  7700009: {
    name: 'InvalidUserPrincipalName',
    message: 'The user principal name is not valid.',
    httpStatus: 400,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Use alias@domain with a verified domain, at most 64 characters before the @ and 48 after it.',
      "The alias may contain letters, digits and . - _ ! # ^ ~ '.",
    ],
  },
  7700010: {
    name: 'ObjectConflict',
    message: 'Another object already uses this value.',
    httpStatus: 409,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Choose a different user principal name or domain name.',
      'For a role assignment: the user already holds the role, and the error details name the existing assignment.',
    ],
  },
  7700012: {
    name: 'ConfirmationRequired',
    message: 'The change was not applied: it affects every user and needs to be confirmed first.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Run the command in a terminal to review the preview and answer the prompt.',
      'In a script, review the preview first (the command shows it), then run it again with --yes.',
    ],
  },
  7700013: {
    name: 'SettingsUpdateConflict',
    message: 'The settings kept changing while this update was being applied; it was not applied.',
    httpStatus: 409,
    retryable: true,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Send the update again: it is applied to the settings as they are then.',
      'If it keeps happening, find who else is changing the settings in the audit log (category Policy).',
    ],
  },
  7700014: {
    name: 'IdempotencyKeyReused',
    message:
      'This Idempotency-Key was already used for a different request; the new request was not applied.',
    httpStatus: 422,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Use a new Idempotency-Key for each new request; repeat a key only to send the very same request again.',
      'To follow the earlier request, read its operation at the Location its first answer gave.',
    ],
  },
  // --- Rekey's own codes: authorization ----------------------------------------------------------
  7700101: {
    name: 'AuthenticationRequired',
    message: 'A valid bearer access token is required.',
    httpStatus: 401,
    retryable: false,
    category: 'authorization',
    oauthError: 'invalid_request',
    graphCode: 'InvalidAuthenticationToken',
    remediation: [
      'Sign in at the token endpoint and send the access token as `Authorization: Bearer <token>`.',
    ],
  },
  7700102: {
    name: 'InvalidAccessToken',
    message: 'The access token is malformed, expired or was not issued by this Rekey.',
    httpStatus: 401,
    retryable: false,
    category: 'authorization',
    oauthError: 'invalid_request',
    graphCode: 'InvalidAuthenticationToken',
    remediation: ['Sign in again to obtain a fresh access token.'],
  },
  7700103: {
    name: 'InsufficientPrivileges',
    message: 'The signed-in user does not hold a role that allows this operation.',
    httpStatus: 403,
    retryable: false,
    category: 'authorization',
    oauthError: 'unauthorized_client',
    graphCode: 'Authorization_RequestDenied',
    remediation: [
      'Sign in as a Global Administrator, Privileged Authentication Administrator or Authentication Administrator.',
    ],
  },
  7700104: {
    name: 'CannotResetOwnPassword',
    message: 'Administrators cannot reset their own password this way.',
    httpStatus: 403,
    retryable: false,
    category: 'authorization',
    oauthError: 'unauthorized_client',
    graphCode: 'Authorization_RequestDenied',
    remediation: ['Use /v1.0/me/changePassword, or ask another administrator to reset it.'],
  },
  7700105: {
    name: 'DeletedAccount',
    message: 'The operation is not allowed on a deleted user.',
    httpStatus: 400,
    retryable: false,
    category: 'account',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Restore the user first: `rekey users restore <user>` (POST /v1.0/directory/deletedItems/{id}/restore).',
    ],
  },
  7700106: {
    name: 'LastGlobalAdministrator',
    message: 'The last enabled Global Administrator cannot be disabled or deleted.',
    httpStatus: 400,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['Make another user a Global Administrator first.'],
  },
  7700107: {
    name: 'CannotDeleteOwnAccount',
    message: 'Administrators cannot delete the account they are signed in with.',
    httpStatus: 403,
    retryable: false,
    category: 'authorization',
    oauthError: 'unauthorized_client',
    graphCode: 'Authorization_RequestDenied',
    remediation: ['Ask another administrator to delete the account.'],
  },
  // --- Rekey's own codes: service ----------------------------------------------------------------
  7700201: {
    name: 'InternalError',
    message: 'An unexpected error occurred. The details are in the server log under this request ID.',
    httpStatus: 500,
    retryable: true,
    category: 'service',
    oauthError: 'server_error',
    graphCode: 'generalException',
    remediation: ['Try again. If it keeps failing, send the request ID to your administrator.'],
  },
  7700202: {
    name: 'DatabaseUnavailable',
    message: 'The database is not reachable or its schema is not up to date.',
    httpStatus: 503,
    retryable: true,
    category: 'service',
    oauthError: 'temporarily_unavailable',
    graphCode: 'serviceNotAvailable',
    remediation: [
      'Check that REKEY_DATABASE_URL names the database `rekey serve` uses and that its server is running; the message names the database tried and the reason.',
      'If the message says the schema is older than this version of Rekey, run `rekey migrate`.',
    ],
  },
  7700203: {
    name: 'InvalidConfiguration',
    message: 'Rekey cannot start because its configuration is invalid.',
    httpStatus: 500,
    retryable: false,
    category: 'service',
    oauthError: 'server_error',
    graphCode: 'generalException',
    remediation: [
      'Correct the settings listed when the process stopped; every REKEY_* variable is described in the README.',
    ],
  },
  7700204: {
    name: 'SecretKeyMismatch',
    message:
      'Rekey cannot start: the secret key does not open the secrets this database holds (its token signing key).',
    httpStatus: 500,
    retryable: false,
    category: 'service',
    oauthError: 'server_error',
    graphCode: 'generalException',
    remediation: [
      'Set REKEY_SECRET_KEY to the key this database was created with (or unset it to use <data dir>/secret.key, if that is the one).',
      'Check that REKEY_DATABASE_URL and REKEY_DATA_DIR name the database and data directory that belong together.',
    ],
  },
  // --- Rekey's own codes: breached-password data ---------------------------------------------------
  7700401: {
    name: 'InvalidBreachedPasswordList',
    message: 'The breached-password list is not in the SHA-1 `HASH:count` format, one entry per line.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Check the line named in the error: 40 hexadecimal digits, a colon, then a whole number (the SHA-1 download of Pwned Passwords has this shape).',
      'Run the import again with --skip-invalid to count and skip such lines instead of stopping.',
    ],
  },
  7700402: {
    name: 'InvalidBreachedPasswordFilter',
    message: 'A breached-password filter file is missing, damaged or not a Rekey filter.',
    httpStatus: 500,
    retryable: false,
    category: 'service',
    oauthError: 'server_error',
    graphCode: 'generalException',
    remediation: [
      'Build the file again with `rekey breached import <list>`, or delete the imported file to use only the set shipped with Rekey.',
      'A damaged shipped set means the installation itself is damaged: reinstall Rekey.',
    ],
  },
  7700403: {
    name: 'InvalidBreachedPasswordIndex',
    message:
      'The exact index of the breached-password list is missing or damaged, so Rekey cannot confirm whether a password is in the list.',
    httpStatus: 500,
    retryable: false,
    category: 'service',
    oauthError: 'server_error',
    graphCode: 'generalException',
    remediation: [
      'Run `rekey breached import <list>` again: it writes the filter and its index together.',
      'A damaged index of the shipped set means the installation itself is damaged: reinstall Rekey.',
    ],
  },
  // --- Rekey's own codes: smart lockout --------------------------------------------------------------
  7700501: {
    name: 'PasswordChangeAccountLocked',
    message: 'The password cannot be changed now: too many wrong passwords locked the account for a while.',
    httpStatus: 400,
    retryable: true,
    category: 'account',
    oauthError: 'invalid_grant',
    graphCode: 'accountLocked',
    remediation: [
      'Wait for the lockout to end, then try again with the right current password.',
      'If the current password is forgotten, ask an administrator to reset it (`rekey users set-password <upn>`).',
      'An administrator can see the lock on the user (`rekey users get <upn>`) and end it with `rekey users unlock <upn>`.',
    ],
  },
  7700502: {
    name: 'LockoutStateContention',
    message:
      'Too many password attempts for this account arrived at the same moment; this one was not judged.',
    httpStatus: 503,
    retryable: true,
    category: 'service',
    oauthError: 'temporarily_unavailable',
    graphCode: 'serviceNotAvailable',
    remediation: [
      'Try again in a few seconds.',
      'If it keeps happening, someone is sending many passwords at this account at once: look for its failed sign-ins in the sign-in log.',
    ],
  },
  // --- Rekey's own codes: throttling -----------------------------------------------------------------
  7700701: {
    name: 'RequestThrottled',
    message:
      'Too many requests from this address or for this account in a short time; this one was not processed.',
    httpStatus: 429,
    retryable: true,
    category: 'service',
    oauthError: 'temporarily_unavailable',
    graphCode: 'activityLimitReached',
    remediation: [
      'Wait the number of seconds the Retry-After header gives, then try again.',
      'If it keeps happening, someone may be sending many requests for this account or from this network: an administrator can look for code 7700701 in the sign-in log.',
    ],
  },
  7700702: {
    name: 'PasswordCheckBusy',
    message:
      'Rekey is checking too many passwords at once; this request was turned away without checking it.',
    httpStatus: 503,
    retryable: true,
    category: 'service',
    oauthError: 'temporarily_unavailable',
    graphCode: 'serviceNotAvailable',
    remediation: [
      'Try again in the number of seconds the Retry-After header gives; the attempt did not count as a wrong password.',
      'If it keeps happening, the server is under a flood of sign-ins: an administrator can look for code 7700702 in the sign-in log and raise REKEY_HASH_QUEUE_MAX only if the machine has cores to spare.',
    ],
  },
  // --- Rekey's own codes: sign-in and audit logs -----------------------------------------------------
  7700601: {
    name: 'InvalidLogTimeRange',
    message: 'The time range is not a duration such as 7d, 24h or 30m, or an ISO 8601 date-time.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Give --since as a number followed by d, h or m (7d, 24h, 30m), or as a date-time such as 2026-11-01T00:00:00Z.',
    ],
  },
  // --- Rekey's own codes: directory connectors -------------------------------------------------------
  7700801: {
    name: 'DirectoryClientUnavailable',
    message:
      'This Rekey cannot reach directories yet: no directory client is installed to test or synchronize connectors.',
    httpStatus: 501,
    retryable: false,
    category: 'onPremises',
    oauthError: 'server_error',
    graphCode: 'notSupported',
    remediation: [
      'The connector itself is saved: `rekey connectors show <connector>` (or GET /rekey/v1/connectors) reads it, and it can still be changed and removed.',
      'Testing and synchronizing a connector need a Rekey built with its LDAP client; run that version against the same database.',
    ],
  },
  /** A PATCH of a synced user touched a property the on-premises directory owns. */
  7700802: {
    name: 'OnPremisesMasteredProperty',
    message:
      'These properties of a synced user are owned by the on-premises directory and cannot be changed in Rekey.',
    httpStatus: 400,
    retryable: false,
    category: 'onPremises',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Change these properties in the on-premises directory; the next sync of its connector (`rekey sync <connector>`) brings them into Rekey.',
      'The other properties (jobTitle, usageLocation, passwordPolicies, the force-change flags) and the password can still be changed in Rekey: send them without the directory-owned ones.',
    ],
  },
  // --- Rekey's own codes: password operations ---------------------------------------------------
  7700901: {
    name: 'PasswordOperationInProgress',
    message:
      'Another password change for this user is in progress or committed while this one was checked; this one was not applied.',
    httpStatus: 409,
    retryable: true,
    category: 'passwordChange',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      "Wait for the other change to end (`rekey operations list --user <upn>` shows the user's operations), then try again with the password that is current then.",
      'If no one else changed the password, look for the other change in the directory audit log (GET /v1.0/auditLogs/directoryAudits).',
    ],
  },
  7700902: {
    name: 'PasswordOperationStillRunning',
    message:
      'The password operation has not finished yet. It goes on; its status is at the Location this answer gives.',
    httpStatus: 503,
    retryable: true,
    category: 'passwordChange',
    oauthError: 'temporarily_unavailable',
    graphCode: 'serviceNotAvailable',
    remediation: [
      'Read the operation at the Location header after the Retry-After seconds; do not send the change again.',
      'An administrator can follow it with `rekey operations show <id>`: its history names each step and any retryable failure.',
    ],
  },
  // --- Rekey's own codes: licences ---------------------------------------------------------------
  /** assignLicense named a SKU the tenant does not subscribe to. */
  7701001: {
    name: 'LicenseSkuNotSubscribed',
    message: 'The tenant has no subscription to this SKU, so it cannot be assigned.',
    httpStatus: 400,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      "Use a skuId that GET /v1.0/subscribedSkus lists (the CLI's licences subscriptions command shows them too); the error details list the tenant's SKUs.",
      'To subscribe the tenant to the SKU, a Global Administrator runs `rekey licenses subscriptions set <skuPartNumber> --units <n>` (PUT /rekey/v1/subscribedSkus/{sku}).',
    ],
  },
  /** assignLicense would use more units than the subscription has. */
  7701002: {
    name: 'LicenseUnitsExhausted',
    message: 'Every unit of this subscription is assigned: there is none left for this user.',
    httpStatus: 400,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Remove the licence from a user who no longer needs it (`rekey licenses remove <upn> <sku>`), or add units to the subscription (`rekey licenses subscriptions set <sku> --units <n>`).',
      'The error details give the units enabled and assigned.',
    ],
  },
  /** assignLicense named a SKU whose subscription is suspended or locked out. */
  7701003: {
    name: 'LicenseSubscriptionNotActive',
    message: 'The subscription to this SKU is suspended or locked out: its licences cannot be assigned.',
    httpStatus: 400,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'A Global Administrator makes the subscription active again with `rekey licenses subscriptions set <sku> --status Enabled`.',
    ],
  },
  /** A disabledPlans entry is not a service plan of the SKU. */
  7701004: {
    name: 'LicenseServicePlanNotInSku',
    message: 'A service plan named in disabledPlans is not part of the SKU.',
    httpStatus: 400,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      "Name only servicePlanIds that GET /v1.0/subscribedSkus lists under the SKU's servicePlans; the error details list them.",
    ],
  },
  /** removeLicenses named a SKU the user does not hold. */
  7701005: {
    name: 'LicenseNotAssigned',
    message: 'The user does not hold a licence of this SKU, so it cannot be removed.',
    httpStatus: 400,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      "Read the user's licences with `rekey licenses list --user <upn>` (or $select=assignedLicenses) and remove only those.",
    ],
  },
  /** A self-service (forgotten-password) reset of a user whose licences do not include it. */
  7701006: {
    name: 'UserNotLicensedForSelfServiceReset',
    message: "The user's licences do not include self-service password reset.",
    httpStatus: 403,
    retryable: false,
    category: 'authorization',
    oauthError: 'unauthorized_client',
    graphCode: 'Authorization_RequestDenied',
    remediation: [
      'An administrator assigns the user a licence whose AAD_PREMIUM service plan is on, such as AAD_PREMIUM (Entra ID P1) or AAD_PREMIUM_P2: `rekey licenses assign <upn> AAD_PREMIUM`.',
      'Meanwhile an administrator can reset the password (`rekey users set-password <upn>`); a user who knows the current password can still change it.',
    ],
  },
  /** A change or reset of a synced user whose password is written back, without a licence that includes writeback. */
  7701007: {
    name: 'UserNotLicensedForPasswordWriteback',
    message:
      "The user's password lives in an on-premises directory, and the user's licences do not include password writeback to it.",
    httpStatus: 403,
    retryable: false,
    category: 'authorization',
    oauthError: 'unauthorized_client',
    graphCode: 'Authorization_RequestDenied',
    remediation: [
      'An administrator assigns the user a licence that includes password writeback, such as AAD_PREMIUM (Entra ID P1) or AAD_PREMIUM_P2, with its AAD_PREMIUM service plan on: `rekey licenses assign <upn> AAD_PREMIUM`.',
      'Meanwhile the password can be changed in the on-premises directory itself.',
    ],
  },
  // --- Rekey's own codes: federation --------------------------------------------------------------
  /** POST federationConfiguration on a domain that already has one. */
  7701101: {
    name: 'FederationAlreadyConfigured',
    message: 'The domain is already federated; a domain has one federation configuration.',
    httpStatus: 409,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Change the existing configuration with PATCH /v1.0/domains/{domain}/federationConfiguration/{id} (GET .../federationConfiguration gives its id).',
    ],
  },
  /** The tenant's initial domain cannot be federated. */
  7701102: {
    name: 'InitialDomainCannotBeFederated',
    message: "The tenant's initial domain stays managed and cannot be federated.",
    httpStatus: 400,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Add the domain to federate with POST /v1.0/domains, then federate that domain; administrators keep signing in with the initial domain.',
    ],
  },
  /** Another federated domain already uses this issuerUri. */
  7701103: {
    name: 'FederationIssuerInUse',
    message: 'Another federated domain already uses this issuerUri.',
    httpStatus: 409,
    retryable: false,
    category: 'directory',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Give each federated domain an issuer of its own (with AD FS: one issuer per domain, as its multiple-domain support issues them).',
    ],
  },
  // --- Rekey's own codes: Active Directory ----------------------------------------------------------
  7701501: {
    name: 'PkceRequired',
    message: 'This client must send a PKCE code_challenge with code_challenge_method=S256.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Generate a random code_verifier for each sign-in and send its base64url SHA-256 as code_challenge, with code_challenge_method=S256 (MSAL does this by default).',
    ],
  },
  7701502: {
    name: 'UnsupportedResponseType',
    message: 'The authorize endpoint answers only response_type=code.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'unsupported_response_type',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Use the authorization-code flow: response_type=code, then redeem the code at the token endpoint.',
    ],
  },
  7701503: {
    name: 'SignInTransactionNotFound',
    message: 'This sign-in page has expired, or it was opened in another browser.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Go back to the application and sign in again: a sign-in page is valid for 15 minutes, in the browser that opened it.',
    ],
  },
  7701504: {
    name: 'CsrfTokenInvalid',
    message: "The form's anti-forgery token is missing or does not match this sign-in.",
    httpStatus: 403,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'accessDenied',
    remediation: [
      'Reload the sign-in page from the application and submit the form again; forms cannot be posted from another site.',
    ],
  },
  7701505: {
    name: 'UnsupportedResponseMode',
    message: 'The authorize endpoint answers with response_mode=query or response_mode=form_post only.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['Send response_mode=query (the default for response_type=code) or form_post.'],
  },
  7701506: {
    name: 'PostLogoutRedirectUriNotRegistered',
    message: 'The post_logout_redirect_uri is not a redirect URI registered for any application.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Send a post_logout_redirect_uri registered for the application (GET /v1.0/applications/{appId} lists them), or none.',
    ],
  },
  7701507: {
    name: 'RedirectUriInvalid',
    message: 'A redirect URI must be an absolute https URL without a fragment (http only for localhost).',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      "Register https://host/path, or http://localhost[:port]/path for a native client; a single-page app served by Rekey itself may register a path on Rekey's own origin.",
    ],
  },
  7701508: {
    name: 'NewPasswordConfirmationMismatch',
    message: 'The new password and its confirmation differ.',
    httpStatus: 400,
    retryable: false,
    category: 'passwordChange',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: ['Type the same new password in both fields.'],
  },
  7701201: {
    name: 'OnPremisesWorkstationRestricted',
    message:
      'The on-premises directory lets this account sign in only from listed computers, and Rekey is not one of them.',
    httpStatus: 400,
    retryable: false,
    category: 'onPremises',
    oauthError: 'invalid_grant',
    graphCode: 'Request_BadRequest',
    remediation: [
      'An administrator can clear the account\'s workstation list (userWorkstations, "Log On To..." in Active Directory) or add the name Rekey\'s domain controller sees for it.',
      'The connector trace of the correlation ID shows the directory answered 531.',
    ],
  },
  // --- Rekey's own codes: HTTP captures ----------------------------------------------------------
  /** A capture names no user and no correlation ID, or more than one. */
  7701401: {
    name: 'CaptureSelectorRequired',
    message: 'A capture records one user or one correlation ID: name exactly one of them.',
    httpStatus: 400,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Give exactly one of userPrincipalName, userId and correlationId in the body of POST /rekey/v1/captures (with `rekey captures start`: --user or --correlation-id).',
    ],
  },
  /** Starting a capture while the tenant already has as many recording as it may. */
  7701402: {
    name: 'CaptureLimitReached',
    message: 'The tenant already has as many captures recording as it may have at once.',
    httpStatus: 409,
    retryable: true,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_BadRequest',
    remediation: [
      'Stop a capture that is no longer needed (`rekey captures stop <id>`, DELETE /rekey/v1/captures/{id}) or wait for one to end; `rekey captures list` shows them.',
    ],
  },
  /** No capture has this id. */
  7701403: {
    name: 'CaptureNotFound',
    message: 'There is no capture with this id.',
    httpStatus: 404,
    retryable: false,
    category: 'request',
    oauthError: 'invalid_request',
    graphCode: 'Request_ResourceNotFound',
    remediation: [
      'Take the id from `rekey captures list` (GET /rekey/v1/captures); captures are removed with the logs after REKEY_LOG_RETENTION_DAYS.',
    ],
  },
  // --- Rekey's own codes: the web app -----------------------------------------------------------
  /** The portal and My account were asked for, but this installation has no built web app. */
  7701600: {
    name: 'WebAppNotBuilt',
    message: 'The portal is not built in this installation of Rekey (dist/webapp/index.html is missing).',
    httpStatus: 503,
    retryable: false,
    category: 'service',
    oauthError: 'server_error',
    graphCode: 'serviceNotAvailable',
    remediation: [
      'Run `npm run build` in the Rekey directory (it builds the server and the web app into dist/), then restart Rekey.',
      '`npm start` builds both before it starts; a process started another way needs the build first.',
    ],
  },
} as const satisfies Record<number, EntryInput>;

/** A number that the catalog defines. */
export type ErrorCode = keyof typeof entries;

/** The catalog's name of a code. */
type NameOf<C extends ErrorCode> = (typeof entries)[C]['name'];

/** Each catalog name with its code, as a number literal type (names are unique: a test holds it). */
export type CodesByName = { readonly [C in ErrorCode as NameOf<C>]: C };

/** A catalog name (`InvalidUserNameOrPassword`, `InsufficientPrivileges`...). */
export type ErrorName = keyof CodesByName;

/**
 * Every code under its catalog name, for call sites: `new RekeyError(Codes.InsufficientPrivileges)`
 * reads as what it means, and its type is the number literal (7700103), so it is checked as an
 * `ErrorCode` exactly as the bare number was. Derived from the entries, so it cannot drift.
 */
export const Codes: CodesByName = Object.freeze(
  Object.fromEntries(Object.entries(entries).map(([code, entry]) => [entry.name, Number(code)])),
) as CodesByName;

const catalog: ReadonlyMap<number, CatalogEntry> = new Map(
  Object.entries(entries).map(([code, entry]) => {
    const number = Number(code);
    return [number, Object.freeze({ ...entry, code: number, isEntraCode: number < 7_700_000 })];
  }),
);

/** Returns the entry for a code the catalog defines. */
export function getCatalogEntry(code: ErrorCode): CatalogEntry {
  const entry = catalog.get(code);
  if (!entry) throw new Error(`error code ${code} is missing from the catalog`);
  return entry;
}

/** Looks up any number, for the `/error` page and `rekey errors`; undefined if it is not Rekey's. */
export function findCatalogEntry(code: number): CatalogEntry | undefined {
  return catalog.get(code);
}

/** Every entry, ordered by code. */
export function listCatalogEntries(): CatalogEntry[] {
  return [...catalog.values()].sort((a, b) => a.code - b.code);
}
