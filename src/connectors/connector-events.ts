import type { DirectoryTraceRecord } from '../directories/directory-trace.js';
import { EventIds } from '../event-log/event-catalog.js';
import type { NewEvent } from '../event-log/event-log-service.js';

/*
 * The event-log entries of the connector trace: the calls that say something is wrong with the
 * connector or the directory, not with one user. A user's wrong password (a failed userBind), a
 * password the directory's policy refused (a failed passwordModify) or a DN that no longer exists
 * (noSuchObject, 32) are that user's outcome, already in the sign-in log or the operation; they
 * are not connector errors.
 */

const noSuchObject = 32;

/** The event of one trace record, or undefined when the call is not a connector error. */
export function connectorEventOf(record: DirectoryTraceRecord): NewEvent | undefined {
  const connector = record.connectorId ?? 'unnamed';
  const base = {
    at: record.startedAt.toISOString(),
    correlationId: record.correlationId,
    details: {
      connectorId: record.connectorId ?? null,
      operation: record.operation,
      ldapResultCode: record.resultCode ?? null,
      diagnostic: record.diagnostic?.slice(0, 500) ?? null,
      operationId: record.operationId ?? null,
      latencyMs: Math.round(record.latencyMs),
    },
  };
  if (record.resultCode === undefined) {
    return {
      ...base,
      eventId: EventIds.DirectoryUnreachable,
      message: `Directory connector ${connector} got no answer from the directory (${record.operation}): ${record.diagnostic ?? 'no reason given'}.`,
    };
  }
  if (record.resultCode === 0) return undefined;
  if (record.operation === 'serviceBind') {
    return {
      ...base,
      eventId: EventIds.ServiceAccountBindFailed,
      message: `Directory connector ${connector} could not bind as its service account: LDAP result ${record.resultCode}${record.diagnostic ? ` (${record.diagnostic})` : ''}.`,
    };
  }
  if (record.operation === 'userBind' || record.operation === 'passwordModify') return undefined;
  if (record.resultCode === noSuchObject) return undefined;
  return {
    ...base,
    eventId: EventIds.DirectoryCallFailed,
    message: `Directory connector ${connector}: ${record.operation} failed with LDAP result ${record.resultCode}${record.diagnostic ? ` (${record.diagnostic})` : ''}.`,
  };
}
