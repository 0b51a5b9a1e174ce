/*
 * The password policy engine's public API, for the HTTP routes, the settings API, the CLI and the
 * operation service. See docs/password-policy.md for the rules and decisions.
 */

export {
  type BannedTermLists,
  type BannedTermMatcher,
  type BannedTermSource,
  compileBannedTerms,
  type PasswordProtectionScore,
  requiredPasswordProtectionScore,
  scorePassword,
} from './banned-term-matcher.js';
export { globalBannedTerms } from './global-banned-terms.js';
export { normalizeForMatching, tenantNameTerms, type UserNameParts, userNameTerms } from './normalize.js';
export {
  type ExpiryUser,
  hasPasswordPolicyFlag,
  type PasswordExpiry,
  type PasswordPolicyFlag,
  passwordExpiry,
} from './password-expiry.js';
export {
  assertPolicySatisfied,
  type BreachedPasswordSet,
  createPolicyEngine,
  type PasswordProtectionResult,
  type PolicyEngine,
  type PolicyEngineDeps,
  type PolicyEvaluation,
  type PolicyFailure,
  type PolicyInput,
  type PolicyOperation,
  type PolicySettings,
  type PolicySubject,
  policyErrorFor,
} from './policy-engine.js';
export {
  type CharacterCensus,
  characterCensus,
  type PolicyFailureCode,
  type PolicyRuleId,
  policyRuleCodes,
  policyRuleIds,
  symbolCharacters,
} from './rules.js';
export {
  applyPasswordPolicyPatch,
  applyPasswordProtectionPatch,
  cleanCustomBannedPasswords,
  customBannedPasswordLimits,
  defaultPasswordPolicySettings,
  defaultPasswordProtectionSettings,
  loadPasswordPolicySettings,
  loadPasswordProtectionSettings,
  type PasswordPolicyPatch,
  type PasswordPolicySettings,
  type PasswordProtectionMode,
  type PasswordProtectionPatch,
  type PasswordProtectionSettings,
  passwordPolicyLimits,
  passwordPolicyPatchSchema,
  passwordPolicySettingsSchema,
  passwordProtectionModes,
  passwordProtectionPatchSchema,
  passwordProtectionSettingsSchema,
} from './settings.js';
