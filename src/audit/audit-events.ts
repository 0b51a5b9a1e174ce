import { EventIds } from '../event-log/event-catalog.js';
import type { NewEvent } from '../event-log/event-log-service.js';
import type { RequestContext } from '../platform/request-context.js';
import { type AuditActivityName, auditActivities } from './audit-activities.js';
import type { AuditEntry } from './audit-service.js';

/*
 * Which event-log entry each audited activity writes, beside its audit row (recordAudit calls
 * this, in the same transaction). The `Record` makes the compiler refuse an activity without a
 * decision: `admin` is an administrator's action (6001, or 6002 when refused), `policy` a policy
 * change (6101), `password` a password change or reset (5101; 5102 when refused; 3001 when its
 * operation terminated), `tokenReuse` a refresh token presented twice (5201), `sync` a connector
 * sync (2101, 2102 when it failed), and `none` an activity that is not an event.
 */
type AuditEventKind = 'admin' | 'policy' | 'password' | 'tokenReuse' | 'sync' | 'none';

const eventKindOf: Readonly<Record<AuditActivityName, AuditEventKind>> = {
  addUser: 'admin',
  updateApplication: 'admin',
  updateUser: 'admin',
  disableAccount: 'admin',
  enableAccount: 'admin',
  setForceChangeUserPassword: 'admin',
  revokeSignInSessions: 'admin',
  deleteUser: 'admin',
  restoreUser: 'admin',
  hardDeleteUser: 'admin',
  revokeTokenFamilyOnReuse: 'tokenReuse',
  unlockUserAccount: 'admin',
  addMemberToRole: 'admin',
  removeMemberFromRole: 'admin',
  changePasswordSelfService: 'password',
  resetPasswordSelfService: 'password',
  resetPasswordByAdmin: 'password',
  evaluatePasswordAgainstHistory: 'admin',
  // Audit mode of Password Protection is a signal for the policy's owner, not an event.
  passwordProtectionAuditOnlyResult: 'none',
  updatePasswordPolicy: 'policy',
  updatePasswordProtectionPolicy: 'policy',
  updateSmartLockoutPolicy: 'policy',
  updateSignInPolicy: 'policy',
  importBreachedPasswordList: 'policy',
  replaceBreachedPasswordList: 'policy',
  addVerifiedDomain: 'admin',
  addDirectoryConnector: 'admin',
  updateDirectoryConnector: 'admin',
  deleteDirectoryConnector: 'admin',
  synchronizeDirectoryConnector: 'sync',
  purgeLogsPastRetention: 'admin',
  changeUserLicense: 'admin',
  updateSubscription: 'admin',
  setDomainAuthentication: 'admin',
  setFederationSettingsOnDomain: 'admin',
  startHttpCapture: 'admin',
  stopHttpCapture: 'admin',
};

/** Who did it, as a message names them. */
function actorName(context: RequestContext): string {
  return context.actor?.userPrincipalName ?? context.actor?.appDisplayName ?? 'Rekey';
}

/** The event-log entry of one audit row, or undefined when the activity is not an event. */
export function auditEventOf(context: RequestContext, entry: AuditEntry, at: string): NewEvent | undefined {
  const kind = eventKindOf[entry.activity];
  if (kind === 'none') return undefined;
  const activity = auditActivities[entry.activity];
  const target = entry.targets.map((t) => t.userPrincipalName ?? t.displayName ?? t.id).join(', ');
  const failed = entry.result !== 'success';
  const reason = failed && entry.resultReason ? ` (${entry.resultReason})` : '';
  const detail = (key: string) => entry.additionalDetails?.find((d) => d.key === key)?.value;
  const base = {
    at,
    correlationId: context.correlationId,
    // Only a user target is a user: a domain's or a connector's id is not.
    userId: activity.targetType === 'User' ? (entry.targets[0]?.id ?? null) : null,
  };
  const details = { activity: entry.activity, result: entry.result, actor: actorName(context) };
  switch (kind) {
    case 'admin':
      return {
        ...base,
        eventId: failed ? EventIds.AdminActionRefused : EventIds.AdminActionSucceeded,
        message: `${actorName(context)}: ${activity.displayName} of ${target} ${failed ? 'refused' : 'done'}${reason}.`,
        details,
      };
    case 'policy':
      return {
        ...base,
        userId: null,
        eventId: failed ? EventIds.AdminActionRefused : EventIds.PolicyChanged,
        message: `${actorName(context)}: ${activity.displayName}${failed ? ` refused${reason}` : ''}.`,
        details: {
          ...details,
          changed:
            entry.targets
              .flatMap((t) => t.modifiedProperties ?? [])
              .map((p) => p.displayName)
              .join(', ') || null,
        },
      };
    case 'password': {
      const cause = detail('causeCode');
      if (failed && cause !== undefined) {
        return {
          ...base,
          eventId: EventIds.PasswordOperationTerminated,
          message:
            `The password operation of ${target} (${activity.displayName}) terminated: ${cause} ${detail('causeName') ?? ''}. ${detail('causeDetail') ?? ''}`.trim(),
          details: { ...details, causeCode: Number(cause.replace(/^AADSTS/, '')) },
        };
      }
      return {
        ...base,
        eventId: failed ? EventIds.PasswordChangeRefused : EventIds.PasswordChanged,
        message: `${activity.displayName} for ${target} ${failed ? `refused${reason}` : 'succeeded'}.`,
        details,
      };
    }
    case 'tokenReuse':
      return {
        ...base,
        eventId: EventIds.RefreshTokenReused,
        message: `A spent refresh token of ${target} was presented again; every session of that sign-in was revoked.`,
        details,
      };
    case 'sync':
      return {
        ...base,
        userId: null,
        eventId: failed ? EventIds.ConnectorSyncFailed : EventIds.ConnectorSyncFinished,
        message: `Sync of directory connector ${target} ${failed ? `failed${reason}` : 'finished'}.`,
        details: { ...details, mode: detail('Mode') ?? null, failed: Number(detail('Failed') ?? 0) },
      };
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}
