import type { Kysely, Selectable } from 'kysely';
import type { ConnectorsTable, Database } from '../platform/db/schema.js';
import type { AttributeMap, ConnectorFlavor, ConnectorSettings } from './connector-config.js';

/*
 * The `connectors` table. Every read names its columns and none but getSealedBindPassword and
 * findConnectorWithSealedPassword reads `bind_password_ciphertext`, so the sealed password
 * reaches only the code that opens it for a directory call. Functions take the database or a transaction first, as every store does.
 */

/** A connector as read for showing or changing it: everything but the bind password. */
export interface ConnectorRecord {
  readonly id: string;
  readonly settings: ConnectorSettings;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastSyncAt: string | null;
  readonly lastSyncCursor: string | null;
  /** JSON text, as the sync's outcome was recorded. */
  readonly lastSyncResult: string | null;
  readonly lastTestAt: string | null;
  /** JSON text, as the last test's report was recorded. */
  readonly lastTestResult: string | null;
}

const recordColumns = [
  'id',
  'display_name',
  'flavor',
  'url',
  'start_tls',
  'allow_insecure',
  'ca_certificate',
  'bind_dn',
  'base_dn',
  'user_filter',
  'attributes',
  'writeback',
  'connect_timeout_ms',
  'operation_timeout_ms',
  'sync_interval_seconds',
  'created_at',
  'updated_at',
  'last_sync_at',
  'last_sync_cursor',
  'last_sync_result',
  'last_test_at',
  'last_test_result',
] as const;

type RecordRow = Pick<Selectable<ConnectorsTable>, (typeof recordColumns)[number]>;

