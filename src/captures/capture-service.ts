import { randomUUID } from 'node:crypto';
import { v7 as timeOrderedUuid } from 'uuid';
import { recordAudit } from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import type { Actor, RequestContext } from '../platform/request-context.js';
import { captureAdministrationRoles, hasAnyRole } from '../users/authorization.js';
import { type Exchange, type HarDocument, toHarDocument, toHarEntry } from './capture-har.js';
import {
  type CaptureRow,
  findActiveHeaderCapture,
  findCapture,
  insertCapture,
  insertCaptureEntryWithinCap,
  listActiveCaptures,
  listCaptureEntries,
  listCaptureEntriesOfCorrelation,
  listCaptures,
  listCapturesMatching,
  stopCapture,
} from './capture-store.js';

/*
 * HTTP exchange captures: for a time window, every API exchange of one user (by the signed-in
 * user, or the user name of a sign-in), of one correlation ID, or of an administrator's requests
 * that carry `Rekey-Capture: on`, recorded as redacted HAR entries (capture-har.ts).
 *
 * Cheap when nothing is captured: each process keeps the active captures in memory, and the hook
 * asks only `hasActiveCaptures()` (no query) before doing anything. The list is reloaded when a
 * capture is started or stopped through this process, and at most every `reloadIntervalMs` (5 s)
 * otherwise, in the background, so a capture started through another process (or the CLI) is
 * honoured here within that interval. A window's end needs no reload: each capture in memory
 * carries its end, compared at every match.
 */

export type CaptureRecord = CaptureRow;

/** What a capture is started for: exactly one of the three selectors. */
export interface CaptureInput {
  readonly userPrincipalName?: string | undefined;
  readonly userId?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly durationMinutes: number;
  readonly maxEntries?: number | undefined;
}

/** Who or what an exchange belongs to, as the hook finds it. */
export interface ExchangeKey {
  readonly userId: string | undefined;
  /** Lower case: the signed-in user's, or the user name a sign-in asked for. */
  readonly userPrincipalName: string | undefined;
  readonly correlationId: string;
}

export interface CaptureService {
  start(context: RequestContext, input: CaptureInput): Promise<CaptureRecord>;
  list(): Promise<CaptureRecord[]>;
  /** One capture; 7701403 when there is none with this id. */
  get(id: string): Promise<CaptureRecord>;
  /** Ends a capture now (its entries stay); a capture already ended is answered as it is. */
  stop(context: RequestContext, id: string): Promise<CaptureRecord>;
  /** A capture's HAR document. */
  har(id: string): Promise<{ readonly capture: CaptureRecord; readonly har: HarDocument }>;
  /**
   * The HAR documents a support bundle of these selectors holds: one per capture of the user or
   * of the correlation ID, and the entries of the correlation ID recorded by other captures.
   */
  harsFor(selectors: {
    readonly userPrincipalName?: string | undefined;
    readonly correlationId?: string | undefined;
  }): Promise<Array<{ readonly name: string; readonly har: HarDocument }>>;
  /** Reloads the active captures now (a capture another process started is then honoured at once). */
  refresh(): Promise<void>;
  /** The one in-memory check of the hook: true while some capture may match an exchange. */
  hasActiveCaptures(): boolean;
  /** The active captures an exchange belongs to (in memory; no query). */
  matching(key: ExchangeKey): readonly CaptureRecord[];
  /** Whether a caller may switch capture on with the header. */
  mayCaptureByHeader(actor: Actor | undefined): boolean;
  /**
   * The capture that holds an administrator's header-marked exchanges: their active one, or a new
   * one of an hour (audited like a started capture).
   */
  headerCapture(context: RequestContext, actor: Actor): Promise<CaptureRecord>;
  /** Records one exchange in each of `captures`, in the background; see idle(). */
  record(captures: readonly CaptureRecord[], exchange: Exchange, userId: string | undefined): void;
  /** Resolves when every recording started so far has been written (tests; shutdown). */
  idle(): Promise<void>;
}

export interface CaptureServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly publicUrl: string;
  /** The user of an id or a UPN, or undefined when there is none. */
  readonly findUser: (
    idOrUpn: string,
  ) => Promise<{ readonly id: string; readonly userPrincipalName: string } | undefined>;
  /** How stale the in-memory list may get before a background reload (default 5 s). */
  readonly reloadIntervalMs?: number;
}

/** The longest window, in minutes: one day. */
export const maxCaptureMinutes = 1440;
/** Entries per capture unless the capture says fewer. */
export const defaultMaxEntries = 1000;
/** Captures recording at once in a tenant. */
export const maxActiveCaptures = 20;
/** How long a capture that the header opened records. */
const headerCaptureMinutes = 60;
/** At most this many captures go into one support bundle. */
const bundledCaptures = 20;

