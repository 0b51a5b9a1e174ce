import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { Kysely } from 'kysely';
import { toGraphDirectoryAudit } from '../audit/audit-mapper.js';
import { directoryAuditsResource } from '../audit/audit-query.js';
import { listAudits } from '../audit/audit-service.js';
import type { Database, DirectoryAuditRow, SignInRow } from '../platform/db/schema.js';
import {
  type CheckedField,
  type CheckedFilter,
  decodeSkipToken,
  type OrderByItem,
  type PageRequest,
  parseQueryOptions,
  type ResourceDescription,
} from '../platform/odata/index.js';
import { listSignIns } from '../sign-ins/sign-in-log-service.js';
import { toGraphSignIn } from '../sign-ins/sign-in-mapper.js';
import { signInsResource } from '../sign-ins/sign-in-query.js';
import type { LogTimeRange } from './time-range.js';

/*
 * `rekey logs export`: a whole log (or the part a time range and an OData $filter select) written
 * as JSON lines or CSV, oldest first. Memory stays the same whatever the size: one keyset page is
 * read, written, and flushed to the output (waiting for 'drain' when the output is slower than the
 * database) before the next page is read.
 */

export type LogName = 'signins' | 'audits';
export type ExportFormat = 'jsonl' | 'csv';

export const logNames: readonly LogName[] = ['signins', 'audits'];
export const exportFormats: readonly ExportFormat[] = ['jsonl', 'csv'];

/** Rows per page: the largest `$top` the log APIs allow. */
export const exportPageSize = 1000;

interface PageQuery {
  readonly filter: CheckedFilter | undefined;
  readonly page: PageRequest;
  readonly count: boolean;
}

/** What the export needs to know about one log. */
interface LogSource<Row> {
  readonly resource: ResourceDescription;
  /** The Graph property holding the event's time (the keyset order and the time range). */
  readonly timeProperty: string;
  readonly listPage: (
    db: Kysely<Database>,
    tenantId: string,
    query: PageQuery,
  ) => Promise<{ rows: Row[]; nextSkipToken: string | undefined; count: number | undefined }>;
  readonly toGraph: (row: Row) => Record<string, unknown>;
  /** Object-valued properties whose members become their own CSV columns, as dotted paths. */
  readonly csvExpand: Readonly<Record<string, readonly string[]>>;
}

const signInSource: LogSource<SignInRow> = {
  resource: signInsResource,
  timeProperty: 'createdDateTime',
  listPage: listSignIns,
  toGraph: toGraphSignIn,
  csvExpand: {
    status: ['errorCode', 'failureReason', 'additionalDetails'],
    deviceDetail: [
      'deviceId',
      'displayName',
      'operatingSystem',
      'browser',
      'isCompliant',
      'isManaged',
      'trustType',
    ],
    location: ['city', 'state', 'countryOrRegion', 'geoCoordinates'],
  },
};

const auditSource: LogSource<DirectoryAuditRow> = {
  resource: directoryAuditsResource,
  timeProperty: 'activityDateTime',
  listPage: listAudits,
  toGraph: toGraphDirectoryAudit,
  csvExpand: {
    initiatedBy: [
      'user.id',
      'user.displayName',
      'user.userPrincipalName',
      'user.ipAddress',
      'app.appId',
      'app.displayName',
    ],
  },
};

/**
 * The CSV header of a log: every Graph property in output order, the members of the objects that
 * have a fixed shape as `parent.member` columns (status.errorCode, initiatedBy.user.id...), and
 * anything else that is an object or array as one column of JSON text.
 */
export function csvColumns(log: LogName): string[] {
  const source = log === 'signins' ? signInSource : auditSource;
  return Object.keys(source.resource.properties).flatMap((property) => {
    const members = source.csvExpand[property];
    return members ? members.map((member) => `${property}.${member}`) : [property];
  });
}

function valueAt(object: Record<string, unknown>, path: string): unknown {
  let value: unknown = object;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return null;
    value = Reflect.get(value, part);
  }
  return value;
}

/** One CSV cell: numbers stay numbers, booleans read true/false, objects and arrays are JSON. */
function csvCell(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}

/** A checked export query: the filter (time range and --filter together) and the oldest-first sort. */
export interface ExportQuery {
  readonly log: LogName;
  readonly filter: CheckedFilter;
  readonly sort: readonly OrderByItem[];
}

