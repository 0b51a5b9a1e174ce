import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/*
 * The database schema, shared by SQLite and PostgreSQL. Two choices keep one schema for both:
 * - times are ISO 8601 UTC strings with milliseconds (`2026-01-02T03:04:05.678Z`), which sort
 *   correctly as text and read back identically from both drivers;
 * - booleans are integers 0/1, because SQLite has no boolean type.
 * JSON documents are stored as text and parsed by the store that owns them.
 */

export type Flag = 0 | 1;

export interface TenantsTable {
  id: string;
  display_name: string;
  settings: string;
  created_at: string;
}

/** One settings document of a tenant (`passwordPolicy`, `passwordProtection`, ...) as JSON. */
export interface TenantSettingsTable {
  tenant_id: string;
  name: string;
  /** The document, as JSON text; read back through the owner's validating loader. */
  value: string;
  /** 1 on the first write, then one more on every write. */
  version: number;
  updated_at: string;
  /** The UPN of whoever wrote it last; null for Rekey itself or the CLI. */
  updated_by: string | null;
}

export interface DomainsTable {
  /** The lower-cased DNS name; also the key. */
  name: string;
  tenant_id: string;
  authentication_type: 'Managed' | 'Federated';
  is_default: Flag;
  is_initial: Flag;
  is_verified: Flag;
  created_at: string;
}

/** A federated domain's federation (migration 0014): Graph's `internalDomainFederation`. */
export interface DomainFederationsTable {
  id: string;
  tenant_id: string;
  /** The domain it federates (`domains.name`); one federation per domain. */
  domain_name: string;
  display_name: string;
  issuer_uri: string | null;
  metadata_exchange_uri: string | null;
  passive_sign_in_uri: string | null;
  active_sign_in_uri: string | null;
  sign_out_uri: string | null;
  /** The federation's own password page: where its users change or reset their password. */
  password_reset_uri: string | null;
  /** Base64 DER of the token-signing certificate (public part). */
  signing_certificate: string | null;
  next_signing_certificate: string | null;
  preferred_authentication_protocol: 'wsFed' | 'saml';
  federated_idp_mfa_behavior: string | null;
  prompt_login_behavior: string | null;
  is_signed_authentication_request_required: Flag;
  created_at: string;
  updated_at: string;
}

/** One subscription of a tenant (migration 0015): a SKU, its units and its status. */
export interface SubscribedSkusTable {
  tenant_id: string;
  sku_id: string;
  sku_part_number: string;
  /** Graph's capabilityStatus: Enabled, Warning, Suspended, LockedOut. */
  capability_status: string;
  enabled_units: number;
  /** Assignments of the SKU, kept with them (see migration 0015). */
  consumed_units: number;
  /** 1 when every new user is given this SKU when created. */
  assign_to_new_users: Flag;
  created_at: string;
  updated_at: string;
}

/** One licence of a user (migration 0015). */
export interface UserLicensesTable {
  user_id: string;
  sku_id: string;
  tenant_id: string;
  /** JSON array of the service plan ids turned off in this assignment. */
  disabled_plans: string;
  assigned_at: string;
}

export interface ApplicationsTable {
  app_id: string;
  tenant_id: string;
  display_name: string;
  is_builtin: Flag;
  created_at: string;
}

