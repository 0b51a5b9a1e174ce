import type { AuditActivityName } from '../audit/audit-activities.js';
import { type ModifiedProperty, recordAudit } from '../audit/audit-service.js';
import { applySignInPatch, loadSignInSettings, type SignInSettings } from '../auth/sign-in-disclosure.js';
import {
  applySmartLockoutPatch,
  loadSmartLockoutSettings,
  type SmartLockoutSettings,
} from '../lockout/lockout-policy.js';
import { countUsersLockedAt } from '../lockout/lockout-service.js';
import {
  applyPasswordPolicyPatch,
  applyPasswordProtectionPatch,
  globalBannedTerms,
  loadPasswordPolicySettings,
  loadPasswordProtectionSettings,
  type PasswordPolicySettings,
  type PasswordProtectionSettings,
  type PolicySettings,
} from '../passwords/policy/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import {
  countExpiryImpact,
  type ExpiryWindow,
  readSettingsDocuments,
  type SettingsDocumentName,
  type StoredSettingsDocument,
  writeSettingsDocument,
} from './settings-store.js';

/*
 * The tenant's password policy, Password Protection, smart lockout and sign-in settings: read (cached per version),
 * changed (validated by the policy engine's own apply...Patch functions, audited), and previewed.
 *
 * Each document is a row of `tenant_settings` with a version (see migration 0002 for why not the
 * tenants.settings column). Every read of the settings is one small SELECT; when the versions are
 * the ones cached, the same frozen objects come back, so the engine's matcher cache (keyed by the
 * settings object) compiles the banned terms once per settings version, in every process.
 */

/** One changed field, as a preview and the audit row show it. */
export interface SettingsChange {
  readonly field: string;
  readonly oldValue: unknown;
  readonly newValue: unknown;
}

export interface PasswordPolicyImpact {
  /** Users whose password would be expired the moment the change is applied (50055 at sign-in). */
  readonly usersExpiredImmediately: number;
  /** Up to 20 of them, longest-expired first. */
  readonly sample: string[];
  /** Users who would start seeing the expiry warning, their password not expired. */
  readonly usersEnteringWarningWindow: number;
  /** Users whose expired password would work again (a longer or no maximum age). */
  readonly usersNoLongerExpired: number;
  /** Fields whose rules apply only to passwords set from now on. */
  readonly appliesAtNextChange: string[];
  readonly note: string;
}

export interface PasswordProtectionImpact {
  readonly customBannedPasswords: {
    readonly before: number;
    readonly after: number;
    readonly added: string[];
    readonly removed: string[];
  };
  readonly globalBannedTerms: number;
  readonly note: string;
}

export interface SmartLockoutImpact {
  /** Users locked on some network right now; their locks keep the end time they were given. */
  readonly usersLockedNow: number;
  readonly note: string;
}

export interface SignInImpact {
  readonly note: string;
}

export interface SettingsPreview<Impact> {
  readonly changes: SettingsChange[];
  readonly impact: Impact;
}

export interface SettingsServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  /**
   * Told the new settings after a change is written, so that costly derived state (the compiled
   * banned-term matcher) is built on the administrator's request, not on the next user's change.
   */
  readonly onChanged?: (settings: PolicySettings) => void;
}

/** How many users a preview names. */
const sampleSize = 20;
/** Attempts to apply one PATCH when other writers keep winning the version race. */
const writeAttempts = 5;
/** Added or removed terms listed in an audit row; the counts are always exact. */
const auditTermListLimit = 50;
const dayMs = 24 * 60 * 60 * 1000;

const documents = [
  'passwordPolicy',
  'passwordProtection',
  'smartLockout',
  'signIn',
] as const satisfies readonly SettingsDocumentName[];

/** Fields whose change only affects the next password a user sets. */
const nextChangeFields: ReadonlyArray<keyof PasswordPolicySettings> = [
  'minLength',
  'maxLength',
  'requiredCategories',
  'historyCountOnChange',
  'historyCountOnReset',
  'minimumAgeDays',
];

interface Loaded {
  readonly versions: Readonly<Record<SettingsDocumentName, number>>;
  readonly settings: PolicySettings;
  readonly smartLockout: SmartLockoutSettings;
  readonly signIn: SignInSettings;
}

