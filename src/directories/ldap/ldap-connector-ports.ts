/**
 * The connectors' directory ports on OpenLDAP and Active Directory: the connection test
 * (`DirectoryProbe`) and the sync (`DirectorySync`), each call opening the connector's directory
 * with its settings.
 *
 * The sync reads users with paged searches and hands each entry, through the connector's
 * attribute map, to the user service (`applySyncedUser`), which matches, creates and updates.
 * - A full run reads every user under the base DN and then soft-deletes the connector's users
 *   whose immutable id it did not see. A run that sees no entry at all deletes nothing: a filter
 *   or base DN typed wrong must not empty the tenant.
 * - An incremental run reads only `(modifyTimestamp>=cursor)`, the cursor being the latest
 *   modifyTimestamp the previous runs saw (the directory's clock, never Rekey's). `>=` and not
 *   `>`: modifyTimestamp counts whole seconds, so an entry changed in the same second as the last
 *   one read is read again (and found unchanged) rather than missed.
 * - A deletion leaves no entry to find by modifyTimestamp, so an incremental run cannot see it: a
 *   run asked to be incremental is run full when the last full run is older than
 *   `fullSyncEverySeconds` (a day by default). A user deleted in the directory is thus
 *   soft-deleted in Rekey within a day, or at once with `rekey sync <connector> --full`.
 */
import { createHash } from 'node:crypto';
import type {
  ConnectorConfig,
  DirectoryPorts,
  SyncCounts,
  SyncOutcome,
  SyncRequest,
} from '../../connectors/directory-ports.js';
import type { Clock } from '../../platform/clock.js';
import type { SyncedUserInput } from '../../users/synced-users.js';
import type { UserService } from '../../users/user-service.js';
import type { DirectoryTraceRecord, DirectoryTraceSink } from '../directory-trace.js';
import {
  createLdapDirectory,
  type DirectoryChangeState,
  type DirectoryEntry,
  type LdapConnectorSettings,
  type LdapDirectory,
} from './ldap-directory.js';
import { createLdapPassThrough } from './ldap-pass-through.js';
import { createLdapWriteback } from './ldap-writeback.js';

/** What `pwdAccountLockedTime` holds on an entry an administrator locked until unlocked: OpenLDAP's "disabled". */
const administrativelyLocked = '000001010000Z';

/** How many failure reasons a sync's report names (the count has them all). */
const reportedFailures = 5;

export interface LdapDirectoryPortsDeps {
  readonly clock: Clock;
  readonly traceSink?: DirectoryTraceSink;
  /** Entries per page of a sync's search (default 500). */
  readonly pageSize?: number;
  /** An incremental run becomes a full one when the last full run is older than this (default a day). */
  readonly fullSyncEverySeconds?: number;
  /** The random id of a connection test's trace. */
  readonly newCorrelationId?: () => string;
}

/*
 * On Active Directory the incremental run reads by update sequence number instead: before the
 * search it reads the domain controller's highestCommittedUSN and invocation id, reads only
 * `(uSNChanged>=cursor+1)`, and keeps the USN it read first as the next cursor (a change made
 * during the search has a higher USN and is read again next time, never missed). USNs belong to
 * one domain controller's database: a different invocation id (another domain controller, or
 * this one restored from a backup) or a highest USN below the cursor (a restore) makes the run
 * full, and its message says why.
 */

/** What each flavour reads beside the mapped attributes, and which of those are binary. */
const flavorAttributes = {
  openldap: { read: ['cn', 'modifyTimestamp', 'pwdAccountLockedTime'], binary: [] },
  activeDirectory: {
    read: ['cn', 'uSNChanged', 'userAccountControl'],
    // Mapped as the immutable id they are given in base64, as a cloud sync gives them.
    binary: ['objectGUID', 'mS-DS-ConsistencyGuid', 'objectSid'],
  },
} as const;

/** userAccountControl's ACCOUNTDISABLE bit. */
const accountDisableBit = 0x2;

/** The sync's cursor, kept on the connector as JSON text. */
interface SyncCursor {
  /** The latest modifyTimestamp seen, in the directory's generalized time (OpenLDAP). */
  readonly modifyTimestamp: string | null;
  /** The domain controller's highestCommittedUSN when the last run began (Active Directory). */
  readonly usn?: string;
  /** The invocation id of the domain controller that USN belongs to, base64 (Active Directory). */
  readonly invocationId?: string;
  /** When the last full run started (ISO 8601). */
  readonly fullSyncAt: string;
  /** How many entries the last full run saw: the next full run's expected total, for a progress bar. */
  readonly fullSyncSeen?: number;
}

