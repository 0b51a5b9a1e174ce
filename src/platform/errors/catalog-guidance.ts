import type { CatalogEntry, ErrorCode } from './catalog.js';

/*
 * What the catalog needs to become a troubleshooting guide: for each code, why it happens in
 * Rekey, who can fix it, which codes are its neighbours, and (where the catalog's own remediation
 * is a short line written for an error answer) the full steps, in Rekey's commands and portal
 * pages. It sits beside the catalog rather than in it, keyed by code, so the two can be read and
 * changed apart; `explainCode` joins them for the `/error` page, `rekey errors` and the
 * troubleshooter. A test holds that every catalog code has guidance here, that every related code
 * exists, and that every command and portal page a step names is real.
 */

/** Who can make the error go away: the person who got it, an administrator, or waiting. */
export type Fixer = 'user' | 'administrator' | 'time';

export interface CatalogGuidance {
  /** Why the code happens in Rekey: one or two sentences. */
  readonly cause: string;
  /** Who can fix it, most likely first. */
  readonly fixedBy: readonly Fixer[];
  /** Codes a reader of this one should also know: its causes, look-alikes, what follows it. */
  readonly related: readonly ErrorCode[];
  /**
   * The full steps, where the catalog's remediation (the short advice an error answer carries)
   * is not enough for someone troubleshooting; when absent, the catalog's remediation is the steps.
   */
  readonly steps?: readonly string[];
  /** Longer explanation, paragraph by paragraph, for the codes that need one (120008). */
  readonly notes?: readonly string[];
}

/**
 * The pages of the admin portal that steps send people to, by the names the portal shows. The
 * portal (issue 13) serves them at these paths; until it does, a step also names the command.
 */
export const portalPages = {
  users: { title: 'Users', path: '/portal/users' },
  user: { title: 'Users > user', path: '/portal/users/{id}' },
  passwordReset: { title: 'Password reset', path: '/portal/password-reset' },
  passwordProtection: { title: 'Password protection', path: '/portal/password-protection' },
  smartLockout: { title: 'Smart lockout', path: '/portal/smart-lockout' },
  signIns: { title: 'Sign-ins', path: '/portal/sign-ins' },
  auditLogs: { title: 'Audit logs', path: '/portal/audit-logs' },
  operations: { title: 'Operations', path: '/portal/operations' },
  connectors: { title: 'Connectors', path: '/portal/connectors' },
  captures: { title: 'Captures', path: '/portal/captures' },
  diagnose: { title: 'Diagnose and solve problems', path: '/portal/diagnose' },
  serviceHealth: { title: 'Service health', path: '/portal/service-health' },
} as const;

type PortalPage = keyof typeof portalPages;

/** "Portal: Users > user (/portal/users/{id})", as steps write a page. */
function portal(page: PortalPage): string {
  return `Portal: ${portalPages[page].title} (${portalPages[page].path})`;
}

