import type { Kysely } from 'kysely';
import { type AuditTarget, recordAudit } from '../../audit/audit-service.js';
import type { Database } from '../../platform/db/schema.js';
import type { RequestContext } from '../../platform/request-context.js';

/** The audit target of every change to the breached-password list Rekey consults. */
export const breachedListTarget: AuditTarget = {
  id: 'breachedPasswordList',
  displayName: 'Breached-password list',
  userPrincipalName: null,
};

/** What an import did, in numbers: never a line of the list, a hash or a password. */
export interface BreachedListImport {
  /** The list's file name (not its path: where an operator keeps files is not the auditor's concern). */
  readonly sourceName: string;
  readonly lines: number;
  readonly entries: number;
  readonly blankLines: number;
  readonly invalidLines: number;
  readonly belowMinCount: number;
  readonly minCount: number;
  readonly expectedEntries: number;
  readonly filterBytes: number;
  readonly bits: number;
  readonly hashCount: number;
  readonly targetFalsePositiveRate: number;
  readonly theoreticalFalsePositiveRate: number;
  /** Whether the import replaced an imported set that was there before. */
  readonly replaced: boolean;
}

/**
 * Records an import of the breached-password list as "Import breached password list" (Policy),
 * attributed to the context's actor (Rekey itself at the CLI). The details are the counts and the
 * size of the resulting filter, so a change in what new passwords are checked against can be
 * traced without the list's contents ever reaching the log.
 */
export async function recordBreachedListImport(
  db: Kysely<Database>,
  tenantId: string,
  context: RequestContext,
  record: BreachedListImport,
  at: string,
): Promise<string> {
  return recordAudit(
    db,
    tenantId,
    context,
    {
      activity: record.replaced ? 'replaceBreachedPasswordList' : 'importBreachedPasswordList',
      result: 'success',
      targets: [breachedListTarget],
      additionalDetails: [
        { key: 'sourceName', value: record.sourceName },
        { key: 'lines', value: String(record.lines) },
        { key: 'entries', value: String(record.entries) },
        { key: 'blankLines', value: String(record.blankLines) },
        { key: 'invalidLines', value: String(record.invalidLines) },
        { key: 'belowMinCount', value: String(record.belowMinCount) },
        { key: 'minCount', value: String(record.minCount) },
        { key: 'expectedEntries', value: String(record.expectedEntries) },
        { key: 'filterBytes', value: String(record.filterBytes) },
        { key: 'filterBits', value: String(record.bits) },
        { key: 'hashCount', value: String(record.hashCount) },
        { key: 'targetFalsePositiveRate', value: String(record.targetFalsePositiveRate) },
        { key: 'theoreticalFalsePositiveRate', value: String(record.theoreticalFalsePositiveRate) },
        { key: 'replacedPreviousImport', value: String(record.replaced) },
      ],
    },
    at,
  );
}
