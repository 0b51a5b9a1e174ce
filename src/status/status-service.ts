import { randomUUID } from 'node:crypto';
import { EventIds } from '../event-log/event-catalog.js';
import { recordEvents } from '../event-log/event-log-service.js';
import type { Clock } from '../platform/clock.js';
import type { StatusSettings } from '../platform/config.js';
import { type Db, isDatabaseReady } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import type { Logger } from '../platform/log.js';
import {
  addIncidentPost,
  claimStatusEvaluation,
  countCodeHits,
  countConnectorCalls,
  countTerminatedOperations,
  deleteResolvedIncidentsBefore,
  findIncident,
  findOpenIncident,
  type IncidentRow,
  insertIncident,
  listIncidentPosts,
  listIncidents,
  type QueueStats,
  readQueueStats,
  updateIncident,
} from './status-store.js';

/*
 * Service status: the health of each component (the API, the database, the worker queue, each
 * directory connector) and the incidents Rekey opens by itself when an error code's rate crosses
 * a rule's threshold, resolves when it falls back, and keeps 30 days after that.
 *
 * The rules run in the background work (`rekey serve` with its worker, `rekey worker`), at most
 * once per interval per tenant whatever the number of processes: each evaluation is claimed first
 * (status_evaluations). Reading the status never evaluates anything, so a page view costs a few
 * index reads.
 */

/** Graph's serviceHealthStatus values that Rekey uses. */
export type HealthStatus =
  | 'serviceOperational'
  | 'serviceDegradation'
  | 'serviceInterruption'
  | 'serviceRestored';

const severity: Readonly<Record<HealthStatus, number>> = {
  serviceOperational: 0,
  serviceRestored: 0,
  serviceDegradation: 1,
  serviceInterruption: 2,
};

/** The worse of two statuses. */
function worse(a: HealthStatus, b: HealthStatus): HealthStatus {
  return severity[b] > severity[a] ? b : a;
}

/** One component, as the status page and Graph's healthOverviews show it. */
export interface ComponentHealth {
  /** `api`, `database`, `workerQueue` or `connector:<id>`. */
  readonly id: string;
  readonly kind: 'api' | 'database' | 'workerQueue' | 'connector';
  readonly displayName: string;
  readonly status: HealthStatus;
  /** What was measured, in words. */
  readonly detail: string;
  /** Figures behind the status (queue depth and lag, connector calls). */
  readonly figures: Readonly<Record<string, number | string | null>>;
}

/** An incident with its posts. */
export interface Incident extends IncidentRow {
  readonly posts: ReadonlyArray<{
    readonly createdAt: string;
    readonly postType: string;
    readonly description: string;
  }>;
}

/** An incident rule: codes that, hitting enough users in the window, mean one known fault. */
interface IncidentRule {
  readonly id: string;
  readonly service: string;
  readonly title: string;
  readonly classification: 'incident' | 'advisory';
  readonly status: HealthStatus;
  /** The code named on the incident. */
  readonly code: number;
  /** Users and requests the rule's fault hit since a time. */
  count(since: string): Promise<{ readonly requests: number; readonly users: number }>;
  readonly threshold: number;
  /** The impact, in words, from the figures. */
  describe(users: number, requests: number, windowMinutes: number): string;
}

/** The rules, with thresholds from the settings (docs/status.md). */
function incidentRules(db: Db, tenantId: string, settings: StatusSettings): readonly IncidentRule[] {
  const unreachableCodes = [
    Codes.PasswordChangeOnPremisesConnectivityFailure,
    Codes.OnPremiseStoreIsNotAvailable,
    Codes.OnPremisePasswordValidatorRequestTimedout,
  ];
  return [
    {
      id: 'onPremisesUnreachable',
      service: 'connectors',
      title: 'On-premises directory unreachable',
      classification: 'incident',
      status: 'serviceInterruption',
      code: Codes.PasswordChangeOnPremisesConnectivityFailure,
      count: (since) => countCodeHits(db.kysely, tenantId, unreachableCodes, since),
      threshold: settings.unreachableUsers,
      describe: (users, requests, minutes) =>
        `Rekey could not reach an on-premises directory: ${users} user(s) hit by ${requests} failed request(s) (AADSTS120013, 80001 or 80002) in the last ${minutes} minutes. Password changes of synced users are retried until their deadline; pass-through sign-ins fail.`,
    },
    {
      id: 'passwordChangesTerminated',
      service: 'workerQueue',
      title: 'Password changes failing',
      classification: 'incident',
      status: 'serviceDegradation',
      code: Codes.PasswordChangeAsyncJobStateTerminated,
      count: (since) => countTerminatedOperations(db.kysely, tenantId, since),
      threshold: settings.terminatedUsers,
      describe: (users, requests, minutes) =>
        `${requests} password operation(s) of ${users} user(s) ended terminated (AADSTS120008) in the last ${minutes} minutes; each keeps its cause (rekey operations list --state terminated).`,
    },
  ];
}

