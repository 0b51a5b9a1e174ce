import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { RekeyError } from '../../platform/errors/rekey-error.js';
import {
  applyPasswordPolicyPatch,
  applyPasswordProtectionPatch,
  defaultPasswordPolicySettings,
  defaultPasswordProtectionSettings,
  loadPasswordPolicySettings,
  loadPasswordProtectionSettings,
  passwordPolicyPatchSchema,
  passwordPolicySettingsSchema,
  passwordProtectionPatchSchema,
  passwordProtectionSettingsSchema,
} from './settings.js';

function rejection(run: () => unknown): RekeyError {
  try {
    run();
  } catch (error) {
    if (error instanceof RekeyError) return error;
    throw error;
  }
  throw new Error('expected a RekeyError');
}

function badFields(run: () => unknown): unknown {
  const error = rejection(run);
  expect(error.code).toBe(7700001);
  return error.details?.['fields'];
}

describe('password policy settings', () => {
  it("defaults to Entra's policy", () => {
    expect(defaultPasswordPolicySettings).toEqual({
      minLength: 8,
      maxLength: 256,
      requiredCategories: 3,
      historyCountOnChange: 1,
      historyCountOnReset: 0,
      minimumAgeDays: 0,
      maximumAgeDays: null,
      expiryWarningDays: 14,
    });
    expect(Value.Check(passwordPolicySettingsSchema, defaultPasswordPolicySettings)).toBe(true);
    expect(loadPasswordPolicySettings(undefined)).toEqual(defaultPasswordPolicySettings);
  });

  it('applies a patch, keeping fields left out, and accepts the bounds', () => {
    const patched = applyPasswordPolicyPatch(defaultPasswordPolicySettings, {
      minLength: 4,
      maxLength: 4,
      requiredCategories: 4,
      historyCountOnChange: 24,
      historyCountOnReset: 24,
      minimumAgeDays: 729,
      maximumAgeDays: 730,
      expiryWarningDays: 90,
    });
    expect(patched).toEqual({
      minLength: 4,
      maxLength: 4,
      requiredCategories: 4,
      historyCountOnChange: 24,
      historyCountOnReset: 24,
      minimumAgeDays: 729,
      maximumAgeDays: 730,
      expiryWarningDays: 90,
    });
    expect(Value.Check(passwordPolicySettingsSchema, patched)).toBe(true);
    const back = applyPasswordPolicyPatch(patched, { maximumAgeDays: null, minimumAgeDays: 0 });
    expect(back).toMatchObject({ maximumAgeDays: null, minimumAgeDays: 0, minLength: 4 });
    expect(Object.isFrozen(back)).toBe(true);
    expect(applyPasswordPolicyPatch(defaultPasswordPolicySettings, {})).toEqual(
      defaultPasswordPolicySettings,
    );
  });

  it.each([
    ['minLength', 3, 'must be a whole number from 4 to 256'],
    ['minLength', 257, 'must be a whole number from 4 to 256'],
    ['minLength', 8.5, 'must be a whole number from 4 to 256'],
    ['minLength', '8', 'must be a whole number from 4 to 256'],
    ['maxLength', 3, 'must be a whole number from 4 to 256'],
    ['maxLength', 300, 'must be a whole number from 4 to 256'],
    ['requiredCategories', 0, 'must be a whole number from 1 to 4'],
    ['requiredCategories', 5, 'must be a whole number from 1 to 4'],
    ['historyCountOnChange', -1, 'must be a whole number from 0 to 24'],
    ['historyCountOnChange', 25, 'must be a whole number from 0 to 24'],
    ['historyCountOnReset', 25, 'must be a whole number from 0 to 24'],
    ['historyCountOnReset', null, 'must be a whole number from 0 to 24'],
    ['minimumAgeDays', -1, 'must be a whole number from 0 to 730'],
    ['minimumAgeDays', 731, 'must be a whole number from 0 to 730'],
    ['maximumAgeDays', 0, 'must be a whole number from 1 to 730, or null'],
    ['maximumAgeDays', 731, 'must be a whole number from 1 to 730, or null'],
    ['maximumAgeDays', 'never', 'must be a whole number from 1 to 730, or null'],
    ['expiryWarningDays', 91, 'must be a whole number from 0 to 90'],
    ['expiryWarningDays', -1, 'must be a whole number from 0 to 90'],
  ])('rejects %s = %j with 7700001 naming the field', (field, value, problem) => {
    expect(
      badFields(() => applyPasswordPolicyPatch(defaultPasswordPolicySettings, { [field]: value })),
    ).toEqual([{ field: `body/${field}`, problem }]);
    expect(Value.Check(passwordPolicyPatchSchema, { [field]: value })).toBe(false);
  });

  it('names every bad field in one error, and unknown properties too', () => {
    const error = rejection(() =>
      applyPasswordPolicyPatch(defaultPasswordPolicySettings, {
        minLength: 2,
        requiredCategories: 9,
        colour: 'red',
      }),
    );
    expect(error.details?.['fields']).toEqual([
      { field: 'body', problem: 'is not a setting', property: 'colour' },
      { field: 'body/minLength', problem: 'must be a whole number from 4 to 256' },
      { field: 'body/requiredCategories', problem: 'must be a whole number from 1 to 4' },
    ]);
    expect(error.message).toBe(
      'The settings were not changed: colour is not a setting; minLength must be a whole number from 4 to 256; ' +
        'requiredCategories must be a whole number from 1 to 4.',
    );
  });

  it('rejects a body that is not an object', () => {
    expect(badFields(() => applyPasswordPolicyPatch(defaultPasswordPolicySettings, [1]))).toEqual([
      { field: 'body', problem: 'must be a JSON object' },
    ]);
    expect(badFields(() => applyPasswordPolicyPatch(defaultPasswordPolicySettings, null))).toEqual([
      { field: 'body', problem: 'must be a JSON object' },
    ]);
  });

  it('keeps minLength <= maxLength, blaming the field the patch changed', () => {
    expect(
      badFields(() => applyPasswordPolicyPatch(defaultPasswordPolicySettings, { maxLength: 6 })),
    ).toEqual([{ field: 'body/maxLength', problem: 'must be at least minLength (8)' }]);
    const short = applyPasswordPolicyPatch(defaultPasswordPolicySettings, { maxLength: 10 });
    expect(badFields(() => applyPasswordPolicyPatch(short, { minLength: 12 }))).toEqual([
      { field: 'body/minLength', problem: 'must be at most maxLength (10)' },
    ]);
  });

  it('keeps minimumAgeDays below maximumAgeDays', () => {
    expect(
      badFields(() =>
        applyPasswordPolicyPatch(defaultPasswordPolicySettings, { minimumAgeDays: 30, maximumAgeDays: 30 }),
      ),
    ).toEqual([{ field: 'body/maximumAgeDays', problem: 'must be greater than minimumAgeDays (30)' }]);
    const expiring = applyPasswordPolicyPatch(defaultPasswordPolicySettings, { maximumAgeDays: 10 });
    expect(badFields(() => applyPasswordPolicyPatch(expiring, { minimumAgeDays: 10 }))).toEqual([
      { field: 'body/minimumAgeDays', problem: 'must be less than maximumAgeDays (10)' },
    ]);
  });
});