function parseCursor(text: string | null): SyncCursor | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<SyncCursor>;
    if (typeof value.fullSyncAt !== 'string') return undefined;
    const stamp = value.modifyTimestamp;
    // Only digits, a dot and a Z go into the filter: the cursor is Rekey's own, but a filter is no place to trust text.
    if (stamp !== null && (typeof stamp !== 'string' || !/^\d{14}(\.\d+)?Z$/.test(stamp))) return undefined;
    const usn = typeof value.usn === 'string' && /^\d{1,20}$/.test(value.usn) ? value.usn : undefined;
    const invocationId = typeof value.invocationId === 'string' ? value.invocationId : undefined;
    return {
      modifyTimestamp: stamp ?? null,
      ...(usn !== undefined && invocationId !== undefined ? { usn, invocationId } : {}),
      fullSyncAt: value.fullSyncAt,
      ...(typeof value.fullSyncSeen === 'number' ? { fullSyncSeen: value.fullSyncSeen } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The connector's settings as the LDAP client takes them. */
export function ldapSettingsOf(config: ConnectorConfig): LdapConnectorSettings {
  return {
    flavor: config.flavor,
    url: config.url,
    startTls: config.startTls,
    caCertificate: config.caCertificate ?? undefined,
    bindDn: config.bindDn,
    bindPassword: config.bindPassword,
    baseDn: config.baseDn,
    userFilter: config.userFilter,
    connectTimeoutMs: config.connectTimeoutMs,
    operationTimeoutMs: config.operationTimeoutMs,
    connectorId: config.id,
  };
}

/** An entry's attributes by lower-cased name, made once per entry for the several look-ups of a sync. */
const attributesByName = new WeakMap<DirectoryEntry, ReadonlyMap<string, readonly string[]>>();

/** The first value of an attribute, whatever the case of its name in the entry. */
function firstValue(entry: DirectoryEntry, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  let byName = attributesByName.get(entry);
  if (!byName) {
    const map = new Map<string, readonly string[]>();
    // The first of two names differing only in case wins, as the scan in entry order did.
    for (const [key, values] of Object.entries(entry.attributes)) {
      const lower = key.toLowerCase();
      if (!map.has(lower)) map.set(lower, values);
    }
    byName = map;
    attributesByName.set(entry, byName);
  }
  const value = byName.get(name.toLowerCase())?.[0]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** One entry as a synced user through the attribute map, or why it cannot be one. */
export function toSyncedUser(
  connector: ConnectorConfig,
  entry: DirectoryEntry,
): { readonly user: SyncedUserInput } | { readonly problem: string } {
  const map = connector.attributes;
  const immutableId = firstValue(entry, map.onPremisesImmutableId);
  if (immutableId === undefined)
    return { problem: `${entry.dn} has no ${map.onPremisesImmutableId ?? 'immutable id'} attribute` };
  const userPrincipalName = firstValue(entry, map.userPrincipalName);
  if (userPrincipalName === undefined)
    return { problem: `${entry.dn} has no ${map.userPrincipalName ?? 'userPrincipalName'} attribute` };
  const local = userPrincipalName.split('@')[0] ?? userPrincipalName;
  return {
    user: {
      connectorId: connector.id,
      immutableId,
      distinguishedName: entry.dn,
      userPrincipalName,
      // inetOrgPerson requires cn but not displayName: fall back to it, then to the UPN.
      displayName: firstValue(entry, map.displayName) ?? firstValue(entry, 'cn') ?? userPrincipalName,
      givenName: firstValue(entry, map.givenName) ?? null,
      surname: firstValue(entry, map.surname) ?? null,
      mail: firstValue(entry, map.mail) ?? null,
      mailNickname: firstValue(entry, map.mailNickname) ?? local,
      samAccountName: firstValue(entry, map.onPremisesSamAccountName) ?? null,
      accountEnabled: isEnabled(connector, entry),
    },
  };
}

/** Whether the entry's account may sign in: not disabled by an administrator. */
function isEnabled(connector: ConnectorConfig, entry: DirectoryEntry): boolean {
  if (connector.flavor === 'activeDirectory') {
    const control = Number(firstValue(entry, 'userAccountControl') ?? '0');
    return (control & accountDisableBit) === 0;
  }
  return firstValue(entry, 'pwdAccountLockedTime') !== administrativelyLocked;
}

/** The attributes a sync asks for: the mapped ones, and what it reads besides. */
function syncAttributes(connector: ConnectorConfig): string[] {
  const mapped = Object.values(connector.attributes).filter((name): name is string => name !== undefined);
  return [...new Set([...mapped, ...flavorAttributes[connector.flavor].read])];
}

/** Builds the OpenLDAP test and sync that `createServices({ directories })` takes. */
export function createLdapDirectoryPorts(deps: LdapDirectoryPortsDeps): DirectoryPorts {
  const { clock } = deps;
  const pageSize = deps.pageSize ?? 500;
  const fullSyncEveryMs = (deps.fullSyncEverySeconds ?? 86_400) * 1000;
  const newCorrelationId = deps.newCorrelationId ?? (() => crypto.randomUUID());
  // One client per connector, kept while its settings stay the same, so calls share its kept
  // connections; a changed connector (another URL, password, certificate...) gets a new client
  // and the old one's connections are closed.
  const clients = new Map<string, { readonly settingsKey: string; readonly directory: LdapDirectory }>();
  const open = (config: ConnectorConfig): LdapDirectory => {
    const settings = ldapSettingsOf(config);
    const settingsKey = createHash('sha256').update(JSON.stringify(settings)).digest('base64url');
    const known = clients.get(config.id);
    if (known?.settingsKey === settingsKey) return known.directory;
    void known?.directory.close();
    const directory = createLdapDirectory(settings, {
      clock,
      ...(deps.traceSink ? { traceSink: deps.traceSink } : {}),
    });
    clients.set(config.id, { settingsKey, directory });
    return directory;
  };

  async function sync(users: UserService, request: SyncRequest): Promise<SyncOutcome> {
    const { connector, context } = request;
    const started = clock.now();
    const previous = parseCursor(request.cursor);
    const cursor = request.mode === 'incremental' ? previous : undefined;
    const isActiveDirectory = connector.flavor === 'activeDirectory';
    const directory = open(connector);
    const counts = { seen: 0, created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0 };
    const notes: string[] = [];
    // The LDAP operations of the run, for the connector trace (and so the connector's health).
    const trace: DirectoryTraceRecord[] = [];
    const finish = (
      result: 'success' | 'failure',
      mode: 'full' | 'incremental',
      extra: Partial<SyncOutcome>,
    ): SyncOutcome => ({
      trace: [...trace],
      result,
      mode,
      startedDateTime: started.toISOString(),
      finishedDateTime: clock.now().toISOString(),
      cursor: null,
      counts: { ...counts } satisfies SyncCounts,
      code: null,
      message: null,
      ...extra,
    });
    const isRecentFull =
      cursor !== undefined && started.getTime() - Date.parse(cursor.fullSyncAt) < fullSyncEveryMs;

    // Active Directory: where the domain controller's changes stand, before anything is read.
    let changeState: DirectoryChangeState | undefined;
    if (isActiveDirectory) {
      const state = await directory.readChangeState({ correlationId: context.correlationId });
      trace.push(...state.trace);
      if (!state.ok) {
        const said = state.failure.diagnostic ? `: ${state.failure.diagnostic}` : '';
        return finish('failure', request.mode, {
          code: state.failure.code,
          message: `The domain controller's update sequence number could not be read (${state.failure.reason}${said}); nothing was changed, and the next run starts from the same cursor.`,
        });
      }
      changeState = state.value;
      if (cursor?.usn !== undefined && cursor.invocationId !== changeState.invocationId) {
        notes.push(
          "Read in full: the domain controller's invocation id changed since the last run (another domain controller, or this one restored from a backup), so its update sequence numbers cannot be compared.",
        );
      } else if (cursor?.usn !== undefined && BigInt(changeState.highestCommittedUsn) < BigInt(cursor.usn)) {
        notes.push(
          `Read in full: the domain controller's highest committed update sequence number (${changeState.highestCommittedUsn}) is below the last run's (${cursor.usn}), as after a restore.`,
        );
      }
    }
    const mode: 'full' | 'incremental' =
      cursor === undefined || !isRecentFull || notes.length > 0
        ? 'full'
        : isActiveDirectory
          ? cursor.usn !== undefined
            ? 'incremental'
            : 'full'
          : cursor.modifyTimestamp !== null
            ? 'incremental'
            : 'full';
    const failures: string[] = [];
    const present = new Set<string>();
    let latest = cursor?.modifyTimestamp ?? null;
    const fail = (reason: string) => {
      counts.failed += 1;
      failures.push(reason);
    };
    let filter: string | undefined;
    if (mode === 'incremental' && isActiveDirectory && cursor?.usn !== undefined) {
      filter = `(uSNChanged>=${(BigInt(cursor.usn) + 1n).toString()})`;
    } else if (mode === 'incremental' && cursor?.modifyTimestamp) {
      filter = `(modifyTimestamp>=${cursor.modifyTimestamp})`;
    }
    // The run's writes, page by page (the tenant's verified domains read once for the run).
    const run = users.startSyncRun();
    const read = await directory.searchUsersPaged(
      filter,
      { correlationId: context.correlationId },
      {
        attributes: syncAttributes(connector),
        binaryAttributes: flavorAttributes[connector.flavor].binary,
        pageSize,
        onPage: async (entries) => {
          const mappedEntries = entries.map((entry) => {
            counts.seen += 1;
            const stamp = isActiveDirectory ? undefined : firstValue(entry, 'modifyTimestamp');
            if (stamp !== undefined && (latest === null || stamp > latest)) latest = stamp;
            const mapped = toSyncedUser(connector, entry);
            if (!('problem' in mapped)) present.add(mapped.user.immutableId);
            return { dn: entry.dn, mapped };
          });
          // The page's users at once (a few statements a page, not a few an entry), each with
          // the outcome applying them one by one gives.
          const inputs = mappedEntries.flatMap(({ mapped }) => ('problem' in mapped ? [] : [mapped.user]));
          const results = await run.applyPage(context, inputs);
          let next = 0;
          // In the entries' order, so the run's report names the same first failures.
          for (const { dn, mapped } of mappedEntries) {
            if ('problem' in mapped) {
              fail(mapped.problem);
              continue;
            }
            const result = results[next] ?? { outcome: 'failed', reason: 'the entry was not applied' };
            next += 1;
            if (result.outcome === 'failed') fail(`${dn}: ${result.reason}`);
            else counts[result.outcome] += 1;
          }
          const total = mode === 'full' ? previous?.fullSyncSeen : undefined;
          request.onProgress?.({
            seen: counts.seen,
            // An estimate from the last full run: the bar may end short of or past it.
            ...(total === undefined ? {} : { total: Math.max(total, counts.seen) }),
          });
        },
      },
    );
    trace.push(...read.trace);
    if (!read.ok) {
      const said = read.failure.diagnostic ? `: ${read.failure.diagnostic}` : '';
      return finish('failure', mode, {
        code: read.failure.code,
        message: `The directory could not be read (${read.failure.reason}${said}); nothing after the users already counted was changed, and the next run starts from the same cursor.`,
      });
    }
    if (mode === 'full') {
      if (counts.seen === 0) {
        notes.push(
          'The directory returned no users, so none was deleted: check the base DN and user filter.',
        );
      } else {
        const removed = await users.removeMissingSyncedUsers(context, connector.id, present);
        counts.deleted = removed.deleted;
        for (const reason of removed.failed) fail(reason);
      }
    }
    if (failures.length > 0) {
      const shown = failures.slice(0, reportedFailures).join('; ');
      const more =
        failures.length > reportedFailures ? ` (and ${failures.length - reportedFailures} more)` : '';
      notes.push(`${failures.length} entries were not synced: ${shown}${more}.`);
    }
    const fullSyncSeen = mode === 'full' ? counts.seen : cursor?.fullSyncSeen;
    const next: SyncCursor = {
      modifyTimestamp: latest,
      ...(changeState
        ? { usn: changeState.highestCommittedUsn, invocationId: changeState.invocationId }
        : {}),
      fullSyncAt: mode === 'full' ? started.toISOString() : (cursor?.fullSyncAt ?? started.toISOString()),
      ...(fullSyncSeen === undefined ? {} : { fullSyncSeen }),
    };
    return finish('success', mode, {
      cursor: JSON.stringify(next),
      message: notes.length > 0 ? notes.join(' ') : null,
    });
  }

  return {
    probe: {
      // Its own client: a test may be of settings not saved yet, and it opens its own connection anyway.
      test: (config) =>
        createLdapDirectory(ldapSettingsOf(config), {
          clock,
          ...(deps.traceSink ? { traceSink: deps.traceSink } : {}),
        }).probe({ correlationId: newCorrelationId() }),
    },
    syncFor: (tenant) => ({ sync: (request) => sync(tenant.users, request) }),
    passThroughFor: (tenant) =>
      createLdapPassThrough({
        openDirectory: open,
        openConnector: tenant.openConnector,
        recordTrace: tenant.recordTrace,
      }),
    writebackFor: (tenant) =>
      createLdapWriteback({
        openDirectory: open,
        openConnector: tenant.openConnector,
        recordTrace: tenant.recordTrace,
      }),
  };
}
