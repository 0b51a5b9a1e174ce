/**
 * The event-log catalog: every event id Rekey writes, with its channel, level and source. A
 * writer names the id and the catalog supplies the rest, so one kind of event is always filed
 * the same way; docs/event-log.md lists the same table (a test compares the two).
 *
 * Numbering: 1xxx the service itself, 2xxx directory connectors, 3xxx password operations,
 * 4xxx service incidents (all in `application`); 5xxx sign-ins, lockouts and passwords,
 * 6xxx administrators' actions and policy changes (all in `security`).
 */

export type EventChannel = 'application' | 'security';
export type EventLevel = 'information' | 'warning' | 'error';

export const eventChannels: readonly EventChannel[] = ['application', 'security'];
export const eventLevels: readonly EventLevel[] = ['information', 'warning', 'error'];

export interface EventDefinition {
  readonly channel: EventChannel;
  readonly level: EventLevel;
  /** The part of Rekey that writes it. */
  readonly source: string;
  /** A short name, stable once shipped. */
  readonly name: string;
}

export const eventCatalog = {
  2001: {
    channel: 'application',
    level: 'error',
    source: 'Rekey-Connector',
    name: 'DirectoryUnreachable',
  },
  2002: {
    channel: 'application',
    level: 'error',
    source: 'Rekey-Connector',
    name: 'ServiceAccountBindFailed',
  },
  2003: {
    channel: 'application',
    level: 'warning',
    source: 'Rekey-Connector',
    name: 'DirectoryCallFailed',
  },
  2101: {
    channel: 'application',
    level: 'information',
    source: 'Rekey-Sync',
    name: 'ConnectorSyncFinished',
  },
  2102: {
    channel: 'application',
    level: 'error',
    source: 'Rekey-Sync',
    name: 'ConnectorSyncFailed',
  },
  3001: {
    channel: 'application',
    level: 'error',
    source: 'Rekey-Operations',
    name: 'PasswordOperationTerminated',
  },
  4001: {
    channel: 'application',
    level: 'error',
    source: 'Rekey-Status',
    name: 'IncidentOpened',
  },
  4002: {
    channel: 'application',
    level: 'information',
    source: 'Rekey-Status',
    name: 'IncidentResolved',
  },
  5001: {
    channel: 'security',
    level: 'warning',
    source: 'Rekey-SignIn',
    name: 'SignInFailed',
  },
  5002: {
    channel: 'security',
    level: 'warning',
    source: 'Rekey-Lockout',
    name: 'AccountLocked',
  },
  5101: {
    channel: 'security',
    level: 'information',
    source: 'Rekey-Passwords',
    name: 'PasswordChanged',
  },
  5102: {
    channel: 'security',
    level: 'warning',
    source: 'Rekey-Passwords',
    name: 'PasswordChangeRefused',
  },
  5201: {
    channel: 'security',
    level: 'warning',
    source: 'Rekey-Tokens',
    name: 'RefreshTokenReused',
  },
  6001: {
    channel: 'security',
    level: 'information',
    source: 'Rekey-Admin',
    name: 'AdminActionSucceeded',
  },
  6002: {
    channel: 'security',
    level: 'warning',
    source: 'Rekey-Admin',
    name: 'AdminActionRefused',
  },
  6101: {
    channel: 'security',
    level: 'information',
    source: 'Rekey-Policy',
    name: 'PolicyChanged',
  },
} as const satisfies Record<number, EventDefinition>;

export type EventId = keyof typeof eventCatalog;

/** Named ids for call sites, so `EventIds.SignInFailed` reads without the table. */
export const EventIds = {
  DirectoryUnreachable: 2001,
  ServiceAccountBindFailed: 2002,
  DirectoryCallFailed: 2003,
  ConnectorSyncFinished: 2101,
  ConnectorSyncFailed: 2102,
  PasswordOperationTerminated: 3001,
  IncidentOpened: 4001,
  IncidentResolved: 4002,
  SignInFailed: 5001,
  AccountLocked: 5002,
  PasswordChanged: 5101,
  PasswordChangeRefused: 5102,
  RefreshTokenReused: 5201,
  AdminActionSucceeded: 6001,
  AdminActionRefused: 6002,
  PolicyChanged: 6101,
} as const satisfies Record<string, EventId>;

/** Every event id with its definition, in id order (docs, `rekey logs events --list`). */
export function listEventDefinitions(): Array<EventDefinition & { readonly id: EventId }> {
  return (Object.keys(eventCatalog) as unknown as string[])
    .map((key) => Number(key) as EventId)
    .sort((a, b) => a - b)
    .map((id) => ({ id, ...eventCatalog[id] }));
}
