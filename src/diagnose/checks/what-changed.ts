import { auditActivities } from '../../audit/audit-activities.js';
import type { DiagnoseCheck } from '../diagnose-types.js';
import { finding } from './finding.js';

/**
 * The configuration changes the troubleshooter names as possible causes. Licences and federation
 * join this list when their features audit their changes.
 */
export const configurationActivities: readonly string[] = [
  auditActivities.updatePasswordPolicy.displayName,
  auditActivities.updatePasswordProtectionPolicy.displayName,
  auditActivities.updateSmartLockoutPolicy.displayName,
  auditActivities.updateSignInPolicy.displayName,
  auditActivities.importBreachedPasswordList.displayName,
  auditActivities.addDirectoryConnector.displayName,
  auditActivities.updateDirectoryConnector.displayName,
  auditActivities.deleteDirectoryConnector.displayName,
  auditActivities.addVerifiedDomain.displayName,
];

/**
 * What changed: configuration changes in the window, each named as a possible cause with the
 * number of users whose requests failed since (by the gathered failures).
 */
export const whatChangedCheck: DiagnoseCheck = {
  name: 'whatChanged',
  async run(evidence) {
    const changes = evidence.configurationChanges;
    if (changes.length === 0)
      return finding('whatChanged', 'What changed', 'ok', null, [
        `No configuration change since ${evidence.since}.`,
      ]);
    let suspect = false;
    const items = changes.map((change) => {
      const after = evidence.failures.filter((f) => f.at >= change.activity_at);
      const users = new Set(after.map((f) => f.userPrincipalName ?? '')).size;
      const before = evidence.failures.filter((f) => f.at < change.activity_at).length;
      if (users > 0 && after.length > before) suspect = true;
      let modified = '';
      try {
        const targets = JSON.parse(change.target_resources) as Array<{
          modifiedProperties?: Array<{
            displayName: string;
            oldValue: string | null;
            newValue: string | null;
          }>;
        }>;
        modified = targets
          .flatMap((t) => t.modifiedProperties ?? [])
          .map((p) => `${p.displayName}: ${p.oldValue ?? 'none'} → ${p.newValue ?? 'none'}`)
          .join('; ');
      } catch {
        modified = '';
      }
      return {
        line: `${change.activity_at} "${change.activity_display_name}" by ${change.initiated_by_upn ?? 'Rekey or the CLI'}${modified ? ` (${modified})` : ''}: ${users} user(s) failed since, ${after.length} failed request(s) after it and ${before} before it.`,
        data: {
          at: change.activity_at,
          activity: change.activity_display_name,
          by: change.initiated_by_upn,
          usersFailingSince: users,
          failuresSince: after.length,
          failuresBefore: before,
        },
      };
    });
    return finding(
      'whatChanged',
      'What changed',
      suspect ? 'warn' : 'ok',
      null,
      items.map((i) => i.line),
      {
        ...(suspect
          ? {
              remediation: [
                'A change above was followed by more failures than before it: review it, and correct it with `rekey policy set`, which previews how many users it affects first.',
              ],
            }
          : {}),
        data: { changes: items.map((i) => i.data) },
      },
    );
  },
};
