import { describe, expect, it } from 'vitest';
import { buildLogModel, generateAudits } from '../dev/log-generator.js';
import type { DirectoryAuditRow } from '../platform/db/schema.js';
import { auditActivities, listAuditActivities } from './audit-activities.js';

/**
 * The catalog activity a stored audit row records, found by what the row says of it (display name
 * and operation type, which together name one activity), or undefined.
 */
function activityOf(row: DirectoryAuditRow) {
  return listAuditActivities().find(
    (activity) =>
      activity.displayName === row.activity_display_name && activity.operationType === row.operation_type,
  );
}

/** What a row says of its activity, in the catalog's terms, for comparison with an entry. */
function describedBy(row: DirectoryAuditRow) {
  const targets = JSON.parse(row.target_resources) as Array<{ readonly type: string }>;
  return {
    displayName: row.activity_display_name,
    category: row.category,
    operationType: row.operation_type,
    loggedByService: row.logged_by_service,
    targetTypes: [...new Set(targets.map((target) => target.type))],
  };
}

describe('the audit activity catalog', () => {
  it('names each activity once: a display name and an operation type identify one entry', () => {
    const identities = listAuditActivities().map((a) => `${a.displayName} / ${a.operationType}`);
    expect(new Set(identities).size).toBe(identities.length);
    const displayNames = listAuditActivities().map((a) => a.displayName.toLowerCase());
    // Display names are filtered on ignoring case: two that differ only in case would read as one.
    expect(new Set(displayNames).size).toBe(new Set(listAuditActivities().map((a) => a.displayName)).size);
  });

  it('gives activities that share a display name the same category, service and target type', () => {
    for (const activity of listAuditActivities()) {
      const sameName = listAuditActivities().filter((other) => other.displayName === activity.displayName);
      const { category, loggedByService, targetType } = activity;
      for (const other of sameName) {
        expect(
          { category: other.category, loggedByService: other.loggedByService, targetType: other.targetType },
          `${other.name} beside ${activity.name}`,
        ).toEqual({ category, loggedByService, targetType });
      }
    }
  });

  it('lists every entry under its own key', () => {
    expect(listAuditActivities().map((activity) => activity.name)).toEqual(Object.keys(auditActivities));
    for (const activity of listAuditActivities()) {
      expect(activity.name).toMatch(/^[a-z][A-Za-z]+$/);
      expect(activity.displayName).toMatch(/^[A-Z]/);
    }
  });

  it('holds every activity the log generator emits, as the catalog describes it', () => {
    // Enough rows that the rarest activities (a domain, a policy change) appear several times.
    const model = buildLogModel({
      tenantId: 'tenant',
      tenantDomain: 'example.com',
      users: 200,
      days: 30,
      end: new Date('2026-03-20T12:00:00.000Z'),
      seed: 'catalog',
    });
    const seen = new Map<string, DirectoryAuditRow>();
    for (const batch of generateAudits(model, 100_000, 10_000)) {
      for (const { row } of batch) seen.set(JSON.stringify(describedBy(row)), row);
    }
    const emitted = new Set<string>();
    for (const row of seen.values()) {
      const activity = activityOf(row);
      expect(
        activity,
        `${row.activity_display_name} (${row.operation_type}) is not in the catalog`,
      ).toBeDefined();
      if (!activity) continue;
      emitted.add(activity.name);
      expect(describedBy(row)).toEqual({
        displayName: activity.displayName,
        category: activity.category,
        operationType: activity.operationType,
        loggedByService: activity.loggedByService,
        targetTypes: [activity.targetType],
      });
    }
    // The generator covers the product's user, password, policy and domain activities.
    expect(emitted.size).toBeGreaterThanOrEqual(16);
  });
});