export interface StatusServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: StatusSettings;
  /** The tenant's connectors, by id and name. */
  readonly listConnectors: () => Promise<
    ReadonlyArray<{ readonly id: string; readonly displayName: string }>
  >;
}

export type StatusService = ReturnType<typeof createStatusService>;

const dayMs = 86_400_000;
/** Resolved incidents are kept this long (as Graph keeps service health history). */
export const incidentHistoryDays = 30;

export function createStatusService(deps: StatusServiceDeps) {
  const { db, tenantId, clock, logger, settings } = deps;
  const rules = incidentRules(db, tenantId, settings);
  const owner = `status-${randomUUID()}`;

  /** The worker queue: depth of due operations and the lag of the oldest. */
  async function queue(now: Date = clock.now()): Promise<QueueStats & { readonly lagSeconds: number }> {
    const stats = await readQueueStats(db.kysely, now.toISOString());
    const lagSeconds =
      stats.oldestDueAt === null ? 0 : Math.max(0, (now.getTime() - Date.parse(stats.oldestDueAt)) / 1000);
    return { ...stats, lagSeconds };
  }

  /** Every component's health now, with the open incidents' statuses folded in. */
  async function components(): Promise<ComponentHealth[]> {
    const now = clock.now();
    const result: ComponentHealth[] = [
      {
        id: 'api',
        kind: 'api',
        displayName: 'API',
        status: 'serviceOperational',
        detail: 'Answering requests.',
        figures: {},
      },
    ];
    const ready = await isDatabaseReady(db);
    result.push({
      id: 'database',
      kind: 'database',
      displayName: 'Database',
      status: ready ? 'serviceOperational' : 'serviceInterruption',
      detail: ready ? 'Answering, with the current schema.' : 'Not answering, or its schema is not current.',
      figures: { dialect: db.dialect },
    });
    // Without the database nothing else can be measured.
    if (!ready) return result;
    const open = (await listIncidents(db.kysely, tenantId, now.toISOString())).filter(
      (i) => i.is_resolved === 0,
    );
    const incidentStatus = (service: string): HealthStatus =>
      open
        .filter((i) => i.service === service)
        .reduce<HealthStatus>((status, i) => worse(status, i.status as HealthStatus), 'serviceOperational');

    const q = await queue(now);
    const lagged = q.lagSeconds > settings.queueLagSeconds;
    result.push({
      id: 'workerQueue',
      kind: 'workerQueue',
      displayName: 'Worker queue',
      status: worse(
        lagged
          ? q.lagSeconds > settings.queueLagSeconds * 5
            ? 'serviceInterruption'
            : 'serviceDegradation'
          : 'serviceOperational',
        incidentStatus('workerQueue'),
      ),
      detail: lagged
        ? `${q.due} operation(s) due; the oldest has waited ${Math.round(q.lagSeconds)} s (more than ${settings.queueLagSeconds} s): is a worker running?`
        : `${q.due} operation(s) due; the oldest has waited ${Math.round(q.lagSeconds)} s.`,
      figures: { depth: q.due, lagSeconds: Math.round(q.lagSeconds * 10) / 10 },
    });

    const since = new Date(now.getTime() - settings.windowSeconds * 1000).toISOString();
    const calls = new Map(
      (await countConnectorCalls(db.kysely, tenantId, since)).map((c) => [c.connectorId, c]),
    );
    const connectorIncident = incidentStatus('connectors');
    for (const connector of await deps.listConnectors()) {
      const counts = calls.get(connector.id);
      let status: HealthStatus = 'serviceOperational';
      let detail = `No calls in the last ${Math.round(settings.windowSeconds / 60)} minutes.`;
      if (counts) {
        if (counts.unreachable === counts.calls) status = 'serviceInterruption';
        else if (counts.unreachable > 0) status = 'serviceDegradation';
        detail = `${counts.calls} call(s) in the last ${Math.round(settings.windowSeconds / 60)} minutes, ${counts.unreachable} without an answer from the directory.`;
      }
      // An open incident about the directories shows on every connector that is not known good.
      if (status !== 'serviceOperational' || !counts) status = worse(status, connectorIncident);
      result.push({
        id: `connector:${connector.id}`,
        kind: 'connector',
        displayName: connector.displayName,
        status,
        detail,
        figures: {
          calls: counts?.calls ?? 0,
          unreachable: counts?.unreachable ?? 0,
          lastCallDateTime: counts?.lastAt ?? null,
        },
      });
    }
    return result;
  }

  /** The worst status of all components. */
  function overall(all: readonly ComponentHealth[]): HealthStatus {
    return all.reduce<HealthStatus>((status, c) => worse(status, c.status), 'serviceOperational');
  }

  async function withPosts(rows: readonly IncidentRow[]): Promise<Incident[]> {
    const posts = await listIncidentPosts(
      db.kysely,
      rows.map((row) => row.id),
    );
    return rows.map((row) => ({
      ...row,
      posts: posts
        .filter((post) => post.incident_id === row.id)
        .map((post) => ({
          createdAt: post.created_at,
          postType: post.post_type,
          description: post.description,
        })),
    }));
  }

  /** The incidents of the last 30 days and every open one, newest first, with their posts. */
  async function incidents(): Promise<Incident[]> {
    const since = new Date(clock.now().getTime() - incidentHistoryDays * dayMs).toISOString();
    return withPosts(await listIncidents(db.kysely, tenantId, since));
  }

  async function incident(id: string): Promise<Incident | undefined> {
    const row = await findIncident(db.kysely, tenantId, id);
    return row ? (await withPosts([row]))[0] : undefined;
  }

  /**
   * Runs every rule once: opens an incident for a rule whose users in the window reached its
   * threshold, updates the figures of one still open, and resolves one whose users fell below it.
   * Each opening and resolution is written to the event log (4001, 4002) with its incident.
   * Returns what changed.
   */
  async function evaluate(): Promise<{ readonly opened: string[]; readonly resolved: string[] }> {
    const now = clock.now();
    const at = now.toISOString();
    const since = new Date(now.getTime() - settings.windowSeconds * 1000).toISOString();
    const minutes = Math.round(settings.windowSeconds / 60);
    const opened: string[] = [];
    const resolved: string[] = [];
    for (const rule of rules) {
      const hits = await rule.count(since);
      const open = await findOpenIncident(db.kysely, tenantId, rule.id, rule.service);
      const impact = rule.describe(hits.users, hits.requests, minutes);
      if (!open && hits.users >= rule.threshold) {
        const id = `RK${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
        await db.kysely.transaction().execute(async (trx) => {
          await insertIncident(
            trx,
            {
              id,
              tenant_id: tenantId,
              rule: rule.id,
              service: rule.service,
              title: rule.title,
              classification: rule.classification,
              status: rule.status,
              impact_description: impact,
              error_code: rule.code,
              users_affected: hits.users,
              requests_affected: hits.requests,
              is_resolved: 0,
              start_at: at,
              end_at: null,
              last_modified_at: at,
            },
            `Opened: ${impact}`,
          );
          await recordEvents(trx, tenantId, [
            {
              eventId: EventIds.IncidentOpened,
              at,
              correlationId: id,
              message: `Incident ${id} opened: ${rule.title}. ${impact}`,
              details: {
                incidentId: id,
                rule: rule.id,
                usersAffected: hits.users,
                requestsAffected: hits.requests,
              },
            },
          ]);
        });
        opened.push(id);
        logger.warn({ incidentId: id, rule: rule.id, users: hits.users }, 'incident opened');
      } else if (open && hits.users < rule.threshold) {
        const summary = `Resolved: fewer than ${rule.threshold} user(s) hit in the last ${minutes} minutes (${hits.users} now). At its worst the incident hit ${open.users_affected} user(s).`;
        await db.kysely.transaction().execute(async (trx) => {
          if (
            !(await updateIncident(trx, open.id, {
              at,
              usersAffected: open.users_affected,
              requestsAffected: open.requests_affected,
              impactDescription: open.impact_description,
              resolvedAt: at,
            }))
          )
            return;
          await addIncidentPost(trx, open.id, at, summary);
          await recordEvents(trx, tenantId, [
            {
              eventId: EventIds.IncidentResolved,
              at,
              correlationId: open.id,
              message: `Incident ${open.id} resolved: ${open.title}. ${summary}`,
              details: { incidentId: open.id, rule: rule.id, usersAffected: open.users_affected },
            },
          ]);
        });
        resolved.push(open.id);
        logger.info({ incidentId: open.id, rule: rule.id }, 'incident resolved');
      } else if (open && hits.users > open.users_affected) {
        // Still open and growing: the figures keep the worst seen, with a post saying so.
        await db.kysely.transaction().execute(async (trx) => {
          await updateIncident(trx, open.id, {
            at,
            usersAffected: hits.users,
            requestsAffected: Math.max(hits.requests, open.requests_affected),
            impactDescription: impact,
          });
          await addIncidentPost(trx, open.id, at, `Update: ${impact}`);
        });
      }
    }
    await deleteResolvedIncidentsBefore(
      db.kysely,
      tenantId,
      new Date(now.getTime() - incidentHistoryDays * dayMs).toISOString(),
    );
    return { opened, resolved };
  }

  /**
   * Evaluates the rules if no other process did within the interval: claims the evaluation
   * first, so that any number of workers over one database evaluate once per interval. Returns
   * undefined when another process holds the claim.
   */
  async function evaluateIfDue(): Promise<Awaited<ReturnType<typeof evaluate>> | undefined> {
    const now = clock.now();
    const until = new Date(now.getTime() + settings.evaluateSeconds * 1000).toISOString();
    if (!(await claimStatusEvaluation(db.kysely, tenantId, owner, now.toISOString(), until)))
      return undefined;
    return evaluate();
  }

  return { components, overall, queue, incidents, incident, evaluate, evaluateIfDue };
}
