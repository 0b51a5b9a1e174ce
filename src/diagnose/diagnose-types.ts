import type { UserRow } from '../platform/db/schema.js';
import type {
  AuditEvidence,
  ConnectorCallEvidence,
  OperationEventEvidence,
  OperationEvidence,
  SignInEvidence,
} from './evidence-store.js';

/** What a diagnosis is asked about: any of these, at least one. */
export interface DiagnoseSelectors {
  readonly userPrincipalName?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly errorCode?: number | undefined;
  /** ISO 8601: the start of the window (default: 24 hours back). */
  readonly since?: string | undefined;
}

export type FindingStatus = 'ok' | 'warn' | 'fail' | 'skipped';

/** The checks, in the seed's order; a report lists one finding per check in this order. */
export const checkOrder = [
  'serviceStatus',
  'scope',
  'correlationTimeline',
  'accountState',
  'licence',
  'lockoutAndSignIns',
  'policyCompliance',
  'directoryObject',
  'federationAndConnector',
  'operationHistory',
  'whatChanged',
] as const;

export type CheckName = (typeof checkOrder)[number];

/** One check's result. Evidence lines are plain sentences or short facts; never a password. */
export interface Finding {
  readonly check: CheckName;
  readonly title: string;
  readonly status: FindingStatus;
  /** The catalog code this check points at, or null. */
  readonly code: number | null;
  readonly evidence: readonly string[];
  readonly remediation: readonly string[];
  /** Structured facts for JSON readers (the directory object, the policy, counts...). */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** One entry of the merged timeline of the request(s) looked at. */
export interface TimelineEntry {
  readonly at: string;
  readonly source: 'signIn' | 'audit' | 'operation' | 'connector';
  readonly correlationId: string;
  readonly code: number | null;
  readonly summary: string;
}

export interface DiagnoseReport {
  readonly generatedDateTime: string;
  readonly selectors: {
    readonly userPrincipalName: string | null;
    readonly correlationId: string | null;
    readonly errorCode: number | null;
    readonly since: string;
  };
  readonly verdict: {
    /** The catalog code of the root cause (not the symptom), or null when no failure was found. */
    readonly code: number | null;
    readonly name: string | null;
    readonly confidence: 'high' | 'medium' | 'low';
    readonly summary: string;
    /** The code callers were answered, when it differs from the root cause (e.g. 120008). */
    readonly symptomCode: number | null;
  };
  readonly scope: {
    readonly usersAffected: number;
    readonly requests: number;
    readonly firstSeen: string | null;
    readonly lastSeen: string | null;
    readonly mostAffected: ReadonlyArray<{ readonly userPrincipalName: string; readonly requests: number }>;
  };
  readonly findings: readonly Finding[];
  readonly timeline: readonly TimelineEntry[];
}

/** A failure seen in the evidence: what the caller was answered and what lay beneath. */
export interface ObservedFailure {
  readonly at: string;
  readonly source: 'signIn' | 'audit' | 'operation';
  readonly correlationId: string;
  readonly userPrincipalName: string | null;
  /** The code the caller saw (120008 for an ended operation). */
  readonly symptomCode: number;
  /** The underlying cause (the operation's own code; the logged reason behind a uniform answer). */
  readonly rootCode: number;
  readonly detail: string;
}

/**
 * Everything the checks read, gathered once by the service (each source on its own index, see
 * evidence-store.ts) so that no check queries the database itself and the support bundle can
 * write the same rows it was judged on.
 */
export interface Evidence {
  readonly now: Date;
  readonly since: string;
  readonly selectors: DiagnoseSelectors;
  /** Whether the connector's address and bind DN may be shown (see diagnoseRoles). */
  readonly showConnectorConfiguration: boolean;
  /** The user named by the selectors or by the request; deleted users included. */
  readonly user: UserRow | undefined;
  readonly signIns: readonly SignInEvidence[];
  readonly audits: readonly AuditEvidence[];
  readonly operations: readonly OperationEvidence[];
  readonly operationEvents: readonly OperationEventEvidence[];
  readonly connectorCalls: readonly ConnectorCallEvidence[];
  readonly failures: readonly ObservedFailure[];
  /** The scope by error code across users, when a code was given. */
  readonly codeScope:
    | {
        readonly requests: number;
        readonly users: number;
        readonly firstSeen: string | null;
        readonly lastSeen: string | null;
        readonly mostAffected: ReadonlyArray<{
          readonly userPrincipalName: string;
          readonly requests: number;
        }>;
      }
    | undefined;
  /** Configuration-change audit rows in the window, oldest first. */
  readonly configurationChanges: readonly AuditEvidence[];
}

/**
 * One check: reads the gathered evidence (and, through its own ports, live state such as the
 * lockout or a connector probe) and returns its finding. A feature that adds a source of evidence
 * (licences, federation, service status) replaces the placeholder check of its name.
 */
export interface DiagnoseCheck {
  readonly name: CheckName;
  run(evidence: Evidence): Promise<Finding>;
}
