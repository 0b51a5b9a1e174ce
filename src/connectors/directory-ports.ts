import type { PassThroughVerifier } from '../auth/password-check.js';
import type { DirectoryTraceRecord } from '../directories/directory-trace.js';
import type { OnPremisesWriter } from '../passwords/password-operation.js';
import type { ErrorCode } from '../platform/errors/catalog.js';
import type { RequestContext } from '../platform/request-context.js';
import type { UserService } from '../users/user-service.js';
import type { ConnectorSettings } from './connector-config.js';

/*
 * The ports through which the connectors feature reaches a directory. This feature stores and
 * validates connectors and knows no LDAP; an implementation of these interfaces (the LDAP client
 * in `src/directories/`) is handed to createServices, and `POST /rekey/v1/connectors/{id}/test`
 * and `/sync` answer 7700801 DirectoryClientUnavailable while none is.
 */

/** A connector as a directory client needs it: its settings, its id and the opened bind password. */
export interface ConnectorConfig extends ConnectorSettings {
  readonly id: string;
  /** The service account's password, opened from its sealed form for this call only; never log it. */
  readonly bindPassword: string;
}

/** The steps of a connection test, in the order they run. */
export const testStepNames = ['connect', 'startTls', 'bind', 'search'] as const;
export type TestStepName = (typeof testStepNames)[number];

/** One step of a connection test. */
export interface TestStep {
  readonly step: TestStepName;
  /** `skipped`: not needed (startTls over ldaps://) or not reached after an earlier failure. */
  readonly result: 'success' | 'failure' | 'skipped';
  /** The catalog code of a failure (e.g. 120013 for a directory that cannot be reached); null otherwise. */
  readonly code: ErrorCode | null;
  /** What happened, in words an administrator reads; never a secret. */
  readonly message: string;
  /** How long the step took; null when it was skipped. */
  readonly latencyMs: number | null;
}

/** What a directory client reports about one connection test. */
export interface ProbeResult {
  /** One entry per step of testStepNames, in that order. */
  readonly steps: readonly TestStep[];
  /** Entries the search step found under the base DN with the user filter (it may stop counting early). */
  readonly usersFound: number | null;
  /** The LDAP operations the test made, for the connector trace (and so the connector's health). */
  readonly trace?: readonly DirectoryTraceRecord[];
}

/** Connects, binds and searches with a connector's settings, reporting each step. */
export interface DirectoryProbe {
  /**
   * Runs the test and reports every step. A failure of the directory is a step with
   * `result: 'failure'` and its code, not a thrown error; throwing is for Rekey's own faults.
   */
  test(config: ConnectorConfig): Promise<ProbeResult>;
}

/** How far a sync has got, for a progress bar. */
export interface SyncProgress {
  readonly seen: number;
  /** The total when the directory told it; undefined otherwise. */
  readonly total?: number;
}

/** What one sync is asked to do. */
export interface SyncRequest {
  readonly tenantId: string;
  readonly connector: ConnectorConfig;
  /** `full` reads every user; `incremental` only those changed since `cursor`. */
  readonly mode: 'full' | 'incremental';
  /** The cursor the last successful sync returned (null before the first). */
  readonly cursor: string | null;
  /** Who asked (no actor for a scheduled sync) and the correlation ID of the run. */
  readonly context: RequestContext;
  readonly onProgress?: (progress: SyncProgress) => void;
}

/** The counts of one sync run. */
export interface SyncCounts {
  readonly seen: number;
  readonly created: number;
  readonly updated: number;
  readonly deleted: number;
  readonly unchanged: number;
  readonly failed: number;
}

/** What a directory client reports about one sync run. */
export interface SyncOutcome {
  readonly result: 'success' | 'failure';
  readonly mode: 'full' | 'incremental';
  readonly startedDateTime: string;
  readonly finishedDateTime: string;
  /** Where the next incremental sync resumes; null keeps the previous cursor. */
  readonly cursor: string | null;
  readonly counts: SyncCounts;
  /** The catalog code of a failure; null on success. */
  readonly code: ErrorCode | null;
  readonly message: string | null;
  /** The LDAP operations the run made (one per page of its search), for the connector trace. */
  readonly trace?: readonly DirectoryTraceRecord[];
}

/** Imports a connector's users into the tenant. */
export interface DirectorySync {
  sync(request: SyncRequest): Promise<SyncOutcome>;
}

/** What a tenant's sync is built from. */
export interface SyncTenant {
  readonly tenantId: string;
  readonly users: UserService;
}

/** What the directory write of one tenant is built from. */
export interface WritebackTenant {
  readonly tenantId: string;
  /** The connector with its bind password opened, or undefined when it was removed. */
  openConnector(connectorId: string): Promise<ConnectorConfig | undefined>;
  /** Keeps the trace of each call (the connector trace); the records hold no secret. */
  recordTrace(records: readonly DirectoryTraceRecord[]): Promise<void>;
}

/**
 * The directory clients a Rekey process has, given to createServices. Either may be missing: the
 * routes and commands then answer 7700801.
 */
export interface DirectoryPorts {
  readonly probe?: DirectoryProbe;
  /** Builds the sync of one tenant from its services (called once per tenant). */
  readonly syncFor?: (tenant: SyncTenant) => DirectorySync;
  /**
   * Builds the directory write of one tenant's password operations (writeback); without it, or
   * with `onPremises` given to createServices, that one is used.
   */
  readonly writebackFor?: (tenant: WritebackTenant) => OnPremisesWriter;
  /** Builds the directory bind that checks synced users' passwords at sign-in (pass-through). */
  readonly passThroughFor?: (tenant: WritebackTenant) => PassThroughVerifier;
}