export interface UsersTable {
  id: string;
  tenant_id: string;
  user_principal_name: string;
  /** Lower-cased UPN, unique in the tenant: look-ups are case-insensitive as in Entra. */
  upn_key: string;
  display_name: string;
  given_name: string | null;
  surname: string | null;
  mail: string | null;
  mail_nickname: string;
  job_title: string | null;
  usage_location: string | null;
  account_enabled: Flag;
  /** Graph's `passwordPolicies` string, `None` stored as null. */
  password_policies: string | null;
  force_change_password_next_sign_in: Flag;
  force_change_password_next_sign_in_with_mfa: Flag;
  last_password_change_at: string | null;
  user_type: 'Member' | 'Guest';
  /** JSON array of directory role names (`Global Administrator`, ...). */
  roles: string;
  /** Bumped when the password changes or sessions are revoked; tokens carry the value they were issued under. */
  session_version: number;
  sign_in_sessions_valid_from: string;
  on_premises_sync_enabled: Flag | null;
  on_premises_immutable_id: string | null;
  on_premises_distinguished_name: string | null;
  on_premises_sam_account_name: string | null;
  on_premises_last_sync_at: string | null;
  /** The connector whose sync imported the user; null for a cloud user. */
  on_premises_connector_id: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface CredentialsTable {
  user_id: string;
  /** argon2id PHC string. */
  password_hash: string;
  set_at: string;
}

export interface PasswordHistoryTable {
  id: string;
  user_id: string;
  password_hash: string;
  created_at: string;
}

export type OperationKind = 'selfChange' | 'expiredChange' | 'adminReset' | 'selfServiceReset';
export type OperationState = 'notStarted' | 'running' | 'retryScheduled' | 'succeeded' | 'terminated';

export interface PasswordOperationsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  kind: OperationKind;
  requested_by_user_id: string | null;
  requested_by_app_id: string | null;
  correlation_id: string;
  idempotency_key: string | null;
  /** A keyed hash of the request accepted under `idempotency_key` (never the password itself). */
  idempotency_fingerprint: string | null;
  state: OperationState;
  step: string;
  attempts: number;
  next_attempt_at: string;
  deadline_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  error_code: number | null;
  error_retryable: Flag | null;
  error_detail: string | null;
  /** The new password, AES-256-GCM encrypted, held only until the operation ends. */
  secret_ciphertext: string | null;
  /** Whether the user must change the password at the next sign-in once this operation succeeds. */
  force_change: Flag;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface PasswordOperationEventsTable {
  id: Generated<number>;
  operation_id: string;
  at: string;
  state: OperationState;
  step: string;
  detail: string | null;
  /** The catalog code of the failure this entry records; null for a move without one. */
  code: number | null;
  /** Whether that failure was retryable (1) or not (0); null without a failure. */
  retryable: Flag | null;
}

export interface SignInsTable {
  id: string;
  tenant_id: string;
  created_at: string;
  user_id: string | null;
  user_principal_name: string;
  /** user_principal_name lower-cased by the application, for indexed case-insensitive look-ups. */
  upn_key: string;
  user_display_name: string | null;
  app_id: string;
  app_display_name: string | null;
  client_app_used: string;
  ip_address: string;
  user_agent: string | null;
  correlation_id: string;
  is_interactive: Flag;
  error_code: number;
  failure_reason: string | null;
  additional_details: string | null;
}

export interface DirectoryAuditsTable {
  id: string;
  tenant_id: string;
  activity_at: string;
  activity_display_name: string;
  category: string;
  correlation_id: string;
  logged_by_service: string;
  operation_type: string;
  result: 'success' | 'failure' | 'timeout';
  result_reason: string;
  initiated_by_user_id: string | null;
  initiated_by_upn: string | null;
  initiated_by_app_id: string | null;
  /** JSON of Graph's `initiatedBy`. */
  initiated_by: string;
  /** JSON of Graph's `targetResources`. */
  target_resources: string;
  /** JSON of Graph's `additionalDetails`. */
  additional_details: string;
}

/** One target of an audit event, so `targetResources/any(t: t/id eq '...')` can use an index. */
export interface DirectoryAuditTargetsTable {
  audit_id: string;
  target_id: string;
  tenant_id: string;
  activity_at: string;
}

/** Smart lockout counts failures from familiar and unfamiliar networks apart. */
export type LockoutNetwork = 'familiar' | 'unfamiliar';

/** The smart lockout state of one user on one kind of network. */
export interface LockoutStatesTable {
  user_id: string;
  network: LockoutNetwork;
  tenant_id: string;
  /** Failed attempts since the last successful sign-in, admin unlock or password reset. */
  failure_count: number;
  /** Keyed HMACs (base64url) of the last three distinct bad passwords, newest first, comma-separated. */
  bad_fingerprints: string;
  /** While in the future the user is locked on this network. */
  locked_until: string | null;
  /** Lockouts since the last success; each one lasts longer (see lockout-policy.ts). */
  lockout_count: number;
  last_failure_at: string | null;
  last_lockout_at: string | null;
  /** Bumped on every write: updates are compare-and-set on it, so concurrent attempts never lose a count. */
  version: number;
  updated_at: string;
}

/** A network (IPv4 /24 or IPv6 /64) a user has signed in from successfully. */
export interface FamiliarNetworksTable {
  user_id: string;
  network_key: string;
  first_seen_at: string;
  last_seen_at: string;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  client_id: string;
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  session_version: number;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  /** The token family (`token_families.id`): every token descended from one password sign-in. */
  family_id: string | null;
}

/** One password sign-in and every refresh and access token descended from it. */
export interface TokenFamiliesTable {
  id: string;
  user_id: string;
  created_at: string;
  /** Set when a spent refresh token of the family was replayed: all its tokens stop working. */
  revoked_at: string | null;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  public_jwk: string;
  /** The private JWK, encrypted with the secret key. */
  private_jwk_ciphertext: string;
  created_at: string;
  retired_at: string | null;
}

/**
 * One directory connector of a tenant: an on-premises LDAP directory, how to reach and bind to it,
 * which entries are users and how their attributes map to user properties.
 */
export interface ConnectorsTable {
  id: string;
  tenant_id: string;
  display_name: string;
  /** Lower-cased display name, unique in the tenant. */
  name_key: string;
  /** `openldap` or `activeDirectory`. */
  flavor: string;
  /** `ldaps://host[:port]` or `ldap://host[:port]`. */
  url: string;
  start_tls: Flag;
  /** 1 only when an administrator accepted a plain `ldap://` connection without StartTLS. */
  allow_insecure: Flag;
  /** PEM certificates to trust for the directory's TLS, or null for the system's CAs. */
  ca_certificate: string | null;
  bind_dn: string;
  /** The bind password sealed with the secret key; never selected except to open it for a call. */
  bind_password_ciphertext: string;
  base_dn: string;
  user_filter: string;
  /** JSON object: user property -> directory attribute. */
  attributes: string;
  writeback: Flag;
  connect_timeout_ms: number;
  operation_timeout_ms: number;
  /** Seconds between scheduled syncs; null when the connector syncs only when asked. */
  sync_interval_seconds: number | null;
  created_at: string;
  updated_at: string;
  last_sync_at: string | null;
  /** Where an incremental sync resumes (the highest modifyTimestamp seen), as the sync wrote it. */
  last_sync_cursor: string | null;
  /** JSON: the last sync's outcome, as the sync reported it. */
  last_sync_result: string | null;
  last_test_at: string | null;
  /** JSON: the last connection test's report. */
  last_test_result: string | null;
}

/** One rate-limit counter: requests of one key in one counting window (migration 0007). */
export interface RateLimitCountersTable {
  bucket: string;
  window_index: number;
  count: number;
  window_end_ms: number;
}

/** The connector trace (migration 0012): one LDAP operation a connector made; never a secret. */
export interface ConnectorOperationsTable {
  id: string;
  tenant_id: string;
  connector_id: string | null;
  operation_id: string | null;
  /** connect, startTls, serviceBind, userBind, search, passwordModify. */
  operation: string;
  dn: string | null;
  ldap_result_code: number | null;
  ppolicy_error: string | null;
  diagnostic: string | null;
  latency_ms: number;
  correlation_id: string;
  at: string;
  /** success, refused (the user's own reason: wrong password, policy...) or error (migration 0016). */
  outcome: ConnectorCallOutcome | null;
  /** The directory failure reason of a failed operation (invalidCredentials, unreachable...). */
  failure_reason: string | null;
  /** The catalog code the failure has for the call's purpose. */
  code: number | null;
}

/** How connector health counts one LDAP operation of the trace. */
export type ConnectorCallOutcome = 'success' | 'refused' | 'error';
/** An incident Rekey opened by itself (migration 0017): Graph's serviceHealthIssue. */
export interface ServiceIncidentsTable {
  id: string;
  tenant_id: string;
  rule: string;
  service: string;
  title: string;
  classification: 'incident' | 'advisory';
  status: string;
  impact_description: string;
  error_code: number;
  users_affected: number;
  requests_affected: number;
  is_resolved: Flag;
  start_at: string;
  end_at: string | null;
  last_modified_at: string;
}

/** One post of an incident (migration 0017): what was seen when it opened, changed or ended. */
export interface ServiceIncidentPostsTable {
  id: Generated<number>;
  incident_id: string;
  created_at: string;
  post_type: string;
  description: string;
}

/** Who evaluates a tenant's incident rules now (migration 0017). */
export interface StatusEvaluationsTable {
  tenant_id: string;
  owner: string | null;
  claimed_until: string | null;
  evaluated_at: string | null;
}

/** One event-log entry (migration 0018); never a secret. */
export interface EventLogTable {
  id: string;
  tenant_id: string;
  created_at: string;
  channel: 'application' | 'security';
  level: 'information' | 'warning' | 'error';
  event_id: number;
  source: string;
  message: string;
  correlation_id: string | null;
  user_id: string | null;
  /** JSON object. */
  details: string;
}

/** An HTTP exchange capture (migration 0020). */
export interface CapturesTable {
  id: string;
  tenant_id: string;
  created_at: string;
  created_by_user_id: string | null;
  created_by_upn: string | null;
  target: 'user' | 'correlationId' | 'header';
  /** Lower case. */
  user_principal_name: string | null;
  user_id: string | null;
  correlation_id: string | null;
  ends_at: string;
  stopped_at: string | null;
  max_entries: number;
  entry_count: Generated<number>;
  dropped_count: Generated<number>;
}

/** One recorded exchange of a capture (migration 0020): a redacted HAR entry. */
export interface CaptureEntriesTable {
  id: string;
  tenant_id: string;
  capture_id: string;
  created_at: string;
  correlation_id: string | null;
  user_id: string | null;
  method: string;
  url: string;
  status: number;
  /** JSON of one HAR 1.2 entry. */
  har_entry: string;
}

/** A redirect URI an administrator registered for an application (migration 0021). */
export interface ApplicationRedirectUrisTable {
  tenant_id: string;
  app_id: string;
  /** Graph's platform of the URI: `spa`, `web` or `publicClient`. */
  platform: string;
  uri: string;
  created_at: string;
}

/** An authorize request waiting at Rekey's sign-in page (see migration 0021). */
export interface SignInTransactionsTable {
  /** Random, in the sign-in form; proves nothing without the browser cookie and the CSRF token. */
  id: string;
  tenant_id: string;
  /** SHA-256 of the `rekey_signin` cookie the transaction is bound to. */
  browser_hash: string;
  /** SHA-256 of the CSRF token in the transaction's forms. */
  csrf_hash: string;
  /** The validated authorize request, as JSON. */
  request: string;
  /** Set once the password was right but must be changed before a session opens. */
  user_id: string | null;
  /** The current password, sealed with the secret key, for the change step. */
  sealed_password: string | null;
  created_at: string;
  expires_at: string;
}

/** Rekey's single sign-on session behind the `rekey_sso` cookie. */
export interface SsoSessionsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  /** SHA-256 of the cookie value; the value itself is never stored. */
  token_hash: string;
  /** The user's session version at sign-in: a later password change or revocation ends the session. */
  session_version: number;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** A one-time authorization code (only its hash is stored). */
export interface AuthorizationCodesTable {
  code_hash: string;
  tenant_id: string;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  /** The PKCE S256 challenge; null only for a confidential client that sent none. */
  code_challenge: string | null;
  nonce: string | null;
  scope: string | null;
  session_version: number;
  created_at: string;
  expires_at: string;
  redeemed_at: string | null;
  /** The token family the code was redeemed into: revoked if the code comes back. */
  family_id: string | null;
}

export interface Database {
  tenants: TenantsTable;
  tenant_settings: TenantSettingsTable;
  domains: DomainsTable;
  domain_federations: DomainFederationsTable;
  subscribed_skus: SubscribedSkusTable;
  user_licenses: UserLicensesTable;
  applications: ApplicationsTable;
  users: UsersTable;
  credentials: CredentialsTable;
  password_history: PasswordHistoryTable;
  password_operations: PasswordOperationsTable;
  password_operation_events: PasswordOperationEventsTable;
  sign_ins: SignInsTable;
  directory_audits: DirectoryAuditsTable;
  directory_audit_targets: DirectoryAuditTargetsTable;
  lockout_states: LockoutStatesTable;
  familiar_networks: FamiliarNetworksTable;
  refresh_tokens: RefreshTokensTable;
  token_families: TokenFamiliesTable;
  signing_keys: SigningKeysTable;
  connectors: ConnectorsTable;
  connector_operations: ConnectorOperationsTable;
  rate_limit_counters: RateLimitCountersTable;
  service_incidents: ServiceIncidentsTable;
  service_incident_posts: ServiceIncidentPostsTable;
  status_evaluations: StatusEvaluationsTable;
  event_log: EventLogTable;
  captures: CapturesTable;
  capture_entries: CaptureEntriesTable;
  application_redirect_uris: ApplicationRedirectUrisTable;
  sign_in_transactions: SignInTransactionsTable;
  sso_sessions: SsoSessionsTable;
  authorization_codes: AuthorizationCodesTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
/** A domain as read: its row, and the password page of its federation when it has one. */
export type DomainRow = Selectable<DomainsTable> & { readonly password_change_url: string | null };
export type NewDomainRow = Insertable<DomainsTable>;
export type DomainFederationRow = Selectable<DomainFederationsTable>;
export type SubscribedSkuRow = Selectable<SubscribedSkusTable>;
export type UserLicenseRow = Selectable<UserLicensesTable>;
export type PasswordOperationRow = Selectable<PasswordOperationsTable>;
export type SignInRow = Selectable<SignInsTable>;
export type DirectoryAuditRow = Selectable<DirectoryAuditsTable>;
export type LockoutStateRow = Selectable<LockoutStatesTable>;
export type ConnectorRow = Selectable<ConnectorsTable>;