/**
 * Checks `--filter` exactly as the log API checks `$filter` (a problem is the same 7700007 with
 * the same message) and adds the time range to it. The order is the log's time ascending, then
 * id: an export reads like the log was written, and rows logged while it runs (after `until`)
 * cannot move the pages it has not read yet.
 */
export function buildExportQuery(log: LogName, range: LogTimeRange, filter: string | undefined): ExportQuery {
  const source = log === 'signins' ? signInSource : auditSource;
  const options = parseQueryOptions(
    {
      ...(filter === undefined ? {} : { $filter: filter }),
      $orderby: `${source.timeProperty} asc`,
    },
    source.resource,
  );
  const time: CheckedField = { path: source.timeProperty, type: 'datetime', nullable: false };
  const inRange: CheckedFilter[] = [
    { kind: 'compare', field: time, operator: 'ge', value: range.since },
    { kind: 'compare', field: time, operator: 'lt', value: range.until },
  ];
  return {
    log,
    filter: { kind: 'and', operands: options.filter ? [...inRange, options.filter] : inRange },
    sort: options.sort,
  };
}

/** Reports progress after each page is flushed. */
export type ExportProgress = (progress: { readonly written: number; readonly total: number }) => void;

export interface ExportResult {
  /** Rows written. */
  readonly rows: number;
  /** Rows that matched when the export started (rows purged meanwhile are not written). */
  readonly total: number;
  readonly pages: number;
}

/**
 * Writes `chunk` and, when the output's buffer is full, waits until it has drained, so that an
 * output slower than the database never makes pages pile up in memory.
 */
async function writeFlushed(sink: Writable, chunk: string): Promise<void> {
  if (sink.destroyed || sink.errored) {
    throw sink.errored ?? new Error('the output was closed before the export finished');
  }
  if (sink.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the output was closed before the export finished'));
    };
    sink.on('drain', onDrain);
    sink.on('error', onError);
    sink.on('close', onClose);
  });
}

async function runExport<Row>(
  db: Kysely<Database>,
  tenantId: string,
  source: LogSource<Row>,
  query: ExportQuery,
  format: ExportFormat,
  sink: Writable,
  options: { readonly pageSize: number; readonly onProgress?: ExportProgress | undefined },
): Promise<ExportResult> {
  const columns = csvColumns(query.log);
  let cursor: PageRequest['cursor'];
  let written = 0;
  let pages = 0;
  let total = 0;
  for (;;) {
    const page = await source.listPage(db, tenantId, {
      filter: query.filter,
      page: { sort: query.sort, cursor, top: options.pageSize },
      // Counted once, before the first page, for the progress bar.
      count: pages === 0,
    });
    if (pages === 0) total = page.count ?? 0;
    pages += 1;
    const objects = page.rows.map(source.toGraph);
    const chunk =
      format === 'jsonl'
        ? objects.map((object) => `${JSON.stringify(object)}\n`).join('')
        : stringify(
            objects.map((object) => columns.map((column) => csvCell(valueAt(object, column)))),
            {
              header: pages === 1,
              columns,
              // A cell starting with = + - @ would run as a formula in a spreadsheet, and a UPN typed
              // at the sign-in page is anyone's text; such cells get a leading apostrophe.
              escape_formulas: true,
            },
          );
    if (chunk !== '') await writeFlushed(sink, chunk);
    written += page.rows.length;
    options.onProgress?.({ written, total });
    if (page.nextSkipToken === undefined) break;
    cursor = decodeSkipToken(page.nextSkipToken, query.sort);
  }
  return { rows: written, total, pages };
}

/**
 * Streams the tenant's rows matching `query` to `sink` in `format`, page by page (see the top of
 * this file). Does not end `sink`: the caller owns it (it may be standard output).
 */
export async function exportLog(
  db: Kysely<Database>,
  tenantId: string,
  query: ExportQuery,
  format: ExportFormat,
  sink: Writable,
  options: { readonly pageSize?: number; readonly onProgress?: ExportProgress } = {},
): Promise<ExportResult> {
  const settings = { pageSize: options.pageSize ?? exportPageSize, onProgress: options.onProgress };
  return query.log === 'signins'
    ? runExport(db, tenantId, signInSource, query, format, sink, settings)
    : runExport(db, tenantId, auditSource, query, format, sink, settings);
}
