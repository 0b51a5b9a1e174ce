import { Codes } from '../../platform/errors/catalog.js';
import type { DiagnoseCheck } from '../diagnose-types.js';
import { describeCode, finding } from './finding.js';

/** What the licence check reads about one user: the licences held and what they allow. */
export interface LicenceFacts {
  /** Each licence held: its SKU part number and the service plans it brings, active or not. */
  readonly held: ReadonlyArray<{
    readonly skuPartNumber: string;
    readonly plans: ReadonlyArray<{ readonly servicePlanId: string; readonly capabilityStatus: string }>;
  }>;
  readonly allowsSelfServiceReset: boolean;
  readonly allowsWriteback: boolean;
  /** Whether the user's password is written back to a directory (so writeback needs a licence). */
  readonly isWrittenBack: boolean;
}

/** The licence codes a refusal carries, and what each needs. */
const licenceRefusals = new Set<number>([
  Codes.UserNotLicensedForSelfServiceReset,
  Codes.UserNotLicensedForPasswordWriteback,
]);

/**
 * Licence: the licences the user holds and whether they allow what the user's failures needed.
 * A refusal for a missing licence in the window fails the check with its code; a written-back user
 * whose licences do not allow writeback is a warning (every change of theirs will be refused).
 */
export function licenceCheck(deps: {
  readonly factsOf: (userId: string) => Promise<LicenceFacts>;
}): DiagnoseCheck {
  return {
    name: 'licence',
    async run(evidence) {
      const user = evidence.user;
      if (!user) return finding('licence', 'Licence', 'skipped', null, ['No single user is concerned.']);
      const facts = await deps.factsOf(user.id);
      const lines = [
        facts.held.length === 0
          ? `${user.user_principal_name} holds no licence.`
          : `${user.user_principal_name} holds ${facts.held
              .map(
                (license) =>
                  `${license.skuPartNumber} (${license.plans.length} plans, ${license.plans.filter((plan) => plan.capabilityStatus === 'Enabled').length} enabled)`,
              )
              .join(', ')}.`,
        `Self-service password reset: ${facts.allowsSelfServiceReset ? 'allowed' : 'not allowed'} by the licences.`,
        `Password writeback: ${facts.allowsWriteback ? 'allowed' : 'not allowed'} by the licences${facts.isWrittenBack ? '; this user is written back' : ''}.`,
      ];
      const refused = evidence.failures.filter((failure) => licenceRefusals.has(failure.rootCode));
      const last = refused.at(-1);
      if (last) {
        return finding('licence', 'Licence', 'fail', last.rootCode, [
          ...lines,
          `${refused.length} request(s) in the window were refused with ${describeCode(last.rootCode)}, the last at ${last.at}.`,
        ]);
      }
      if (facts.isWrittenBack && !facts.allowsWriteback) {
        return finding('licence', 'Licence', 'warn', Codes.UserNotLicensedForPasswordWriteback, [
          ...lines,
          'Every change or reset of this user will be refused until a licence allows writeback.',
        ]);
      }
      return finding('licence', 'Licence', 'ok', null, lines);
    },
  };
}