function toRecord(row: RecordRow): ConnectorRecord {
  return {
    id: row.id,
    settings: {
      displayName: row.display_name,
      flavor: row.flavor as ConnectorFlavor,
      url: row.url,
      startTls: row.start_tls === 1,
      allowInsecure: row.allow_insecure === 1,
      caCertificate: row.ca_certificate,
      bindDn: row.bind_dn,
      baseDn: row.base_dn,
      userFilter: row.user_filter,
      attributes: JSON.parse(row.attributes) as AttributeMap,
      writeback: row.writeback === 1,
      connectTimeoutMs: row.connect_timeout_ms,
      operationTimeoutMs: row.operation_timeout_ms,
      syncIntervalSeconds: row.sync_interval_seconds,
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastSyncAt: row.last_sync_at,
    lastSyncCursor: row.last_sync_cursor,
    lastSyncResult: row.last_sync_result,
    lastTestAt: row.last_test_at,
    lastTestResult: row.last_test_result,
  };
}

/** The key that makes display names unique in a tenant, ignoring case. */
export function connectorNameKey(displayName: string): string {
  return displayName.trim().toLowerCase();
}

function settingsColumns(settings: ConnectorSettings) {
  return {
    display_name: settings.displayName,
    name_key: connectorNameKey(settings.displayName),
    flavor: settings.flavor,
    url: settings.url,
    start_tls: settings.startTls ? 1 : 0,
    allow_insecure: settings.allowInsecure ? 1 : 0,
    ca_certificate: settings.caCertificate,
    bind_dn: settings.bindDn,
    base_dn: settings.baseDn,
    user_filter: settings.userFilter,
    attributes: JSON.stringify(settings.attributes),
    writeback: settings.writeback ? 1 : 0,
    connect_timeout_ms: settings.connectTimeoutMs,
    operation_timeout_ms: settings.operationTimeoutMs,
    sync_interval_seconds: settings.syncIntervalSeconds,
  } as const;
}

/** Stores a new connector; a display name already used in the tenant fails as a unique violation. */
export async function insertConnector(
  db: Kysely<Database>,
  tenantId: string,
  connector: {
    readonly id: string;
    readonly settings: ConnectorSettings;
    readonly sealedBindPassword: string;
    readonly at: string;
  },
): Promise<void> {
  await db
    .insertInto('connectors')
    .values({
      id: connector.id,
      tenant_id: tenantId,
      ...settingsColumns(connector.settings),
      bind_password_ciphertext: connector.sealedBindPassword,
      created_at: connector.at,
      updated_at: connector.at,
      last_sync_at: null,
      last_sync_cursor: null,
      last_sync_result: null,
      last_test_at: null,
      last_test_result: null,
    })
    .execute();
}

/** Every connector of the tenant, by display name. */
export async function listConnectors(db: Kysely<Database>, tenantId: string): Promise<ConnectorRecord[]> {
  const rows = await db
    .selectFrom('connectors')
    .select(recordColumns)
    .where('tenant_id', '=', tenantId)
    .orderBy('name_key')
    .execute();
  return rows.map(toRecord);
}

/**
 * The connector with this id, or else with this display name (any case); undefined when neither.
 * `lock` holds the row until the transaction ends (a change reads, checks and writes it).
 */
export async function findConnector(
  db: Kysely<Database>,
  tenantId: string,
  idOrName: string,
  options: { readonly lock?: boolean } = {},
): Promise<ConnectorRecord | undefined> {
  for (const [column, value] of [
    ['id', idOrName.toLowerCase()],
    ['name_key', connectorNameKey(idOrName)],
  ] as const) {
    let query = db
      .selectFrom('connectors')
      .select(recordColumns)
      .where('tenant_id', '=', tenantId)
      .where(column, '=', value);
    if (options.lock) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (row) return toRecord(row);
  }
  return undefined;
}

/** Whether another connector of the tenant has this display name (any case). */
export async function connectorNameTaken(
  db: Kysely<Database>,
  tenantId: string,
  displayName: string,
  exceptId?: string,
): Promise<boolean> {
  let query = db
    .selectFrom('connectors')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('name_key', '=', connectorNameKey(displayName));
  if (exceptId !== undefined) query = query.where('id', '<>', exceptId);
  return (await query.executeTakeFirst()) !== undefined;
}

/** The sealed bind password of a connector, for opening just before a directory call. */
export async function getSealedBindPassword(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('connectors')
    .select('bind_password_ciphertext')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.bind_password_ciphertext;
}

/**
 * The connector with this id and its sealed bind password, in one read: what a directory call
 * (pass-through sign-in, writeback, test, sync) opens. Undefined when there is none by that id.
 */
export async function findConnectorWithSealedPassword(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<{ readonly record: ConnectorRecord; readonly sealedBindPassword: string } | undefined> {
  const row = await db
    .selectFrom('connectors')
    .select([...recordColumns, 'bind_password_ciphertext'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id.toLowerCase())
    .executeTakeFirst();
  return row && { record: toRecord(row), sealedBindPassword: row.bind_password_ciphertext };
}

/** Replaces a connector's settings, and its bind password when a new one is given. */
export async function updateConnectorSettings(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  change: {
    readonly settings: ConnectorSettings;
    readonly sealedBindPassword: string | undefined;
    readonly at: string;
  },
): Promise<void> {
  await db
    .updateTable('connectors')
    .set({
      ...settingsColumns(change.settings),
      ...(change.sealedBindPassword === undefined
        ? {}
        : { bind_password_ciphertext: change.sealedBindPassword }),
      updated_at: change.at,
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

/** Deletes a connector; false when it was not there. */
export async function deleteConnector(db: Kysely<Database>, tenantId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('connectors')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** Keeps the report of the connector's latest connection test. */
export async function recordConnectorTest(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  test: { readonly at: string; readonly report: string },
): Promise<void> {
  await db
    .updateTable('connectors')
    .set({ last_test_at: test.at, last_test_result: test.report })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

/** Keeps the outcome of the connector's latest sync and, when it gave one, where the next resumes. */
export async function recordConnectorSync(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  sync: { readonly at: string; readonly cursor: string | null; readonly outcome: string },
): Promise<void> {
  await db
    .updateTable('connectors')
    .set({
      last_sync_at: sync.at,
      last_sync_result: sync.outcome,
      ...(sync.cursor === null ? {} : { last_sync_cursor: sync.cursor }),
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

/**
 * Claims a connector's scheduled sync: moves `last_sync_at` from what the claimer read to `at`,
 * so another process reading the connector after this no longer finds it due. False when another
 * process claimed (or ran) it first.
 */
export async function claimConnectorSync(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  claim: { readonly readLastSyncAt: string | null; readonly at: string },
): Promise<boolean> {
  let query = db
    .updateTable('connectors')
    .set({ last_sync_at: claim.at })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id);
  query =
    claim.readLastSyncAt === null
      ? query.where('last_sync_at', 'is', null)
      : query.where('last_sync_at', '=', claim.readLastSyncAt);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
