import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { toConnectorBody } from '../connectors/connector-mapper.js';
import type { ConnectorService } from '../connectors/connector-service.js';
import { buildZip, type ZipEntry } from '../platform/archive/zip-writer.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { SettingsService } from '../settings/settings-service.js';
import type { DomainService } from '../tenant/domain-service.js';
import type { DiagnoseService } from './diagnose-service.js';
import { renderReportMarkdown, renderReportText } from './diagnose-text.js';
import type { DiagnoseSelectors } from './diagnose-types.js';

/*
 * The support bundle: one archive with what a second-line engineer needs, and no secret. Its
 * files are the diagnose report (JSON, text, Markdown), the sign-in and audit rows and the
 * operations (with their steps) it was judged on, the connector calls, the configuration (the
 * settings, the connectors without their bind password, the domains), the versions, and a
 * manifest of every file with its size and SHA-256. Every row comes from stores that never hold a
 * password; the connectors go through their output mapper, which names only that a bind password
 * is set. The event log entries of the requests in the evidence are in `logs/event-log.json`, and
 * their connector calls (sign-ins, tests and syncs as well as operations) in
 * `traces/connector-calls.json`, by correlation ID. The HTTP captures of the user or of the
 * correlation ID are in `har/*.har` (HAR 1.2), redacted when they were recorded
 * (docs/captures.md).
 */

export interface SupportBundleDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly diagnose: Pick<DiagnoseService, 'diagnoseWithEvidence'>;
  readonly settings: Pick<
    SettingsService,
    'getPasswordPolicy' | 'getPasswordProtection' | 'getSmartLockout' | 'getSignIn'
  >;
  readonly connectors: Pick<ConnectorService, 'list'>;
  readonly domains: Pick<DomainService, 'listTenantDomains'>;
  /** The HAR documents of the captures matching the selectors (redacted when recorded). */
  readonly harsOf: (selectors: {
    readonly userPrincipalName?: string | undefined;
    readonly correlationId?: string | undefined;
  }) => Promise<ReadonlyArray<{ readonly name: string; readonly har: unknown }>>;
  /** The connector trace of these correlation IDs, oldest first (the trace holds no secret). */
  readonly connectorCallsOf: (
    correlationIds: readonly string[],
  ) => Promise<ReadonlyArray<{ readonly correlationId: string }>>;
  /** The event log entries of these correlation IDs, oldest first (the entries hold no secret). */
  readonly eventsOf: (correlationIds: readonly string[]) => Promise<readonly unknown[]>;
}

/** At most this many requests' event log entries go into a bundle. */
const bundledCorrelations = 100;

export interface SupportBundle {
  readonly archive: Buffer;
  readonly fileName: string;
  readonly files: ReadonlyArray<{ readonly name: string; readonly size: number; readonly sha256: string }>;
}

function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}

/** Rekey's version, as package.json states it (two levels up from src/diagnose and dist/diagnose). */
function rekeyVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The newest migration applied to the database (Kysely's own table). */
async function schemaVersion(db: Db): Promise<string> {
  try {
    const result = await sql<{
      name: string;
    }>`select name from rekey_migrations order by name desc limit 1`.execute(db.kysely);
    return result.rows[0]?.name ?? 'none';
  } catch {
    return 'unknown';
  }
}

/** Builds the bundle of a user, a request or a code (the diagnose selectors). */
export async function buildSupportBundle(
  deps: SupportBundleDeps,
  selectors: DiagnoseSelectors,
): Promise<SupportBundle> {
  const { report, evidence } = await deps.diagnose.diagnoseWithEvidence(selectors);
  const connectors = (await deps.connectors.list()).map(toConnectorBody);
  const now = deps.clock.now();
  const correlationIds = [
    ...new Set(
      [
        ...(selectors.correlationId === undefined ? [] : [selectors.correlationId]),
        ...evidence.signIns.map((row) => row.correlation_id),
        ...evidence.audits.map((row) => row.correlation_id),
        ...evidence.operations.map((row) => row.correlation_id),
      ].filter((id): id is string => typeof id === 'string' && id !== ''),
    ),
  ].slice(0, bundledCorrelations);
  const events = await deps.eventsOf(correlationIds);
  const calls = await deps.connectorCallsOf(correlationIds);
  const callsByCorrelation: Record<string, unknown[]> = {};
  for (const call of calls) {
    const list = callsByCorrelation[call.correlationId] ?? [];
    list.push(call);
    callsByCorrelation[call.correlationId] = list;
  }
  const hars = await deps.harsOf({
    userPrincipalName: selectors.userPrincipalName,
    correlationId: selectors.correlationId,
  });
  const files: ZipEntry[] = [
    { name: 'diagnose.json', data: json(report) },
    { name: 'diagnose.txt', data: Buffer.from(renderReportText(report), 'utf8') },
    { name: 'diagnose.md', data: Buffer.from(renderReportMarkdown(report), 'utf8') },
    { name: 'logs/sign-ins.json', data: json(evidence.signIns) },
    { name: 'logs/audit.json', data: json(evidence.audits) },
    { name: 'logs/event-log.json', data: json(events) },
    { name: 'logs/configuration-changes.json', data: json(evidence.configurationChanges) },
    {
      name: 'operations/operations.json',
      data: json(
        evidence.operations.map((operation) => ({
          ...operation,
          events: evidence.operationEvents.filter((event) => event.operation_id === operation.id),
        })),
      ),
    },
    { name: 'operations/connector-trace.json', data: json(evidence.connectorCalls) },
    { name: 'traces/connector-calls.json', data: json(callsByCorrelation) },
    ...hars.map((har) => ({ name: `har/${har.name}`, data: json(har.har) })),
    {
      name: 'configuration/settings.json',
      data: json({
        passwordPolicy: await deps.settings.getPasswordPolicy(),
        passwordProtection: await deps.settings.getPasswordProtection(),
        smartLockout: await deps.settings.getSmartLockout(),
        signIn: await deps.settings.getSignIn(),
      }),
    },
    { name: 'configuration/connectors.json', data: json(connectors) },
    {
      name: 'configuration/domains.json',
      data: json(
        (await deps.domains.listTenantDomains()).map((d) => ({
          id: d.name,
          authenticationType: d.authentication_type,
          isDefault: d.is_default === 1,
          isVerified: d.is_verified === 1,
          passwordChangeUrl: d.password_change_url,
        })),
      ),
    },
    {
      name: 'versions.json',
      data: json({
        rekey: rekeyVersion(),
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        database: deps.db.dialect,
        schema: await schemaVersion(deps.db),
      }),
    },
  ];
  const manifest = {
    generatedDateTime: now.toISOString(),
    selectors: report.selectors,
    verdict: { code: report.verdict.code, name: report.verdict.name },
    files: files.map((f) => ({
      name: f.name,
      size: f.data.length,
      sha256: createHash('sha256').update(f.data).digest('hex'),
    })),
  };
  const all = [...files, { name: 'manifest.json', data: json(manifest) }];
  const stamp = now
    .toISOString()
    .replaceAll(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return {
    archive: buildZip(all, now),
    fileName: `rekey-support-${stamp}.zip`,
    files: manifest.files,
  };
}