function parseStored<T>(document: StoredSettingsDocument | undefined, load: (stored: unknown) => T): T {
  if (!document) return load(undefined);
  try {
    return load(JSON.parse(document.value));
  } catch (error) {
    // Someone edited the row by hand, or a downgrade met a newer document: refuse to guess.
    throw new RekeyError(Codes.InternalError, {
      message: `The stored ${document.name} settings are invalid; correct them with PATCH /rekey/v1/settings/${document.name}.`,
      cause: error,
    });
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function termDifference(before: readonly string[], after: readonly string[]) {
  const lower = (terms: readonly string[]) => new Set(terms.map((term) => term.toLowerCase()));
  const had = lower(before);
  const has = lower(after);
  return {
    added: after.filter((term) => !had.has(term.toLowerCase())),
    removed: before.filter((term) => !has.has(term.toLowerCase())),
  };
}

/** The changed fields; the custom list is summarised as counts and the terms added and removed. */
function diff<T extends object>(before: T, after: T): SettingsChange[] {
  const changes: SettingsChange[] = [];
  for (const field of Object.keys(after) as Array<keyof T & string>) {
    const oldValue = before[field];
    const newValue = after[field];
    if (sameValue(oldValue, newValue)) continue;
    if (field === 'customBannedPasswords' && Array.isArray(oldValue) && Array.isArray(newValue)) {
      const { added, removed } = termDifference(oldValue as string[], newValue as string[]);
      changes.push({
        field,
        oldValue: { count: oldValue.length },
        newValue: { count: newValue.length, added, removed },
      });
      continue;
    }
    changes.push({ field, oldValue, newValue });
  }
  return changes;
}

/** An audit `modifiedProperty` of a change; long term lists are cut, their counts kept. */
function auditProperty(change: SettingsChange): ModifiedProperty {
  const cut = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null || !('added' in value) || !('removed' in value)) {
      return value;
    }
    const { added, removed } = value as { added: string[]; removed: string[] };
    return {
      ...value,
      added: added.slice(0, auditTermListLimit),
      removed: removed.slice(0, auditTermListLimit),
      addedCount: added.length,
      removedCount: removed.length,
    };
  };
  return {
    displayName: change.field,
    oldValue: JSON.stringify(change.oldValue),
    newValue: JSON.stringify(cut(change.newValue)),
  };
}

