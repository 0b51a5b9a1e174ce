/**
 * The trace of a connector's LDAP operations: one record per operation, for the connector trace
 * a later store keeps and the troubleshooter reads. A record never holds a password, a bind
 * secret or a password-modify value: only what was done, to which DN, and what came back.
 */
import type { ErrorCode } from '../platform/errors/catalog.js';
import type { DirectoryFailureReason } from './directory-outcome.js';
import type { PasswordPolicyResponse } from './ldap/password-policy-control.js';

export type DirectoryTraceOperation =
  /** TCP (and for ldaps://, TLS) connection, plus StartTLS when the connector uses it. */
  | 'connect'
  /** StartTLS on its own, where a caller asks for it apart (the connector's connection test). */
  | 'startTls'
  /** Simple bind as the connector's service account. */
  | 'serviceBind'
  /** Simple bind as a user, with the password-policy control. */
  | 'userBind'
  | 'search'
  /** RFC 3062 password-modify extended operation, with the password-policy control. */
  | 'passwordModify';

export interface DirectoryTraceRecord {
  readonly operation: DirectoryTraceOperation;
  /** The DN bound as, searched from, or whose password is modified; undefined for `connect`. */
  readonly dn: string | undefined;
  /** The LDAP result code; 0 on success, undefined when no LDAP answer came (network failure). */
  readonly resultCode: number | undefined;
  /** The server's diagnostic text on failure, or the network error's code (ECONNREFUSED...). */
  readonly diagnostic: string | undefined;
  /** The password-policy response control, when the server sent one. */
  readonly ppolicy: PasswordPolicyResponse | undefined;
  /**
   * For a failed operation: why, and the catalog code that reason has for the call's purpose (a
   * wrong password is 120000 in a change, 50126 in a sign-in). Undefined on success, and from a
   * client that does not classify its failures.
   */
  readonly failure?: { readonly reason: DirectoryFailureReason; readonly code: ErrorCode } | undefined;
  readonly startedAt: Date;
  readonly latencyMs: number;
  readonly correlationId: string;
  /** The connector the call went through, when the caller named one. */
  readonly connectorId: string | undefined;
  /** The password operation the call serves, when there is one. */
  readonly operationId: string | undefined;
}

/** Receives each record as it is made (a later engineer's store, a test's array). */
export type DirectoryTraceSink = (record: DirectoryTraceRecord) => void;

/** Who a call is for: carried into every trace record it makes. */
export interface DirectoryCallContext {
  readonly correlationId: string;
  readonly operationId?: string;
}
