import type { ConnectorService } from '../connectors/connector-service.js';
import { capabilitiesOfUser, listLicensesOfUsers } from '../licenses/license-service.js';
import type { LockoutService } from '../lockout/lockout-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import { Codes, findCatalogEntry } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Actor } from '../platform/request-context.js';
import { systemContext } from '../platform/request-context.js';
import type { SettingsService } from '../settings/settings-service.js';
import type { DomainService } from '../tenant/domain-service.js';
import { assertMayActOn, hasAnyRole, logReaderRoles } from '../users/authorization.js';
import { findUserForLog, findUsersForLog } from '../users/user-service.js';
import { accountStateCheck } from './checks/account-state.js';
import { correlationTimelineCheck } from './checks/correlation-timeline.js';
import { directoryObjectCheck } from './checks/directory-object.js';
import { federationConnectorCheck } from './checks/federation-connector.js';
import { auditDetail, codeOfReason, describeCode } from './checks/finding.js';
import { licenceCheck } from './checks/licence.js';
import { lockoutActivityCheck } from './checks/lockout-activity.js';
import { operationHistoryCheck } from './checks/operation-history.js';
import { policyComplianceCheck } from './checks/policy-compliance.js';
import { scopeCheck } from './checks/scope.js';
import { type ServiceStatusFacts, serviceStatusCheck } from './checks/service-status.js';
import { configurationActivities, whatChangedCheck } from './checks/what-changed.js';
import {
  type CheckName,
  checkOrder,
  type DiagnoseCheck,
  type DiagnoseReport,
  type DiagnoseSelectors,
  type Evidence,
  type Finding,
  type ObservedFailure,
  type TimelineEntry,
} from './diagnose-types.js';
import {
  type AuditEvidence,
  countSignInsWithCode,
  findUserAnyStateByUpn,
  findUsersAnyStateByUpns,
  listAuditsAboutUser,
  listAuditsOfActivities,
  listAuditsOfCorrelation,
  listConnectorCallsOfOperations,
  listFailedAuditsWithCode,
  listFailedOperations,
  listOperationEvents,
  listOperationsOfCorrelation,
  listOperationsOfUser,
  listRecentConnectorCalls,
  listSignInsOfCorrelation,
  listSignInsOfUser,
  listSignInsWithCode,
  type OperationEvidence,
  type SignInEvidence,
  topUsersWithSignInCode,
} from './evidence-store.js';

/** Rows read per source: enough to judge, bounded so a diagnosis stays fast on a large log. */
const rowLimit = 200;
const dayMs = 24 * 60 * 60 * 1000;

/** The audit activities of password changes and resets (whose refusals carry the code and rule ids). */
const passwordActivities = [
  'Change password (self-service)',
  'Reset password (self-service)',
  'Reset password (by admin)',
];

/**
 * Codes behind which the account's state is the real cause: a wrong password, an unknown user or a
 * generic refusal is explained better by a disabled, deleted or locked account when there is one.
 */
const explainedByAccountState: ReadonlySet<number> = new Set([
  Codes.UserAccountNotFound,
  Codes.InvalidUserNameOrPassword,
  Codes.PasswordChangeIncorrectCurrentPassword,
  Codes.PasswordChangeAccountLocked,
  Codes.IdsLocked,
  Codes.UserDisabled,
  Codes.InvalidPasswordExpiredPassword,
  Codes.DeletedAccount,
]);

export interface DiagnoseServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  readonly lockout: Pick<LockoutService, 'getLockout'>;
  readonly settings: Pick<SettingsService, 'getPasswordPolicy' | 'getPasswordProtection' | 'getSmartLockout'>;
  readonly domains: Pick<DomainService, 'listTenantDomains'>;
  readonly connectors: Pick<ConnectorService, 'list' | 'test'>;
  /** Whether a directory client is installed (the live probe needs one). */
  readonly canProbe: boolean;
  /** The status page's components and the incidents, open and recent. */
  readonly serviceStatus: () => Promise<ServiceStatusFacts>;
  /**
   * Checks that replace the built-in ones of the same name: the features that bring service
   * status, licences or federation plug their check in here.
   */
  readonly checks?: readonly DiagnoseCheck[];
}