function expiryWindow(settings: PasswordPolicySettings, now: Date): ExpiryWindow {
  if (settings.maximumAgeDays === null) return { expiredAtOrBefore: null, warnAtOrBefore: null };
  const expiredAt = now.getTime() - settings.maximumAgeDays * dayMs;
  return {
    expiredAtOrBefore: new Date(expiredAt).toISOString(),
    warnAtOrBefore:
      settings.expiryWarningDays > 0
        ? new Date(expiredAt + settings.expiryWarningDays * dayMs).toISOString()
        : null,
  };
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

export type SettingsService = ReturnType<typeof createSettingsService>;

/** The tenant's password policy, Password Protection, smart lockout and sign-in settings. */
export function createSettingsService(deps: SettingsServiceDeps) {
  const { db, tenantId, clock } = deps;
  let cached: Loaded | undefined;

  async function load(): Promise<Loaded> {
    const stored = await readSettingsDocuments(db.kysely, tenantId, documents);
    const byName = new Map(stored.map((document) => [document.name, document]));
    const versions = {
      passwordPolicy: byName.get('passwordPolicy')?.version ?? 0,
      passwordProtection: byName.get('passwordProtection')?.version ?? 0,
      smartLockout: byName.get('smartLockout')?.version ?? 0,
      signIn: byName.get('signIn')?.version ?? 0,
    };
    const samePolicy =
      cached !== undefined &&
      cached.versions.passwordPolicy === versions.passwordPolicy &&
      cached.versions.passwordProtection === versions.passwordProtection;
    const sameLockout = cached !== undefined && cached.versions.smartLockout === versions.smartLockout;
    const sameSignIn = cached !== undefined && cached.versions.signIn === versions.signIn;
    if (cached && samePolicy && sameLockout && sameSignIn) return cached;
    const loaded: Loaded = {
      versions,
      // A smart lockout change keeps the policy object, so the matcher compiled for it stays cached.
      settings:
        cached && samePolicy
          ? cached.settings
          : Object.freeze({
              passwordPolicy: parseStored(byName.get('passwordPolicy'), loadPasswordPolicySettings),
              passwordProtection: parseStored(
                byName.get('passwordProtection'),
                loadPasswordProtectionSettings,
              ),
            }),
      smartLockout:
        cached && sameLockout
          ? cached.smartLockout
          : parseStored(byName.get('smartLockout'), loadSmartLockoutSettings),
      signIn: cached && sameSignIn ? cached.signIn : parseStored(byName.get('signIn'), loadSignInSettings),
    };
    cached = loaded;
    return loaded;
  }

  /**
   * The settings the policy engine applies now. The same object is returned until either document
   * changes, so anything cached on it (the compiled banned-term matcher) lives one version.
   */
  async function getPolicySettings(): Promise<PolicySettings> {
    return (await load()).settings;
  }

  /**
   * Applies `patch` to the current document and writes it as the next version, retrying on a lost
   * version race with the newest document. A PATCH that changes nothing writes nothing.
   */
  async function update<T extends object>(
    context: RequestContext,
    name: SettingsDocumentName,
    current: (loaded: Loaded) => T,
    apply: (settings: T) => T,
    audit: { readonly activity: AuditActivityName; readonly targetDisplayName: string },
  ): Promise<{ readonly settings: T; readonly changes: SettingsChange[] }> {
    for (let attempt = 0; attempt < writeAttempts; attempt += 1) {
      const loaded = await load();
      const before = current(loaded);
      const after = apply(before);
      const changes = diff(before, after);
      if (changes.length === 0) return { settings: before, changes };
      const at = clock.now().toISOString();
      const version = loaded.versions[name];
      const written = await db.kysely.transaction().execute(async (trx) => {
        const ok = await writeSettingsDocument(trx, tenantId, {
          name,
          value: JSON.stringify(after),
          expectedVersion: version,
          at,
          by: context.actor?.userPrincipalName ?? null,
        });
        if (!ok) return false;
        await recordAudit(
          trx,
          tenantId,
          context,
          {
            activity: audit.activity,
            result: 'success',
            targets: [
              {
                id: name,
                displayName: audit.targetDisplayName,
                userPrincipalName: null,
                modifiedProperties: changes.map(auditProperty),
              },
            ],
            additionalDetails: [{ key: 'settingsVersion', value: String(version + 1) }],
          },
          at,
        );
        return true;
      });
      if (written) {
        deps.onChanged?.((await load()).settings);
        return { settings: after, changes };
      }
    }
    throw new RekeyError(Codes.SettingsUpdateConflict, { details: { settings: name } });
  }

  /** The tenant's password policy. */
  async function getPasswordPolicy(): Promise<PasswordPolicySettings> {
    return (await load()).settings.passwordPolicy;
  }

  /** The tenant's Password Protection settings. */
  async function getPasswordProtection(): Promise<PasswordProtectionSettings> {
    return (await load()).settings.passwordProtection;
  }

  /**
   * Changes the password policy (any subset of its fields), audited as "Update password policy".
   * Throws 7700001 naming every bad field; nothing is written then.
   */
  async function updatePasswordPolicy(context: RequestContext, patch: unknown) {
    return update(
      context,
      'passwordPolicy',
      (loaded) => loaded.settings.passwordPolicy,
      (settings) => applyPasswordPolicyPatch(settings, patch),
      { activity: 'updatePasswordPolicy', targetDisplayName: 'Password policy' },
    );
  }

  /** Changes Password Protection, audited as "Update password protection policy". */
  async function updatePasswordProtection(context: RequestContext, patch: unknown) {
    return update(
      context,
      'passwordProtection',
      (loaded) => loaded.settings.passwordProtection,
      (settings) => applyPasswordProtectionPatch(settings, patch),
      {
        activity: 'updatePasswordProtectionPolicy',
        targetDisplayName: 'Password protection policy',
      },
    );
  }

  /**
   * What a password-policy PATCH would change, without applying it: the changed fields, and for
   * the maximum age and warning window how many users it would expire or warn at once (counted in
   * SQL, honouring DisablePasswordExpiration and leaving deleted users out). Writes nothing.
   */
  async function previewPasswordPolicy(patch: unknown): Promise<SettingsPreview<PasswordPolicyImpact>> {
    const before = (await load()).settings.passwordPolicy;
    const after = applyPasswordPolicyPatch(before, patch);
    const changes = diff(before, after);
    const now = clock.now();
    const counts = await countExpiryImpact(
      db.kysely,
      tenantId,
      expiryWindow(before, now),
      expiryWindow(after, now),
      sampleSize,
    );
    const appliesAtNextChange = changes
      .map((change) => change.field)
      .filter((field) => (nextChangeFields as readonly string[]).includes(field));
    const notes: string[] = [];
    if (changes.length === 0) notes.push('Nothing would change.');
    if (counts.usersExpiredImmediately > 0) {
      notes.push(
        `${plural(counts.usersExpiredImmediately, "user's password", "users' passwords")} would expire at once: their next sign-in fails with AADSTS50055 until they change it at /{tenant}/password/change (or an administrator resets it).`,
      );
    }
    if (counts.usersEnteringWarningWindow > 0) {
      notes.push(
        `${plural(counts.usersEnteringWarningWindow, 'user', 'users')} would start being warned that the password expires soon.`,
      );
    }
    if (counts.usersNoLongerExpired > 0) {
      notes.push(
        `${plural(counts.usersNoLongerExpired, "user's expired password", "users' expired passwords")} would work again.`,
      );
    }
    if (appliesAtNextChange.length > 0) {
      notes.push(
        `${appliesAtNextChange.join(', ')} apply from each user's next password change or reset: existing passwords are stored only as hashes and cannot be re-checked, so nobody is made to change because of them.`,
      );
    }
    return {
      changes,
      impact: { ...counts, appliesAtNextChange, note: notes.join(' ') },
    };
  }

  /** The tenant's smart lockout settings (threshold and first lockout duration). */
  async function getSmartLockout(): Promise<SmartLockoutSettings> {
    return (await load()).smartLockout;
  }

  /** Changes the smart lockout settings, audited as "Update smart lockout policy". */
  async function updateSmartLockout(context: RequestContext, patch: unknown) {
    return update(
      context,
      'smartLockout',
      (loaded) => loaded.smartLockout,
      (settings) => applySmartLockoutPatch(settings, patch),
      { activity: 'updateSmartLockoutPolicy', targetDisplayName: 'Smart lockout policy' },
    );
  }

  /**
   * What a smart lockout PATCH would change, without applying it: the changed fields and how many
   * users are locked right now (their locks are not shortened or lengthened). Writes nothing.
   */
  async function previewSmartLockout(patch: unknown): Promise<SettingsPreview<SmartLockoutImpact>> {
    const before = (await load()).smartLockout;
    const after = applySmartLockoutPatch(before, patch);
    const changes = diff(before, after);
    const usersLockedNow = await countUsersLockedAt(db.kysely, tenantId, clock.now().toISOString());
    const notes = [
      changes.length === 0
        ? 'Nothing would change.'
        : 'The new values apply from the next failed attempt; locks in force keep the end time they were given.',
    ];
    if (usersLockedNow > 0) {
      notes.push(`${plural(usersLockedNow, 'user is', 'users are')} locked out right now.`);
    }
    return { changes, impact: { usersLockedNow, note: notes.join(' ') } };
  }

  /** The tenant's sign-in settings (what a refused sign-in tells a caller). */
  async function getSignIn(): Promise<SignInSettings> {
    return (await load()).signIn;
  }

  /** Changes the sign-in settings, audited as "Update sign-in error disclosure policy". */
  async function updateSignIn(context: RequestContext, patch: unknown) {
    return update(
      context,
      'signIn',
      (loaded) => loaded.signIn,
      (settings) => applySignInPatch(settings, patch),
      { activity: 'updateSignInPolicy', targetDisplayName: 'Sign-in error disclosure policy' },
    );
  }

  /** What a sign-in settings PATCH would change, without applying it. Writes nothing. */
  async function previewSignIn(patch: unknown): Promise<SettingsPreview<SignInImpact>> {
    const before = (await load()).signIn;
    const after = applySignInPatch(before, patch);
    const changes = diff(before, after);
    const note =
      changes.length === 0
        ? 'Nothing would change.'
        : after.signInErrorDisclosure === 'entraCompatible'
          ? 'From the next sign-in, anyone may learn which user names exist (50034) and which accounts are locked (50053) from the answers of the token endpoint and the expired-password change.'
          : 'From the next sign-in, an unknown user, a wrong password and a locked account tried with a wrong password get the same answer; the sign-in log keeps the true reason.';
    return { changes, impact: { note } };
  }

  /** What a Password Protection PATCH would change, without applying it. Writes nothing. */
  async function previewPasswordProtection(
    patch: unknown,
  ): Promise<SettingsPreview<PasswordProtectionImpact>> {
    const before = (await load()).settings.passwordProtection;
    const after = applyPasswordProtectionPatch(before, patch);
    const changes = diff(before, after);
    const { added, removed } = termDifference(before.customBannedPasswords, after.customBannedPasswords);
    const notes = [
      changes.length === 0
        ? 'Nothing would change.'
        : 'Password Protection judges each password set from the next change or reset on; existing passwords are stored only as hashes and are not re-checked.',
    ];
    if (after.enabled && after.mode === 'Audit' && before.mode !== 'Audit') {
      notes.push(
        'In Audit mode a password that scores too low is accepted, and the would-be refusal is recorded in the audit log.',
      );
    }
    return {
      changes,
      impact: {
        customBannedPasswords: {
          before: before.customBannedPasswords.length,
          after: after.customBannedPasswords.length,
          added,
          removed,
        },
        globalBannedTerms: globalBannedTerms.length,
        note: notes.join(' '),
      },
    };
  }

  return {
    getPolicySettings,
    getPasswordPolicy,
    getPasswordProtection,
    updatePasswordPolicy,
    updatePasswordProtection,
    previewPasswordPolicy,
    previewPasswordProtection,
    getSmartLockout,
    updateSmartLockout,
    previewSmartLockout,
    getSignIn,
    updateSignIn,
    previewSignIn,
  };
}
