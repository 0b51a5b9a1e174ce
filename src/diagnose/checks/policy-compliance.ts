import type { PasswordPolicySettings, PasswordProtectionSettings } from '../../passwords/policy/settings.js';
import type { DiagnoseCheck } from '../diagnose-types.js';
import { auditDetail, codeOfReason, describeCode, finding } from './finding.js';

/** The codes by which the cloud policy refuses a new password. */
const policyCodes: ReadonlySet<number> = new Set([120002, 120003, 120018]);
/** The codes by which the on-premises directory's own policy refuses one. */
const onPremisesPolicyCodes: ReadonlySet<number> = new Set([120004]);

export interface PolicyPorts {
  readonly passwordPolicy: () => Promise<PasswordPolicySettings>;
  readonly passwordProtection: () => Promise<PasswordProtectionSettings>;
}

/**
 * Policy compliance: the rules the last attempts failed (rule ids the refusal's audit row
 * recorded, never a password), the effective policy and the user's passwordPolicies flags.
 */
export function policyComplianceCheck(ports: PolicyPorts): DiagnoseCheck {
  return {
    name: 'policyCompliance',
    async run(evidence) {
      const policy = await ports.passwordPolicy();
      const protection = await ports.passwordProtection();
      const lines: string[] = [];
      const refused = evidence.audits.filter((a) => {
        const code = codeOfReason(a.result_reason);
        return a.result === 'failure' && code !== undefined && policyCodes.has(code);
      });
      const rules = new Map<string, number>();
      for (const row of refused) {
        for (const rule of (auditDetail(row.additional_details, 'failedRules') ?? '')
          .split(',')
          .filter(Boolean))
          rules.set(rule, (rules.get(rule) ?? 0) + 1);
      }
      for (const row of refused.slice(0, 5))
        lines.push(
          `${row.activity_at} refused: ${row.result_reason.split(':')[0]}${auditDetail(row.additional_details, 'failedRules') ? `, rules failed: ${auditDetail(row.additional_details, 'failedRules')}` : ''}`,
        );
      const onPrem = evidence.operations.filter(
        (o) => o.error_code !== null && onPremisesPolicyCodes.has(o.error_code),
      );
      for (const op of onPrem.slice(0, 3))
        lines.push(
          `${op.created_at} the on-premises directory refused the new password: ${op.error_detail ?? describeCode(120004)}`,
        );
      lines.push(
        `Effective policy: ${policy.minLength}-${policy.maxLength} characters, ${policy.requiredCategories} of 4 character kinds, the last ${policy.historyCountOnChange} password(s) not reused on a change, minimum age ${policy.minimumAgeDays} day(s), ${policy.maximumAgeDays === null ? 'no expiry' : `expiry after ${policy.maximumAgeDays} day(s)`}.`,
        `Password Protection: ${protection.enabled ? protection.mode : 'off'}, ${protection.customBannedPasswords.length} custom banned term(s).`,
      );
      const flags = evidence.user?.password_policies ?? null;
      if (evidence.user)
        lines.push(
          `The user's passwordPolicies: ${flags ?? 'None'}${flags?.includes('DisableStrongPassword') ? ' (the character-kind rule does not apply to them)' : ''}.`,
        );
      const newest = refused[0];
      const newestCode = newest
        ? (codeOfReason(newest.result_reason) ?? null)
        : (onPrem[0]?.error_code ?? null);
      const status = newest || onPrem.length > 0 ? 'fail' : 'ok';
      if (status === 'ok') lines.unshift('No password was refused by a policy in the window.');
      return finding('policyCompliance', 'Policy compliance', status, newestCode, lines, {
        data: {
          failedRules: Object.fromEntries(rules),
          passwordPolicy: policy,
          passwordProtection: {
            enabled: protection.enabled,
            mode: protection.mode,
            customBannedPasswordCount: protection.customBannedPasswords.length,
          },
          passwordPolicies: flags ?? 'None',
        },
      });
    },
  };
}