describe('Password Protection settings', () => {
  it('defaults to enforced, no custom terms, tenant name checked', () => {
    expect(defaultPasswordProtectionSettings).toEqual({
      enabled: true,
      mode: 'Enforced',
      customBannedPasswords: [],
      checkTenantName: true,
    });
    expect(Value.Check(passwordProtectionSettingsSchema, defaultPasswordProtectionSettings)).toBe(true);
    expect(loadPasswordProtectionSettings({ mode: 'Audit' })).toMatchObject({ mode: 'Audit', enabled: true });
  });

  it('applies a patch and cleans the custom list: trimmed, case-insensitive duplicates dropped', () => {
    const patched = applyPasswordProtectionPatch(defaultPasswordProtectionSettings, {
      enabled: false,
      mode: 'Audit',
      checkTenantName: false,
      customBannedPasswords: ['  Contoso ', 'contoso', 'CONTOSO', 'abcd', 'sixteen-chars-ok', 'big bank'],
    });
    expect(patched).toEqual({
      enabled: false,
      mode: 'Audit',
      checkTenantName: false,
      customBannedPasswords: ['Contoso', 'abcd', 'sixteen-chars-ok', 'big bank'],
    });
    expect(Value.Check(passwordProtectionSettingsSchema, patched)).toBe(true);
  });

  it('accepts 1000 terms and refuses 1001', () => {
    const terms = Array.from({ length: 1000 }, (_, i) => `term${i}`);
    expect(
      applyPasswordProtectionPatch(defaultPasswordProtectionSettings, { customBannedPasswords: terms })
        .customBannedPasswords,
    ).toHaveLength(1000);
    expect(
      badFields(() =>
        applyPasswordProtectionPatch(defaultPasswordProtectionSettings, {
          customBannedPasswords: [...terms, 'term1000'],
        }),
      ),
    ).toEqual([{ field: 'body/customBannedPasswords', problem: 'must not hold more than 1000 terms' }]);
  });

  it('names each bad term by its index', () => {
    expect(
      badFields(() =>
        applyPasswordProtectionPatch(defaultPasswordProtectionSettings, {
          customBannedPasswords: ['fine', '  abc  ', 'seventeen-chars-x', 7, 'café', ''],
        }),
      ),
    ).toEqual([
      {
        field: 'body/customBannedPasswords/1',
        problem: 'must be 4 to 16 characters long after trimming (it has 3)',
      },
      {
        field: 'body/customBannedPasswords/2',
        problem: 'must be 4 to 16 characters long after trimming (it has 17)',
      },
      { field: 'body/customBannedPasswords/3', problem: 'must be a string' },
      {
        field: 'body/customBannedPasswords/4',
        problem:
          'may hold only letters A-Z, digits, spaces and ASCII symbols, the characters a password can hold',
      },
      {
        field: 'body/customBannedPasswords/5',
        problem: 'must be 4 to 16 characters long after trimming (it has 0)',
      },
    ]);
  });

  it.each([
    ['enabled', 'yes', 'must be true or false'],
    ['checkTenantName', 1, 'must be true or false'],
    ['mode', 'Block', 'must be one of Enforced, Audit'],
    ['mode', 'enforced', 'must be one of Enforced, Audit'],
    ['customBannedPasswords', 'contoso', 'must be an array of strings'],
  ])('rejects %s = %j with 7700001 naming the field', (field, value, problem) => {
    expect(
      badFields(() => applyPasswordProtectionPatch(defaultPasswordProtectionSettings, { [field]: value })),
    ).toEqual([{ field: `body/${field}`, problem }]);
    expect(Value.Check(passwordProtectionPatchSchema, { [field]: value })).toBe(false);
  });

  it('rejects unknown properties', () => {
    expect(
      badFields(() => applyPasswordProtectionPatch(defaultPasswordProtectionSettings, { level: 3 })),
    ).toEqual([{ field: 'body', problem: 'is not a setting', property: 'level' }]);
  });
});