/** The gathered evidence and the report judged on it (the support bundle writes both). */
export interface Diagnosis {
  readonly report: DiagnoseReport;
  readonly evidence: Evidence;
}

export interface DiagnoseOptions {
  /**
   * Who asks; undefined for the operator at the CLI, who holds the database. A caller without a
   * log reader role (the help desk) may diagnose only one user at a time, and only a user whose
   * password they may reset: the report shows that user's sign-ins and audit rows.
   */
  readonly actor?: Actor | undefined;
  /** Show the connectors' address and bind DN (true unless the caller may not read connectors). */
  readonly showConnectorConfiguration?: boolean;
}

export type DiagnoseService = ReturnType<typeof createDiagnoseService>;

/** The troubleshooter: gathers the evidence of a user, a request or a code, and judges it. */
/** The id of the user an audit row is about (its first target of type User), if any. */
function userTargetOf(audit: AuditEvidence): string | undefined {
  try {
    const targets = JSON.parse(audit.target_resources) as unknown;
    if (!Array.isArray(targets)) return undefined;
    for (const target of targets as Array<Record<string, unknown>>) {
      if (target['type'] === 'User' && typeof target['id'] === 'string') return target['id'];
    }
  } catch {
    // Not JSON: no target to read.
  }
  return undefined;
}

