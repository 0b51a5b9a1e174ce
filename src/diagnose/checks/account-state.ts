import type { LockoutView } from '../../lockout/lockout-service.js';
import { passwordExpiry } from '../../passwords/policy/password-expiry.js';
import type { PasswordPolicySettings } from '../../passwords/policy/settings.js';
import { Codes } from '../../platform/errors/catalog.js';
import type { DiagnoseCheck } from '../diagnose-types.js';
import { finding } from './finding.js';

export interface AccountStatePorts {
  readonly lockoutOf: (userId: string) => Promise<LockoutView>;
  readonly passwordPolicy: () => Promise<PasswordPolicySettings>;
}

/** Account state: enabled, deleted, locked (until when), forced change, expired. */
export function accountStateCheck(ports: AccountStatePorts): DiagnoseCheck {
  return {
    name: 'accountState',
    async run(evidence) {
      const user = evidence.user;
      if (!user)
        return finding(
          'accountState',
          'Account state',
          evidence.selectors.userPrincipalName ? 'fail' : 'skipped',
          evidence.selectors.userPrincipalName ? Codes.UserAccountNotFound : null,
          [
            evidence.selectors.userPrincipalName
              ? `No account, live or deleted, has the user name ${evidence.selectors.userPrincipalName}.`
              : 'No single user is concerned.',
          ],
        );
      const lines: string[] = [];
      if (user.deleted_at !== null) {
        lines.push(
          `The account ${user.user_principal_name} was deleted at ${user.deleted_at}; it can be restored for 30 days after that.`,
        );
        return finding('accountState', 'Account state', 'fail', Codes.DeletedAccount, lines, {
          remediation: [
            `Restore it if it was deleted by mistake: POST /v1.0/directory/deletedItems/${user.id}/restore.`,
          ],
          data: { deletedDateTime: user.deleted_at },
        });
      }
      const problems: Array<{ code: number; line: string }> = [];
      if (user.account_enabled !== 1)
        problems.push({
          code: Codes.UserDisabled,
          line: 'The account is disabled (accountEnabled is false).',
        });
      const lockout = await ports.lockoutOf(user.id);
      for (const network of lockout.networks) {
        if (network.locked)
          problems.push({
            code: Codes.IdsLocked,
            line: `Smart lockout holds the account on ${network.network} networks until ${network.lockedUntil} (${network.failureCount} failed attempt(s), lockout number ${network.lockoutCount}).`,
          });
      }
      const expiry = passwordExpiry(
        await ports.passwordPolicy(),
        {
          passwordPolicies: user.password_policies,
          lastPasswordChangeDateTime: user.last_password_change_at,
        },
        evidence.now,
      );
      if (expiry.expired)
        problems.push({
          code: Codes.InvalidPasswordExpiredPassword,
          line: `The password expired at ${expiry.expiresAt}.`,
        });
      if (user.force_change_password_next_sign_in === 1)
        problems.push({
          code: Codes.InvalidPasswordExpiredPassword,
          line: "The user must change the password at the next sign-in (forceChangePasswordNextSignIn), as after an administrator's reset.",
        });
      if (problems.length === 0) {
        lines.push(
          'The account is enabled, not deleted, not locked by smart lockout, and its password is neither expired nor to be changed.',
        );
        if (expiry.expiresAt) lines.push(`The password expires at ${expiry.expiresAt}.`);
        return finding('accountState', 'Account state', 'ok', null, lines, { data: { locked: false } });
      }
      return finding(
        'accountState',
        'Account state',
        'fail',
        problems[0]?.code ?? null,
        problems.map((p) => p.line),
        {
          data: {
            accountEnabled: user.account_enabled === 1,
            locked: lockout.locked,
            lockedUntil: lockout.networks.find((n) => n.locked)?.lockedUntil ?? null,
            passwordExpired: expiry.expired,
            forceChangePasswordNextSignIn: user.force_change_password_next_sign_in === 1,
            codes: problems.map((p) => p.code),
          },
        },
      );
    },
  };
}