const guidance: Partial<Record<ErrorCode, CatalogGuidance>> = {
  // --- Sign-in -------------------------------------------------------------------------------
  50034: {
    cause:
      'The user name matches no account in the tenant: it is mistyped, names another domain, or the account was deleted.',
    fixedBy: ['user', 'administrator'],
    related: [50126, 7700008, 7700105],
    steps: [
      'Check the spelling of the user name, including the domain after the @.',
      'An administrator looks the account up with `rekey users get <upn>`; `rekey users list --deleted` shows deleted accounts, and `rekey users restore <user>` brings one back within 30 days.',
      `${portal('users')}: search for the name; ${portal('signIns')} shows the refused attempts.`,
    ],
  },
  50053: {
    cause:
      'Smart lockout locked the account after too many wrong passwords in a row; it unlocks by itself when the lockout duration ends.',
    fixedBy: ['time', 'administrator'],
    related: [50126, 7700501, 120014],
    steps: [
      'Wait for the lockout to end, then sign in with the right password; a later lockout of the same account lasts longer than the first.',
      'An administrator sees the lock and its end with `rekey users get <upn>` and ends it now with `rekey users unlock <upn>`; a reset (`rekey users set-password <upn>`) also ends it.',
      `${portal('user')}: the sign-in status shows "locked until" and has Unlock. ${portal('smartLockout')} (\`rekey lockout show\`) holds the threshold and duration.`,
      `If many accounts lock at once, someone may be guessing passwords: look at ${portal('signIns')} or \`rekey logs summary --since 24h\`.`,
    ],
  },
  50055: {
    cause:
      "The password is older than the tenant's maximum password age, or an administrator set it with a forced change at next sign-in.",
    fixedBy: ['user', 'administrator'],
    related: [50144, 120000, 120002],
    steps: [
      'Change the password with the current one at POST /{tenant}/password/change: signing in works again at once with the new password.',
      'If the current password is unknown, an administrator resets it with `rekey users set-password <upn>`.',
      `An administrator reads the maximum age with \`rekey policy show\` (${portal('passwordReset')}); the user's passwordPolicies (\`rekey users get <upn> --select passwordPolicies,lastPasswordChangeDateTime\`) can exempt an account.`,
    ],
  },
  50057: {
    cause:
      'An administrator disabled the account (accountEnabled is false), so no password is accepted for it.',
    fixedBy: ['administrator'],
    related: [50034, 7700105, 120014],
    steps: [
      'Ask an administrator; the account cannot be enabled by its user.',
      `An administrator checks it with \`rekey users get <upn> --select accountEnabled\` and enables it with \`rekey users enable <upn>\` (${portal('user')}).`,
      'The audit log names who disabled it and when: `rekey logs export audits --since 30d`.',
    ],
  },
  50126: {
    cause:
      "The password does not match the account. With the tenant's uniform sign-in errors, an unknown user name and a locked account read the same way to the caller.",
    fixedBy: ['user', 'administrator'],
    related: [50034, 50053, 120000],
    steps: [
      'Try again with the right password; Caps Lock and keyboard layout are common causes.',
      'If the password is forgotten, an administrator resets it with `rekey users set-password <upn>`.',
      `An administrator finds the true reason of each refused attempt in ${portal('signIns')} (\`rekey logs export signins --since 24h --filter "status/errorCode ne 0"\`): the log keeps it even when the answer is uniform.`,
    ],
  },
  50133: {
    cause:
      "The session or token was issued before the user's password changed or before their sessions were revoked, so Rekey no longer honours it.",
    fixedBy: ['user'],
    related: [50173, 70000],
    steps: ['Sign in again with the current password; the client then receives new tokens.'],
  },
  50173: {
    cause:
      'The refresh token belongs to a sign-in that was revoked (a password change, a reset, a session revocation, or reuse of a spent refresh token) or it has expired.',
    fixedBy: ['user'],
    related: [50133, 70000],
  },
  70000: {
    cause:
      'The refresh token sent is unknown to Rekey, damaged, or was issued to another application than the client_id of the request.',
    fixedBy: ['user'],
    related: [50173, 50133],
  },
  70003: {
    cause:
      'The token request asked for a grant Rekey does not offer; Rekey issues tokens for the password and refresh_token grants.',
    fixedBy: ['administrator'],
    related: [900144, 700016],
  },
  700016: {
    cause: 'The client_id of the request is not an application registered in this Rekey.',
    fixedBy: ['administrator'],
    related: [90002, 900144],
  },
  90002: {
    cause:
      "The tenant segment of the path is not this tenant's id, one of its verified domains, or `organizations`.",
    fixedBy: ['administrator'],
    related: [700016],
  },
  900144: {
    cause: 'A token request lacks a parameter it needs, or a parameter has a value Rekey cannot use.',
    fixedBy: ['administrator'],
    related: [70003, 7700001],
  },
  // --- Browser sign-in: the authorize endpoint and the authorization-code grant -----------------
  50011: {
    cause:
      'The authorize or token request named a redirect_uri that is not registered for its client_id (compared exactly, scheme, host, port and path), so Rekey will not send a code there.',
    fixedBy: ['administrator'],
    related: [700016, 7701507, 7701506],
    steps: [
      'Compare the redirect_uri of the request with the registered ones: GET /v1.0/applications/{appId} lists them under spa, web and publicClient.',
      'An administrator adds the URI with PATCH /v1.0/applications/{appId} (`{"spa":{"redirectUris":[...]}}`); the callbacks of the built-in portal are registered as paths of the origin Rekey is reached at (set REKEY_PUBLIC_URL behind a proxy; see docs/sign-in.md).',
    ],
  },
  50058: {
    cause:
      'The application asked with prompt=none to learn silently whether someone is signed in, and this browser has no live Rekey session (never signed in, signed out, or its session was revoked).',
    fixedBy: ['user'],
    related: [50133, 7701503],
    steps: [
      'The application sends the user through the authorize endpoint again without prompt=none, which shows the sign-in page.',
    ],
  },
  54005: {
    cause:
      'An authorization code came back to the token endpoint after it was redeemed: it was copied, or the client sent it twice. Rekey revoked every token issued for it, since which holder is genuine is unknown.',
    fixedBy: ['user'],
    related: [70008, 50173],
  },
  70008: {
    cause:
      "The authorization code is older than its 60 seconds, or the user's sessions were revoked (a password change, a reset, disabling) between the sign-in and the redemption.",
    fixedBy: ['user'],
    related: [54005, 50133],
  },
  501481: {
    cause:
      'The code_verifier sent to the token endpoint does not hash (S256) to the code_challenge the authorize request carried, or none was sent for a code that has a challenge: the code may have been intercepted.',
    fixedBy: ['administrator'],
    related: [7701501, 54005],
  },
  7701501: {
    cause:
      'The authorize request of a public client (one that cannot keep a secret, such as the portal or a CLI) carried no PKCE code_challenge, or one with a method other than S256; Rekey refuses the plain method.',
    fixedBy: ['administrator'],
    related: [501481, 900144],
  },
  7701502: {
    cause:
      'The authorize request asked for a response_type other than code; Rekey issues tokens only through the authorization-code flow and the token endpoint.',
    fixedBy: ['administrator'],
    related: [7701505, 900144],
  },
  7701503: {
    cause:
      'The sign-in form was posted after its 15 minutes, after it was already used, or from a browser without the cookie that the sign-in page set (another browser, cookies blocked).',
    fixedBy: ['user'],
    related: [7701504, 50058],
  },
  7701504: {
    cause:
      'A sign-in form arrived without the anti-forgery token its page carried, or with another one: a page of another site tried to post it, or the form was rebuilt by hand.',
    fixedBy: ['user'],
    related: [7701503],
  },
  7701505: {
    cause:
      'The authorize request asked for a response_mode other than query or form_post (fragment is for the implicit flow, which Rekey does not offer).',
    fixedBy: ['administrator'],
    related: [7701502],
  },
  7701506: {
    cause:
      'The sign-out request named a post_logout_redirect_uri that no application registered, so Rekey ended the session but will not send the browser there.',
    fixedBy: ['administrator'],
    related: [50011, 7701507],
  },
  7701507: {
    cause:
      'An administrator tried to register a redirect URI that is not an absolute https URL (http is accepted only for localhost), carries a fragment, or is a relative path other than a portal callback.',
    fixedBy: ['administrator'],
    related: [50011],
  },
  7701508: {
    cause:
      'During the sign-in, the password change step received two different values in the new password and confirmation fields.',
    fixedBy: ['user'],
    related: [50055, 120002],
  },
  // --- Pass-through sign-in to an on-premises directory ------------------------------------------
  50144: {
    cause:
      "The user's password is checked by an on-premises directory, and that directory says it has expired or must be changed.",
    fixedBy: ['user', 'administrator'],
    related: [50055, 120004, 120012],
  },
  80001: {
    cause:
      "Rekey could not connect to the on-premises directory that checks this user's password: the server is down, or its address, port or network path is wrong.",
    fixedBy: ['time', 'administrator'],
    related: [80002, 120013, 80007],
    steps: [
      'Try again in a few minutes.',
      'An administrator probes the directory with `rekey connectors test <connector>` and reads its recent failures with `rekey connectors health <connector>`.',
      `${portal('connectors')} and ${portal('serviceHealth')} show the connector's state.`,
    ],
  },
  80012: {
    cause:
      "The user's account in Active Directory has logon hours, and the domain controller refused the sign-in because it came outside them.",
    fixedBy: ['user', 'administrator'],
    related: [7701201, 50057, 120014],
    steps: [
      'Sign in again during the hours the account allows.',
      'An administrator widens the logon hours of the account in Active Directory ("Logon Hours..." on its Account tab, or the logonHours attribute); the connector trace of the correlation ID (`rekey diagnose --correlation-id <id>`) shows the directory answered 530.',
    ],
  },
  80002: {
    cause:
      "The on-premises directory accepted the connection but did not answer within the connector's operation timeout.",
    fixedBy: ['time', 'administrator'],
    related: [80001, 120013],
    steps: [
      'Try again in a few minutes.',
      "An administrator reads the connector's latency with `rekey connectors health <connector>` and checks the directory server's load; only a directory that is slow by nature calls for a longer operationTimeoutMs (`rekey connectors show <connector>` gives it; PATCH /rekey/v1/connectors/{id} changes it).",
      `${portal('connectors')} shows latency and recent failures.`,
    ],
  },
  80007: {
    cause:
      "The on-premises directory answered with an error that says its configuration or the connector's settings are wrong (TLS, certificate, service account), not that the password is.",
    fixedBy: ['administrator'],
    related: [80001, 120015],
    steps: [
      'An administrator runs `rekey connectors test <connector>`: it names the step that fails (connect, TLS, bind, search).',
      'Compare `rekey connectors show <connector>` with the directory: address, TLS mode and CA certificate, bind DN and its password.',
      `The connector calls of the request (GET /rekey/v1/operations/{id}/connectorCalls, or ${portal('operations')}) give the LDAP result code.`,
    ],
  },
  // --- Password change family ------------------------------------------------------------------
  120000: {
    cause:
      'The current password given with the change does not match the account; nothing was changed. Repeated wrong current passwords count towards smart lockout.',
    fixedBy: ['user', 'administrator'],
    related: [50126, 7700501, 120008],
  },
  120002: {
    cause:
      "The new password breaks a rule of the tenant's password policy (length, character kinds, breached list, history or minimum age); the error lists every rule it failed.",
    fixedBy: ['user'],
    related: [120003, 120018, 120004],
  },
  120003: {
    cause: "The new password contains the user's name or the part of the sign-in name before the @.",
    fixedBy: ['user'],
    related: [120002, 120018],
  },
  120004: {
    cause:
      "The cloud policy accepted the new password, but the user's on-premises directory refused it under its own policy (length, complexity, history or minimum age).",
    fixedBy: ['user', 'administrator'],
    related: [120002, 120008, 120015],
    steps: [
      'Choose a password that also meets the on-premises policy: usually longer, not one of the recent ones, and not a second change on the same day where the directory sets a minimum age.',
      "An administrator reads the directory's answer in the operation: `rekey operations show <id>` (or the connector calls of GET /rekey/v1/operations/{id}/connectorCalls) gives the directory's result and detail.",
      `${portal('operations')} lists terminated operations with their cause; \`rekey operations list --code 120004 --since 24h\` counts the users hit, which tells one user's choice from a policy that refuses everyone.`,
    ],
  },
  120005: {
    cause:
      'The new password was written to the on-premises directory, but committing it in Rekey failed for a moment; the operation retries the commit until it succeeds.',
    fixedBy: ['time'],
    related: [120008, 7700902, 7700202],
    steps: [
      'Wait a few minutes and do not change the password again: the on-premises directory already has the new one, and Rekey finishes the commit by itself.',
      'An administrator follows it with `rekey operations show <id>`; if it does not end, the history names the failure that keeps the commit from succeeding (often 7700202, the database).',
    ],
  },
  120008: {
    cause:
      'The password operation ended in its final failed state, terminated. The code says that it stopped for good, not why: the why is the cause code the operation keeps.',
    fixedBy: ['user', 'administrator'],
    related: [120004, 120013, 120014, 120015, 120016, 120020, 7700902],
    steps: [
      'Read the cause in the error itself: `innerError.causeCode` is the underlying code and `innerError.operationId` the operation; `innerError.details.statusDetail` says the same in words.',
      'Look the cause code up (`rekey errors <code>`, or /error?code=<code>) and follow its steps: it says who can fix it.',
      "An administrator opens the operation with `rekey operations show <id>`: its history gives every step and attempt, with each failure's code and whether it was retryable. Without the id, `rekey operations list --user <upn> --state terminated` finds it.",
      `${portal('operations')}: the operation's timeline; ${portal('diagnose')}, or \`rekey diagnose --correlation-id <id>\`, names the root cause as its verdict.`,
      'Do not simply repeat the change: a terminated operation is not retried. Fix the cause first, then change the password again; that is a new operation.',
    ],
    notes: [
      'Every password change and reset in Rekey runs as an operation. It starts notStarted, runs, and may wait in retryScheduled after a failure that retrying can fix, such as a directory that did not answer. It ends in one of two final states: succeeded, or terminated.',
      'AADSTS120008 is the answer for terminated. An operation is terminated by the first failure that retrying cannot fix (for example 120004: the on-premises policy refused the password; 120014: the on-premises account is locked or disabled; 120016: the user is not found on-premises; 120015: the connector may not write passwords), or when its deadline passes while it is still retrying, in which case the cause is 120020 and its detail names the last failure (often 120013, the directory could not be reached).',
      "The cause travels with the code: in the error answer as innerError.causeCode and innerError.operationId, in the operation's statusDetail (Rekey's GET /rekey/v1/operations/{id} and the Graph-shaped GET /v1.0/users/{id}/authentication/operations/{id}), and in the operation's history. Troubleshoot the cause, not 120008: the cause's page says who can fix it and how.",
    ],
  },
  120012: {
    cause:
      "The user's password lives outside Rekey: the user's domain is federated, or the user is synced from a directory without password writeback, so Rekey may not change it.",
    fixedBy: ['user', 'administrator'],
    related: [120013, 7701007, 50144],
  },
  120013: {
    cause:
      "Rekey could not reach the on-premises directory to write the new password: the server is down, unreachable, or refused the connection. It is retried until the operation's deadline.",
    fixedBy: ['time', 'administrator'],
    related: [80001, 80002, 120008, 120020],
    steps: [
      'Try again later; while the operation is within its deadline Rekey retries by itself.',
      "An administrator probes the directory with `rekey connectors test <connector>` and reads the connector's recent failures and latency with `rekey connectors health <connector>`.",
      `${portal('connectors')} and ${portal('serviceHealth')} show the connector's state; \`rekey operations list --code 120013 --since 24h\` shows how many users are affected.`,
    ],
  },
  120014: {
    cause:
      "The user's on-premises account is locked out or disabled in the on-premises directory, so that directory refused the password write.",
    fixedBy: ['administrator', 'time'],
    related: [50053, 50057, 120008],
    steps: [
      "An administrator unlocks or enables the account with the on-premises directory's own tools; Rekey cannot change that state. A lockout there may also end by itself after the directory's lockout duration.",
      "The operation shows the directory's answer: `rekey operations show <id>`, or the connector calls at GET /rekey/v1/operations/{id}/connectorCalls.",
      `Then the user changes the password again. ${portal('operations')} lists the terminated operations with this cause.`,
    ],
  },
  120015: {
    cause:
      "The on-premises directory refused the password write because of the connector's rights or the directory's requirements: the service account may not reset passwords, its bind password is wrong, or the directory requires TLS.",
    fixedBy: ['administrator'],
    related: [80007, 120013, 120008],
    steps: [
      "An administrator runs `rekey connectors test <connector>`: it checks the connection, TLS and the service account's bind.",
      "Grant the service account the right to reset passwords on the users' entries, check its bind password, and use ldaps:// or StartTLS if the directory needs a secure connection (`rekey connectors show <connector>` gives the settings).",
      `The connector calls of the operation (GET /rekey/v1/operations/{id}/connectorCalls, or ${portal('operations')}) give the LDAP result code.`,
    ],
  },
  120016: {
    cause:
      "The user's entry is no longer where Rekey last saw it in the on-premises directory: it was moved, renamed or deleted there since the last sync.",
    fixedBy: ['administrator'],
    related: [120008, 7700008],
    steps: [
      "An administrator syncs the connector (`rekey connectors sync <connector>`) so Rekey learns the entry's new place, then the user changes the password again.",
      `${portal('user')} (\`rekey users get <upn>\`) shows the on-premises attributes Rekey holds, such as onPremisesDistinguishedName.`,
    ],
  },
  120018: {
    cause:
      "Password protection scored the new password too low: it is built around a common or banned word, the user's name or the organisation's name.",
    fixedBy: ['user'],
    related: [120002, 120003],
  },
  120020: {
    cause:
      'The operation failed for a reason that is not one of the named causes, or it passed its deadline while still retrying; in that case its detail names the last failure.',
    fixedBy: ['administrator', 'time'],
    related: [120008, 120013, 7700201],
    steps: [
      'Try again. If it keeps failing, an administrator opens the operation with `rekey operations show <id>`: the detail names the last failure, and that code has its own steps.',
      `${portal('diagnose')}, or \`rekey diagnose --correlation-id <id>\`, gathers the evidence; the server log has the details under the request ID.`,
    ],
  },
  // --- Rekey's own codes: requests ---------------------------------------------------------------
  7700001: {
    cause:
      'A field, parameter or command-line option has a value Rekey does not accept; the error names each one.',
    fixedBy: ['user'],
    related: [7700002, 7700007],
  },
  7700002: {
    cause: 'The request body could not be parsed as JSON.',
    fixedBy: ['user'],
    related: [7700001, 7700003],
  },
  7700003: {
    cause: 'The Content-Type of the request is not one the endpoint reads.',
    fixedBy: ['user'],
    related: [7700002],
  },
  7700004: {
    cause: "The request body is larger than the endpoint's limit.",
    fixedBy: ['user'],
    related: [7700001],
  },
  7700005: {
    cause: 'Nothing is served at this path; it is mistyped or belongs to another version.',
    fixedBy: ['user'],
    related: [7700006, 7700008],
  },
  7700006: {
    cause: 'The path exists, but not with this HTTP method.',
    fixedBy: ['user'],
    related: [7700005],
  },
  7700007: {
    cause:
      'An OData option ($filter, $select, $orderby, $top) names a property or operator the resource does not support, or is malformed.',
    fixedBy: ['user'],
    related: [7700001],
  },
  7700008: {
    cause: 'No object has this id or name: it is mistyped, or the object was deleted.',
    fixedBy: ['user', 'administrator'],
    related: [50034, 7700105],
  },
  7700009: {
    cause:
      'The user principal name is not alias@domain with a verified domain and allowed characters and lengths.',
    fixedBy: ['user'],
    related: [7700010],
  },
  7700010: {
    cause: 'Another object already uses the user principal name, domain or assignment being created.',
    fixedBy: ['user'],
    related: [7700009],
  },
  7700012: {
    cause:
      'The change affects every user (a stricter password policy, for instance), so Rekey shows its impact and waits for confirmation.',
    fixedBy: ['user'],
    related: [7700013],
  },
  7700013: {
    cause:
      'Someone else changed the same settings while this update was applied, again and again, so Rekey did not apply it.',
    fixedBy: ['time', 'user'],
    related: [7700012],
  },
  7700014: {
    cause:
      'The Idempotency-Key was used before with a different request; Rekey refuses rather than guess which one is meant.',
    fixedBy: ['user'],
    related: [7700901],
  },
  // --- Rekey's own codes: authorization ----------------------------------------------------------
  7700101: {
    cause: 'The request has no bearer access token, and this endpoint needs one.',
    fixedBy: ['user'],
    related: [7700102, 7700103],
  },
  7700102: {
    cause: 'The access token is malformed, has expired, or was not signed by this Rekey.',
    fixedBy: ['user'],
    related: [7700101, 50133],
  },
  7700103: {
    cause: 'The signed-in user holds no directory role that allows this action on this target.',
    fixedBy: ['administrator'],
    related: [7700101, 7700104],
    steps: [
      'Sign in as an administrator whose role allows the action; docs/roles.md gives the table of who may act on whom.',
      'A Global Administrator grants a role with `rekey users roles <user> --add <role>`.',
    ],
  },
  7700104: {
    cause:
      'An administrator tried to reset their own password through the reset endpoint, which is for other users.',
    fixedBy: ['user'],
    related: [7700103, 120000],
  },
  7700105: {
    cause: 'The user is deleted (still restorable), and the action needs an active account.',
    fixedBy: ['administrator'],
    related: [7700008, 50034],
  },
  7700106: {
    cause: 'The action would leave the tenant with no enabled Global Administrator.',
    fixedBy: ['administrator'],
    related: [7700103],
  },
  7700107: {
    cause: 'An administrator tried to delete the account they are signed in with.',
    fixedBy: ['administrator'],
    related: [7700106],
  },
  // --- Rekey's own codes: service ----------------------------------------------------------------
  7700201: {
    cause:
      'Something failed inside Rekey that it has no specific code for; the server log holds the details under the request ID.',
    fixedBy: ['time', 'administrator'],
    related: [7700202, 120020],
    steps: [
      'Try again. If it keeps failing, give an administrator the request ID and correlation ID of the answer.',
      `An administrator finds the failure in the server log by the request ID, and checks ${portal('serviceHealth')}.`,
    ],
  },
  7700202: {
    cause:
      'Rekey cannot use its database: the server is not reachable, or its schema is older than this version of Rekey.',
    fixedBy: ['administrator', 'time'],
    related: [7700203, 7700201],
  },
  7700203: {
    cause: 'A REKEY_* setting is missing or invalid, so Rekey refuses to start.',
    fixedBy: ['administrator'],
    related: [7700204, 7700202],
  },
  7700204: {
    cause: "REKEY_SECRET_KEY is not the key this database's secrets were sealed with.",
    fixedBy: ['administrator'],
    related: [7700203],
  },
  // --- Rekey's own codes: breached-password data -----------------------------------------------------
  7700401: {
    cause: 'A line of the list given to `rekey breached import` is not a SHA-1 hash, a colon and a count.',
    fixedBy: ['administrator'],
    related: [7700402, 7700403],
  },
  7700402: {
    cause: 'The breached-password filter file Rekey loads is missing, truncated or not written by Rekey.',
    fixedBy: ['administrator'],
    related: [7700403, 7700401],
  },
  7700403: {
    cause:
      'The exact index that confirms a filter match is missing or damaged, so Rekey cannot tell a breached password from a false positive.',
    fixedBy: ['administrator'],
    related: [7700402],
  },
  // --- Rekey's own codes: smart lockout --------------------------------------------------------------
  7700501: {
    cause:
      'Smart lockout locked the account after too many wrong passwords, and a password change needs the current password checked, which a locked account refuses.',
    fixedBy: ['time', 'administrator'],
    related: [50053, 120000],
    steps: [
      'Wait for the lockout to end, then change the password with the right current one.',
      'If the current password is forgotten, an administrator resets it with `rekey users set-password <upn>`, which also ends the lock.',
      `An administrator sees the lock with \`rekey users get <upn>\` and ends it with \`rekey users unlock <upn>\` (${portal('user')}).`,
    ],
  },
  7700502: {
    cause:
      'Many password attempts for the same account arrived at the same moment and this one could not record its result in time.',
    fixedBy: ['time'],
    related: [7700701, 50053],
  },
  // --- Rekey's own codes: throttling -----------------------------------------------------------------
  7700701: {
    cause:
      'The rate limit for the address or the account name was reached; Rekey turns requests away until the window passes.',
    fixedBy: ['time'],
    related: [7700702, 7700502],
    steps: [
      'Wait the number of seconds the Retry-After header gives, then try again.',
      `If it keeps happening, an administrator looks for code 7700701 in ${portal('signIns')} (\`rekey logs export signins --since 24h --filter "status/errorCode eq 7700701"\`): many addresses or one account under attack tell different stories.`,
    ],
  },
  7700702: {
    cause:
      'More password checks were queued than this server hashes in time, so this one was turned away before any check.',
    fixedBy: ['time', 'administrator'],
    related: [7700701],
  },
  // --- Rekey's own codes: sign-in and audit logs -----------------------------------------------------
  7700601: {
    cause:
      'A --since, --until or time parameter is neither a duration (7d, 24h, 30m) nor an ISO 8601 date-time, or the range is empty.',
    fixedBy: ['user'],
    related: [7700001],
  },
  // --- Rekey's own codes: directory connectors -------------------------------------------------------
  7700801: {
    cause:
      'This build of Rekey has no directory client, so connectors can be stored but not tested or synced.',
    fixedBy: ['administrator'],
    related: [80001],
  },
  7700802: {
    cause:
      "The change touched a property of a synced user that the on-premises directory owns; Rekey's copy follows the directory.",
    fixedBy: ['administrator'],
    related: [120012],
  },
  // --- Rekey's own codes: password operations ---------------------------------------------------
  7700901: {
    cause:
      'Another change of the same user was running or had just committed when this one was checked, so this one was not applied.',
    fixedBy: ['time', 'user'],
    related: [7700902, 120008, 7700014],
  },
  7700902: {
    cause:
      "The operation is still running (for instance retrying an on-premises write) when the caller's wait ran out; it goes on in the background.",
    fixedBy: ['time'],
    related: [120008, 120013, 120005],
  },
  // --- Rekey's own codes: licences ---------------------------------------------------------------
  7701001: {
    cause: 'The SKU named is not one the tenant subscribes to.',
    fixedBy: ['administrator'],
    related: [7701002, 7701003],
  },
  7701002: {
    cause: "All of the subscription's units are assigned to users.",
    fixedBy: ['administrator'],
    related: [7701001, 7701003],
  },
  7701003: {
    cause: 'The subscription to the SKU is suspended or locked out, so no new assignment is allowed.',
    fixedBy: ['administrator'],
    related: [7701001, 7701002],
  },
  7701004: {
    cause: 'A disabled plan named in the assignment is not a service plan of that SKU.',
    fixedBy: ['administrator'],
    related: [7701001],
  },
  7701005: {
    cause: 'The user does not hold the licence being removed.',
    fixedBy: ['administrator'],
    related: [7701001],
  },
  7701006: {
    cause:
      "The user's licences do not include the self-service password reset plan, which the reset requires.",
    fixedBy: ['administrator'],
    related: [7701007, 7701001],
  },
  7701007: {
    cause:
      "The user's password is written back to an on-premises directory, and none of the user's licences includes writeback.",
    fixedBy: ['administrator'],
    related: [7701006, 120012],
  },
  // --- Rekey's own codes: Active Directory -------------------------------------------------------
  7701201: {
    cause:
      "The user's account in Active Directory may sign in only from listed computers (userWorkstations), and the domain controller does not count Rekey's connection as one of them.",
    fixedBy: ['administrator'],
    related: [80012, 50057, 120014],
  },
  // --- Rekey's own codes: the web app -------------------------------------------------------------
  7701600: {
    cause:
      'The portal (/portal) and My account (/myaccount) are a web app that `npm run build` compiles into dist/webapp; this Rekey was started from a checkout or package where that step has not run.',
    fixedBy: ['administrator'],
    related: [],
  },
  // --- Rekey's own codes: federation --------------------------------------------------------------
  7701101: {
    cause: 'The domain already has a federation configuration, and a domain has only one.',
    fixedBy: ['administrator'],
    related: [7701103],
  },
  7701102: {
    cause: "The tenant's initial domain always stays managed, so administrators can still sign in.",
    fixedBy: ['administrator'],
    related: [7701101],
  },
  7701103: {
    cause: 'Another federated domain already uses this issuer, and each federated domain needs its own.',
    fixedBy: ['administrator'],
    related: [7701101],
  },
  // --- Rekey's own codes: HTTP captures --------------------------------------------------------
  7701401: {
    cause:
      'A capture records the exchanges of one user or of one correlation ID, and the request named neither of them, or more than one.',
    fixedBy: ['administrator'],
    related: [7700001],
  },
  7701402: {
    cause:
      'Every active capture is checked against each request, so a tenant records with at most 20 captures at once, and that many are recording now.',
    fixedBy: ['administrator', 'time'],
    related: [7701403],
    steps: [
      `List the captures with \`rekey captures list\` (GET /rekey/v1/captures) or in ${portal('captures')}: the active ones show their end time.`,
      'Stop one that is no longer needed with `rekey captures stop <id>` (DELETE /rekey/v1/captures/{id}); its HAR stays readable with `rekey captures export <id>`.',
      'Or wait: a capture ends by itself when its window does.',
    ],
  },
  7701403: {
    cause:
      'No capture of this tenant has the id given: it is mistyped, or the capture aged out with the logs (REKEY_LOG_RETENTION_DAYS).',
    fixedBy: ['administrator'],
    related: [7700008, 7701402],
  },
};

/** The guidance for a code, or undefined for a code that has none yet (a test forbids that). */
export function findGuidance(code: number): CatalogGuidance | undefined {
  return (guidance as Readonly<Record<number, CatalogGuidance>>)[code];
}

/** A catalog entry with its guidance: everything the `/error` page and `rekey errors` show. */
export interface ExplainedCode {
  readonly entry: CatalogEntry;
  /** Why it happens; null only for a code that has no guidance yet. */
  readonly cause: string | null;
  readonly fixedBy: readonly Fixer[];
  readonly related: readonly number[];
  /** The guidance's steps where it has them, else the catalog's remediation. */
  readonly steps: readonly string[];
  readonly notes: readonly string[];
}

/** Joins a catalog entry with its guidance. */
export function explainCode(entry: CatalogEntry): ExplainedCode {
  const found = findGuidance(entry.code);
  return {
    entry,
    cause: found?.cause ?? null,
    fixedBy: found?.fixedBy ?? [],
    related: found?.related ?? [],
    steps: found?.steps ?? entry.remediation,
    notes: found?.notes ?? [],
  };
}