export function createCaptureService(deps: CaptureServiceDeps): CaptureService {
  const { db, tenantId, clock, logger } = deps;
  const reloadIntervalMs = deps.reloadIntervalMs ?? 5000;
  let active: CaptureRecord[] = [];
  let loadedAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();

  function track(work: Promise<unknown>): void {
    inFlight.add(work);
    const forget = () => inFlight.delete(work);
    work.then(forget, forget);
  }

  async function reload(): Promise<void> {
    const startedAt = Date.now();
    active = await listActiveCaptures(db.kysely, tenantId, clock.now().toISOString());
    loadedAt = startedAt;
  }

  /** Starts a background reload when the list is stale (one at a time). */
  function refreshIfStale(): void {
    if (loading || Date.now() - loadedAt < reloadIntervalMs) return;
    loading = reload()
      .catch((error: unknown) => {
        // The next request tries again; until then the last list stands.
        loadedAt = Date.now();
        logger.warn({ err: error }, 'captures: could not reload the active captures');
      })
      .finally(() => {
        loading = undefined;
      });
    track(loading);
  }

  async function get(id: string): Promise<CaptureRecord> {
    const found = await findCapture(db.kysely, tenantId, id);
    if (!found) throw new RekeyError(Codes.CaptureNotFound, { details: { id } });
    return found;
  }

  function auditTarget(capture: CaptureRecord) {
    return {
      id: capture.id,
      displayName: `HTTP capture of ${capture.user_principal_name ?? capture.user_id ?? capture.correlation_id ?? 'header-marked requests'}`,
      userPrincipalName: null,
    };
  }

  async function create(
    context: RequestContext,
    row: Omit<
      CaptureRecord,
      'id' | 'tenant_id' | 'created_at' | 'entry_count' | 'dropped_count' | 'stopped_at'
    >,
  ): Promise<CaptureRecord> {
    const now = clock.now().toISOString();
    const running = await listActiveCaptures(db.kysely, tenantId, now);
    if (running.length >= maxActiveCaptures)
      throw new RekeyError(Codes.CaptureLimitReached, {
        details: { activeCaptures: running.length, limit: maxActiveCaptures },
      });
    const id = randomUUID();
    const record = { id, tenant_id: tenantId, created_at: now, stopped_at: null, ...row };
    await db.kysely.transaction().execute(async (trx) => {
      await insertCapture(trx, record);
      await recordAudit(
        trx,
        tenantId,
        context,
        {
          activity: 'startHttpCapture',
          result: 'success',
          targets: [auditTarget({ ...record, entry_count: 0, dropped_count: 0 })],
          additionalDetails: [
            { key: 'target', value: row.target },
            { key: 'endDateTime', value: row.ends_at },
            { key: 'maxEntries', value: String(row.max_entries) },
          ],
        },
        now,
      );
    });
    await reload();
    return get(id);
  }

  return {
    async start(context, input) {
      const given = [input.userPrincipalName, input.userId, input.correlationId].filter(
        (v) => v !== undefined,
      );
      if (given.length !== 1)
        throw new RekeyError(Codes.CaptureSelectorRequired, {
          details: { given: given.length },
        });
      if (
        !Number.isInteger(input.durationMinutes) ||
        input.durationMinutes < 1 ||
        input.durationMinutes > maxCaptureMinutes
      )
        throw new RekeyError(Codes.RequestValidationFailed, {
          message: `durationMinutes must be a whole number from 1 to ${maxCaptureMinutes}.`,
          details: {
            fields: [{ field: 'body/durationMinutes', problem: `must be from 1 to ${maxCaptureMinutes}` }],
          },
        });
      let userPrincipalName: string | null = null;
      let userId: string | null = null;
      if (input.userId !== undefined) {
        const user = await deps.findUser(input.userId);
        if (!user) throw new RekeyError(Codes.ResourceNotFound, { details: { userId: input.userId } });
        userId = user.id;
        userPrincipalName = user.userPrincipalName.toLowerCase();
      } else if (input.userPrincipalName !== undefined) {
        // A name nobody holds yet is kept: its sign-in attempts are what the capture is for.
        userPrincipalName = input.userPrincipalName.toLowerCase();
        userId = (await deps.findUser(userPrincipalName))?.id ?? null;
      }
      const ends = new Date(clock.now().getTime() + input.durationMinutes * 60_000).toISOString();
      return create(context, {
        created_by_user_id: context.actor?.userId ?? null,
        created_by_upn: context.actor?.userPrincipalName ?? null,
        target: input.correlationId === undefined ? 'user' : 'correlationId',
        user_principal_name: userPrincipalName,
        user_id: userId,
        correlation_id: input.correlationId ?? null,
        ends_at: ends,
        max_entries: input.maxEntries ?? defaultMaxEntries,
      });
    },

    list: () => listCaptures(db.kysely, tenantId, 500),

    get,

    async stop(context, id) {
      const capture = await get(id);
      const now = clock.now().toISOString();
      const stopped = await stopCapture(db.kysely, tenantId, id, now);
      if (stopped) {
        await recordAudit(
          db.kysely,
          tenantId,
          context,
          {
            activity: 'stopHttpCapture',
            result: 'success',
            targets: [auditTarget(capture)],
            additionalDetails: [{ key: 'entryCount', value: String(capture.entry_count) }],
          },
          now,
        );
        await reload();
      }
      return get(id);
    },

    async har(id) {
      const capture = await get(id);
      const entries = await listCaptureEntries(db.kysely, tenantId, id);
      return { capture, har: toHarDocument(describe(capture), entries) };
    },

    async harsFor(selectors) {
      const upn = selectors.userPrincipalName?.toLowerCase();
      const user = upn === undefined ? undefined : await deps.findUser(upn);
      const captures = await listCapturesMatching(
        db.kysely,
        tenantId,
        {
          ...(upn === undefined ? {} : { userPrincipalName: upn }),
          ...(user === undefined ? {} : { userId: user.id }),
          ...(selectors.correlationId === undefined ? {} : { correlationId: selectors.correlationId }),
        },
        bundledCaptures,
      );
      const hars: Array<{ name: string; har: HarDocument }> = [];
      for (const capture of captures) {
        const entries = await listCaptureEntries(db.kysely, tenantId, capture.id);
        hars.push({ name: `capture-${capture.id}.har`, har: toHarDocument(describe(capture), entries) });
      }
      if (selectors.correlationId !== undefined) {
        const own = new Set(captures.map((c) => c.id));
        const others = (
          await listCaptureEntriesOfCorrelation(
            db.kysely,
            tenantId,
            selectors.correlationId,
            defaultMaxEntries,
          )
        ).filter((entry) => !own.has(entry.captureId));
        if (others.length > 0)
          hars.push({
            name: 'correlation.har',
            har: toHarDocument(
              `Exchanges of correlation ID ${selectors.correlationId} recorded by other captures`,
              others.map((entry) => entry.harEntry),
            ),
          });
      }
      return hars;
    },

    refresh: reload,

    hasActiveCaptures() {
      refreshIfStale();
      return active.length > 0;
    },

    matching(key) {
      const now = clock.now().toISOString();
      return active.filter(
        (capture) =>
          capture.ends_at > now &&
          ((capture.target === 'correlationId' && capture.correlation_id === key.correlationId) ||
            (capture.target === 'user' &&
              ((capture.user_id !== null && capture.user_id === key.userId) ||
                (capture.user_principal_name !== null &&
                  capture.user_principal_name === key.userPrincipalName)))),
      );
    },

    mayCaptureByHeader(actor) {
      return actor !== undefined && hasAnyRole(actor.roles, captureAdministrationRoles);
    },

    async headerCapture(context, actor) {
      const now = clock.now().toISOString();
      const found = await findActiveHeaderCapture(db.kysely, tenantId, actor.userId, now);
      if (found) return found;
      return create(context, {
        created_by_user_id: actor.userId,
        created_by_upn: actor.userPrincipalName,
        target: 'header',
        user_principal_name: null,
        user_id: null,
        correlation_id: null,
        ends_at: new Date(clock.now().getTime() + headerCaptureMinutes * 60_000).toISOString(),
        max_entries: defaultMaxEntries,
      });
    },

    record(captures, exchange, userId) {
      if (captures.length === 0) return;
      const work = (async () => {
        const entry = toHarEntry(deps.publicUrl, exchange);
        const path = exchange.url.split('?')[0] ?? exchange.url;
        for (const capture of captures) {
          const harEntry = JSON.stringify({ ...entry, _captureId: capture.id });
          await insertCaptureEntryWithinCap(db.kysely, {
            id: timeOrderedUuid(),
            tenantId,
            captureId: capture.id,
            createdAt: exchange.startedAt.toISOString(),
            correlationId: exchange.correlationId.slice(0, 64),
            userId: userId ?? null,
            method: exchange.method,
            url: path.slice(0, 2048),
            status: exchange.status,
            harEntry,
          });
        }
      })().catch((error: unknown) => {
        // A capture is evidence, not the request: failing to keep it never fails the request.
        logger.warn(
          { err: error, correlationId: exchange.correlationId },
          'captures: could not record an exchange',
        );
      });
      track(work);
    },

    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

/** What a capture recorded, in words, for the HAR's comment. */
function describe(capture: CaptureRecord): string {
  const what =
    capture.target === 'header'
      ? `requests of ${capture.created_by_upn ?? 'an administrator'} marked Rekey-Capture: on`
      : capture.target === 'correlationId'
        ? `exchanges of correlation ID ${capture.correlation_id}`
        : `exchanges of user ${capture.user_principal_name ?? capture.user_id}`;
  const cut =
    capture.dropped_count > 0
      ? `; ${capture.dropped_count} more matched after the cap of ${capture.max_entries} and were not kept`
      : '';
  return `Rekey capture ${capture.id}: ${what}, from ${capture.created_at} to ${capture.stopped_at ?? capture.ends_at}${cut}. Secrets are redacted.`;
}