export function createDiagnoseService(deps: DiagnoseServiceDeps) {
  const { db, tenantId, clock } = deps;
  const kysely = db.kysely;

  const builtIn: readonly DiagnoseCheck[] = [
    serviceStatusCheck({ facts: deps.serviceStatus }),
    scopeCheck,
    correlationTimelineCheck,
    accountStateCheck({
      lockoutOf: (userId) => deps.lockout.getLockout(userId),
      passwordPolicy: () => deps.settings.getPasswordPolicy(),
    }),
    licenceCheck({
      factsOf: async (userId) => {
        const held = (await listLicensesOfUsers(kysely, tenantId, [userId])).get(userId) ?? [];
        const allowed = await capabilitiesOfUser(kysely, tenantId, userId);
        const user = await kysely
          .selectFrom('users')
          .select('on_premises_connector_id')
          .where('tenant_id', '=', tenantId)
          .where('id', '=', userId)
          .executeTakeFirst();
        const connectorId = user?.on_premises_connector_id ?? null;
        const connector =
          connectorId === null ? undefined : (await deps.connectors.list()).find((c) => c.id === connectorId);
        return {
          held: held.map((license) => ({
            skuPartNumber: license.skuPartNumber,
            plans: license.assignedPlans,
          })),
          allowsSelfServiceReset: allowed.has('selfServicePasswordReset'),
          allowsWriteback: allowed.has('passwordWriteback'),
          isWrittenBack: connector?.settings.writeback === true,
        };
      },
    }),
    lockoutActivityCheck({ smartLockout: () => deps.settings.getSmartLockout() }),
    policyComplianceCheck({
      passwordPolicy: () => deps.settings.getPasswordPolicy(),
      passwordProtection: () => deps.settings.getPasswordProtection(),
    }),
    directoryObjectCheck({ licencesOf: (userId) => listLicensesOfUsers(kysely, tenantId, [userId]) }),
    federationConnectorCheck({
      domains: () => deps.domains.listTenantDomains(),
      connectors: () => deps.connectors.list(),
      probe: deps.canProbe ? (id) => deps.connectors.test(systemContext(`diagnose-${id}`), id) : undefined,
      recentCalls: (id, since) => listRecentConnectorCalls(kysely, tenantId, id, since, rowLimit),
    }),
    operationHistoryCheck,
    whatChangedCheck,
  ];
  const checks = new Map<CheckName, DiagnoseCheck>(builtIn.map((c) => [c.name, c]));
  for (const check of deps.checks ?? []) checks.set(check.name, check);

  /** Refuses selectors that name nothing, or a window that is not one. */
  function assertSelectors(selectors: DiagnoseSelectors, now: Date): string {
    if (
      selectors.userPrincipalName === undefined &&
      selectors.correlationId === undefined &&
      selectors.errorCode === undefined
    )
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: 'Name what to diagnose: a userPrincipalName, a correlationId or an errorCode (or several).',
      });
    if (selectors.errorCode !== undefined && !findCatalogEntry(selectors.errorCode))
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: `${selectors.errorCode} is not a code Rekey emits; \`rekey errors --list\` lists them.`,
        details: { errorCode: selectors.errorCode },
      });
    const since = selectors.since ?? new Date(now.getTime() - dayMs).toISOString();
    if (Number.isNaN(Date.parse(since)) || since > now.toISOString())
      throw new RekeyError(Codes.InvalidLogTimeRange, {
        message: 'since must be a date-time in the past.',
        details: { since },
      });
    return new Date(since).toISOString();
  }

  /** Refuses (7700103) a caller who may not read the logs of everyone the report concerns. */
  function assertMayDiagnose(actor: Actor | undefined, evidence: Evidence): void {
    if (!actor || hasAnyRole(actor.roles, logReaderRoles)) return;
    if (
      !evidence.user ||
      (evidence.selectors.errorCode !== undefined && !evidence.selectors.userPrincipalName)
    )
      throw new RekeyError(Codes.InsufficientPrivileges, {
        message:
          'Diagnosing a code across users, or a request of no known user, needs a role that may read the sign-in and audit logs; name the user instead.',
        details: { requiredRoles: logReaderRoles },
      });
    assertMayActOn(
      'resetPassword',
      actor,
      evidence.user,
      "Diagnosing a user shows their sign-ins and audit rows: it needs a role that may reset that user's password, or one that may read the logs.",
    );
  }

  /** The failures in the gathered rows: what callers saw, and what lay beneath. */
  function failuresOf(
    signIns: readonly SignInEvidence[],
    audits: readonly AuditEvidence[],
    operations: readonly OperationEvidence[],
    upnOfUserId: (id: string) => string | null,
  ): ObservedFailure[] {
    const failures: ObservedFailure[] = [];
    for (const s of signIns) {
      if (s.error_code === 0) continue;
      failures.push({
        at: s.created_at,
        source: 'signIn',
        correlationId: s.correlation_id,
        userPrincipalName: s.user_principal_name.toLowerCase(),
        symptomCode: s.error_code,
        rootCode: s.error_code,
        detail: s.additional_details ?? s.failure_reason ?? '',
      });
    }
    const operationCorrelations = new Set(operations.map((o) => o.correlation_id));
    for (const a of audits) {
      const code = a.result === 'failure' ? codeOfReason(a.result_reason) : undefined;
      if (code === undefined || !passwordActivities.includes(a.activity_display_name)) continue;
      // The operation of the same request says more (its cause) than the refusal's echo of it.
      if (code === Codes.PasswordChangeAsyncJobStateTerminated && operationCorrelations.has(a.correlation_id))
        continue;
      let target: string | null = null;
      try {
        const targets = JSON.parse(a.target_resources) as Array<{ userPrincipalName?: string | null }>;
        target = targets[0]?.userPrincipalName?.toLowerCase() ?? null;
      } catch {
        target = null;
      }
      const rules = auditDetail(a.additional_details, 'failedRules');
      failures.push({
        at: a.activity_at,
        source: 'audit',
        correlationId: a.correlation_id,
        userPrincipalName: target,
        symptomCode: code,
        rootCode: code,
        detail: `${a.activity_display_name}: ${a.result_reason}${rules ? ` (rules failed: ${rules})` : ''}`,
      });
    }
    for (const o of operations) {
      if (o.error_code === null || (o.state !== 'terminated' && o.state !== 'retryScheduled')) continue;
      failures.push({
        at: o.updated_at,
        source: 'operation',
        correlationId: o.correlation_id,
        userPrincipalName: upnOfUserId(o.user_id),
        symptomCode: o.state === 'terminated' ? Codes.PasswordChangeAsyncJobStateTerminated : o.error_code,
        rootCode: o.error_code,
        detail: `${o.kind} ${o.state} at ${o.step}${o.error_detail ? `: ${o.error_detail}` : ''}`,
      });
    }
    return failures.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  }

  /**
   * An unknown user name (50034) that belongs to a deleted account is explained by the deletion:
   * its root cause becomes 7700105. At most 20 distinct names are looked up.
   */
  async function withDeletedAccounts(
    failures: ObservedFailure[],
    known: Evidence['user'],
  ): Promise<ObservedFailure[]> {
    const names = [
      ...new Set(
        failures
          .filter((f) => f.rootCode === Codes.UserAccountNotFound && f.userPrincipalName !== null)
          .map((f) => f.userPrincipalName ?? ''),
      ),
    ].slice(0, 20);
    const isKnown = (name: string) => known?.user_principal_name.toLowerCase() === name;
    const found = await findUsersAnyStateByUpns(
      kysely,
      tenantId,
      names.filter((name) => !isKnown(name)),
    );
    const deletedKeys = new Set(found.filter((row) => row.deleted_at).map((row) => row.upn_key));
    const deleted = new Set(
      names.filter((name) =>
        isKnown(name) ? Boolean(known?.deleted_at) : deletedKeys.has(name.toLowerCase()),
      ),
    );
    if (deleted.size === 0) return failures;
    return failures.map((f) =>
      f.rootCode === Codes.UserAccountNotFound && deleted.has(f.userPrincipalName ?? '')
        ? { ...f, rootCode: Codes.DeletedAccount, detail: `${f.detail} The account was deleted.` }
        : f,
    );
  }

  /**
   * A directory write refused for its configuration (120015) by a connector that does not write
   * passwords back is explained by that: its root cause becomes 120012 (the password is changed
   * in the directory, or writeback is turned on).
   */
  async function withWritebackOff(
    failures: ObservedFailure[],
    operations: readonly OperationEvidence[],
    connectorOfUser: ReadonlyMap<string, string>,
  ): Promise<ObservedFailure[]> {
    if (
      !failures.some(
        (f) => f.source === 'operation' && f.rootCode === Codes.PasswordChangeADAdminActionRequired,
      )
    )
      return failures;
    const withoutWriteback = new Set(
      (await deps.connectors.list()).filter((c) => !c.settings.writeback).map((c) => c.id),
    );
    const userOfCorrelation = new Map(operations.map((o) => [o.correlation_id, o.user_id]));
    return failures.map((f) => {
      if (f.source !== 'operation' || f.rootCode !== Codes.PasswordChangeADAdminActionRequired) return f;
      const connectorId = connectorOfUser.get(userOfCorrelation.get(f.correlationId) ?? '');
      return connectorId && withoutWriteback.has(connectorId)
        ? { ...f, rootCode: Codes.PasswordChangeNeedsToHappenOnPrem }
        : f;
    });
  }

  async function gather(
    selectors: DiagnoseSelectors,
    since: string,
    now: Date,
    showConnectorConfiguration: boolean,
  ): Promise<Evidence> {
    const signIns = new Map<string, SignInEvidence>();
    const audits = new Map<string, AuditEvidence>();
    const operations = new Map<string, OperationEvidence>();
    const add = <T extends { id: string }>(into: Map<string, T>, rows: readonly T[]) => {
      for (const row of rows) into.set(row.id, row);
    };
    let user = selectors.userPrincipalName
      ? await findUserAnyStateByUpn(kysely, tenantId, selectors.userPrincipalName)
      : undefined;

    if (selectors.correlationId !== undefined) {
      const id = selectors.correlationId;
      add(signIns, await listSignInsOfCorrelation(kysely, tenantId, id, rowLimit));
      add(audits, await listAuditsOfCorrelation(kysely, tenantId, id, rowLimit));
      add(operations, await listOperationsOfCorrelation(kysely, tenantId, id, rowLimit));
      // The request names its user: the rest of the checks look at them.
      if (!user && !selectors.errorCode) {
        const userId =
          [...operations.values()][0]?.user_id ?? [...signIns.values()].find((s) => s.user_id)?.user_id;
        if (userId) user = await findUserForLog(kysely, tenantId, userId);
        else {
          const upn = [...signIns.values()][0]?.user_principal_name;
          if (upn) user = await findUserAnyStateByUpn(kysely, tenantId, upn);
        }
        // A request refused before any operation or sign-in (a licence, a role) names its user
        // only as its audit row's target.
        if (!user) {
          const target = [...audits.values()].map(userTargetOf).find((id) => id !== undefined);
          if (target) user = await findUserForLog(kysely, tenantId, target);
        }
      }
    }
    if (selectors.userPrincipalName !== undefined) {
      add(signIns, await listSignInsOfUser(kysely, tenantId, selectors.userPrincipalName, since, rowLimit));
    } else if (user && selectors.errorCode === undefined) {
      add(signIns, await listSignInsOfUser(kysely, tenantId, user.user_principal_name, since, rowLimit));
    }
    if (user) {
      add(audits, await listAuditsAboutUser(kysely, tenantId, user.id, since, rowLimit));
      add(operations, await listOperationsOfUser(kysely, user.id, since, rowLimit));
    }
    let codeScope: Evidence['codeScope'];
    if (selectors.errorCode !== undefined && selectors.userPrincipalName === undefined) {
      const code = selectors.errorCode;
      add(signIns, await listSignInsWithCode(kysely, tenantId, code, since, rowLimit));
      add(
        audits,
        await listFailedAuditsWithCode(kysely, tenantId, passwordActivities, code, since, rowLimit),
      );
      add(operations, await listFailedOperations(kysely, tenantId, code, since, rowLimit));
      const counted = await countSignInsWithCode(kysely, tenantId, code, since);
      codeScope = {
        ...counted,
        mostAffected: await topUsersWithSignInCode(kysely, tenantId, code, since, 5),
      };
    }

    const operationRows = [...operations.values()];
    const operationIds = operationRows.map((o) => o.id);
    const userIds = new Set(operationRows.map((o) => o.user_id));
    const upnById = new Map<string, string>();
    const connectorOfUser = new Map<string, string>();
    if (user) {
      upnById.set(user.id, user.user_principal_name.toLowerCase());
      if (user.on_premises_connector_id) connectorOfUser.set(user.id, user.on_premises_connector_id);
    }
    const unknownIds = [...userIds].filter((id) => !upnById.has(id));
    for (const found of await findUsersForLog(kysely, tenantId, unknownIds)) {
      upnById.set(found.id, found.user_principal_name.toLowerCase());
      if (found.on_premises_connector_id) connectorOfUser.set(found.id, found.on_premises_connector_id);
    }
    let failures = failuresOf(
      [...signIns.values()],
      [...audits.values()],
      operationRows,
      (id) => upnById.get(id) ?? null,
    );
    failures = await withDeletedAccounts(failures, user);
    failures = await withWritebackOff(failures, operationRows, connectorOfUser);
    // A request asked about: its own failures are the ones judged (the user's others are context).
    if (selectors.correlationId !== undefined && selectors.userPrincipalName === undefined) {
      const own = failures.filter((f) => f.correlationId === selectors.correlationId);
      if (own.length > 0) failures = own;
    }
    if (selectors.errorCode !== undefined)
      failures = failures.filter(
        (f) => f.symptomCode === selectors.errorCode || f.rootCode === selectors.errorCode,
      );
    return {
      now,
      since,
      selectors,
      showConnectorConfiguration,
      user,
      signIns: [...signIns.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1)),
      audits: [...audits.values()].sort((a, b) => (a.activity_at < b.activity_at ? 1 : -1)),
      operations: operationRows.sort((a, b) => (a.created_at < b.created_at ? 1 : -1)),
      operationEvents: await listOperationEvents(kysely, operationIds.slice(0, rowLimit)),
      connectorCalls: await listConnectorCallsOfOperations(kysely, tenantId, operationIds.slice(0, rowLimit)),
      failures,
      codeScope,
      configurationChanges: await listAuditsOfActivities(
        kysely,
        tenantId,
        configurationActivities,
        since,
        rowLimit,
      ),
    };
  }

  /** The root cause: the failures' own cause, sharpened by the account's state and the connector. */
  function verdictOf(evidence: Evidence, findings: readonly Finding[]): DiagnoseReport['verdict'] {
    const byName = new Map(findings.map((f) => [f.check, f]));
    const failures = evidence.failures;
    let root: number | null = null;
    let symptom: number | null = null;
    let confidence: DiagnoseReport['verdict']['confidence'] = 'high';
    if (evidence.selectors.errorCode !== undefined && evidence.user === undefined && failures.length > 0) {
      // Across users: the most frequent cause among the failures with the code.
      const counts = new Map<number, number>();
      for (const f of failures) counts.set(f.rootCode, (counts.get(f.rootCode) ?? 0) + 1);
      const [top] = [...counts.entries()].sort((a, b) => b[1] - a[1]);
      root = top?.[0] ?? null;
      symptom = evidence.selectors.errorCode;
      if (counts.size > 1) confidence = 'medium';
    } else if (failures[0]) {
      root = failures[0].rootCode;
      symptom = failures[0].symptomCode;
    }
    const account = byName.get('accountState');
    if (
      account?.status === 'fail' &&
      account.code !== null &&
      (root === null || explainedByAccountState.has(root))
    ) {
      root = account.code;
      if (symptom === null) confidence = 'medium';
    }
    if (root === null) {
      return {
        code: null,
        name: null,
        confidence: 'low',
        summary: `No failure was found for ${describeSelectors(evidence)} since ${evidence.since}; every check is listed below.`,
        symptomCode: null,
      };
    }
    const entry = findCatalogEntry(root);
    const scope = new Set(failures.map((f) => f.userPrincipalName ?? '')).size;
    const rules = byName.get('policyCompliance')?.data?.['failedRules'] as Record<string, number> | undefined;
    const ruleText =
      rules && Object.keys(rules).length > 0 ? ` The rules failed: ${Object.keys(rules).join(', ')}.` : '';
    const suspect =
      byName.get('whatChanged')?.status === 'warn'
        ? ' A configuration change in the window was followed by more failures (see "What changed").'
        : '';
    const onPremDetail = failures.find((f) => f.rootCode === root && f.source === 'operation')?.detail;
    return {
      code: root,
      name: entry?.name ?? null,
      confidence,
      summary: `${entry?.message ?? describeCode(root)}${symptom !== null && symptom !== root ? ` Callers were answered ${describeCode(symptom)}; this is what lies beneath it.` : ''}${onPremDetail ? ` ${onPremDetail}.` : ''}${ruleText}${scope > 1 ? ` ${scope} users are affected.` : ''}${suspect}`,
      symptomCode: symptom !== root ? symptom : null,
    };
  }

  function describeSelectors(evidence: Evidence): string {
    const s = evidence.selectors;
    return [
      s.userPrincipalName ? `user ${s.userPrincipalName}` : '',
      s.correlationId ? `correlation ID ${s.correlationId}` : '',
      s.errorCode !== undefined ? `code ${s.errorCode}` : '',
    ]
      .filter(Boolean)
      .join(', ');
  }

  function timelineOf(evidence: Evidence): TimelineEntry[] {
    const entries: TimelineEntry[] = [];
    for (const s of evidence.signIns.slice(0, 50))
      entries.push({
        at: s.created_at,
        source: 'signIn',
        correlationId: s.correlation_id,
        code: s.error_code === 0 ? null : s.error_code,
        summary: `sign-in of ${s.user_principal_name}: ${s.error_code === 0 ? 'success' : describeCode(s.error_code)}`,
      });
    for (const a of evidence.audits.slice(0, 50))
      entries.push({
        at: a.activity_at,
        source: 'audit',
        correlationId: a.correlation_id,
        code: codeOfReason(a.result_reason) ?? null,
        summary: `${a.activity_display_name}: ${a.result}`,
      });
    const byOp = new Map(evidence.operations.map((o) => [o.id, o]));
    for (const e of evidence.operationEvents)
      entries.push({
        at: e.at,
        source: 'operation',
        correlationId: byOp.get(e.operation_id)?.correlation_id ?? '',
        code: e.code,
        summary: `operation ${e.operation_id.slice(0, 8)} ${e.state} (${e.step})${e.detail ? `: ${e.detail}` : ''}`,
      });
    for (const c of evidence.connectorCalls)
      entries.push({
        at: c.at,
        source: 'connector',
        correlationId: c.correlation_id,
        code: null,
        summary: `directory ${c.operation}: LDAP result ${c.ldap_result_code ?? 'none'}${c.ppolicy_error ? ` (${c.ppolicy_error})` : ''}`,
      });
    return entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }

  /**
   * Diagnoses a user, a request or a code in a window: the checks in the seed's order, the root
   * cause as the verdict, the scope and the timeline. Refuses selectors that name nothing (7700001).
   */
  async function diagnoseWithEvidence(
    selectors: DiagnoseSelectors,
    options: DiagnoseOptions = {},
  ): Promise<Diagnosis> {
    const now = clock.now();
    const since = assertSelectors(selectors, now);
    const evidence = await gather(selectors, since, now, options.showConnectorConfiguration ?? true);
    assertMayDiagnose(options.actor, evidence);
    const findings: Finding[] = [];
    for (const name of checkOrder) {
      const check = checks.get(name);
      if (check) findings.push(await check.run(evidence));
    }
    const failures = evidence.failures;
    const scope: DiagnoseReport['scope'] = evidence.codeScope
      ? {
          usersAffected: Math.max(
            evidence.codeScope.users,
            new Set(failures.map((f) => f.userPrincipalName ?? '')).size,
          ),
          requests: Math.max(evidence.codeScope.requests, new Set(failures.map((f) => f.correlationId)).size),
          firstSeen:
            [evidence.codeScope.firstSeen, failures.at(-1)?.at].filter((x): x is string => !!x).sort()[0] ??
            null,
          lastSeen:
            [evidence.codeScope.lastSeen, failures[0]?.at]
              .filter((x): x is string => !!x)
              .sort()
              .at(-1) ?? null,
          mostAffected: mostAffected(failures, evidence.codeScope.mostAffected),
        }
      : {
          usersAffected: new Set(failures.map((f) => f.userPrincipalName ?? '')).size,
          requests: new Set(failures.map((f) => f.correlationId)).size,
          firstSeen: failures.at(-1)?.at ?? null,
          lastSeen: failures[0]?.at ?? null,
          mostAffected: mostAffected(failures, []),
        };
    const report: DiagnoseReport = {
      generatedDateTime: now.toISOString(),
      selectors: {
        userPrincipalName: selectors.userPrincipalName ?? null,
        correlationId: selectors.correlationId ?? null,
        errorCode: selectors.errorCode ?? null,
        since,
      },
      verdict: verdictOf(evidence, findings),
      scope,
      findings,
      timeline: timelineOf(evidence),
    };
    return { report, evidence };
  }

  return {
    diagnoseWithEvidence,
    /** The report alone (see diagnoseWithEvidence). */
    async diagnose(selectors: DiagnoseSelectors, options: DiagnoseOptions = {}): Promise<DiagnoseReport> {
      return (await diagnoseWithEvidence(selectors, options)).report;
    },
  };
}

/** The users with the most failed requests, merged with the sign-in log's own count. */
function mostAffected(
  failures: readonly ObservedFailure[],
  fromLog: ReadonlyArray<{ userPrincipalName: string; requests: number }>,
): Array<{ userPrincipalName: string; requests: number }> {
  const counts = new Map<string, Set<string>>();
  for (const f of failures) {
    const key = f.userPrincipalName ?? '(unknown user)';
    const set = counts.get(key) ?? new Set<string>();
    set.add(f.correlationId);
    counts.set(key, set);
  }
  const merged = new Map<string, number>([...counts.entries()].map(([k, v]) => [k, v.size]));
  for (const u of fromLog)
    merged.set(u.userPrincipalName, Math.max(merged.get(u.userPrincipalName) ?? 0, u.requests));
  return [...merged.entries()]
    .map(([userPrincipalName, requests]) => ({ userPrincipalName, requests }))
    .sort((a, b) => b.requests - a.requests || a.userPrincipalName.localeCompare(b.userPrincipalName))
    .slice(0, 5);
}
