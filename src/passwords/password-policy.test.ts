import { describe, expect, it } from 'vitest';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { generatePassword } from './generate-password.js';
import {
  assertPasswordAcceptable,
  evaluatePassword,
  maximumLength,
  minimumLength,
  nameTokens,
  type PolicySubject,
} from './password-policy.js';

const subject: PolicySubject = {
  userPrincipalName: 'Dana.Whitfield@example.com',
  displayName: 'Dana Whitfield',
  givenName: 'Dana',
  surname: 'Whitfield',
};

function rulesOf(password: string, options: { currentPassword?: string } = {}) {
  return evaluatePassword(password, subject, options).map((f) => f.rule);
}

function thrown(run: () => void): RekeyError {
  try {
    run();
  } catch (error) {
    if (error instanceof RekeyError) return error;
    throw error;
  }
  throw new Error('expected a RekeyError');
}

describe('password policy (Entra defaults)', () => {
  it('accepts a long password with three character categories', () => {
    expect(rulesOf('Copper-kettle-sings')).toEqual([]);
    expect(rulesOf('copper kettle 42')).toEqual([]);
    expect(() => assertPasswordAcceptable('Copper-kettle-sings', subject)).not.toThrow();
  });

  it('enforces 8 to 256 characters, counting both bounds', () => {
    expect(minimumLength).toBe(8);
    expect(maximumLength).toBe(256);
    expect(rulesOf('Ab1!xyz')).toEqual(['length']);
    expect(rulesOf('Ab1!xyzw')).toEqual([]);
    const longest = `Ab1!${'x'.repeat(252)}`;
    expect(longest).toHaveLength(256);
    expect(rulesOf(longest)).toEqual([]);
    expect(rulesOf(`${longest}y`)).toEqual(['length']);
  });

  it.each([
    ['lower only', 'quietharborlights'],
    ['lower and upper', 'QuietHarborLights'],
    ['lower and digits', 'quietharbor2024'],
    ['digits and symbols', '2024-11-05!!'],
  ])('requires three of four character categories (%s fails)', (_name, password) => {
    expect(rulesOf(password)).toEqual(['characterCategories']);
  });

  it.each([
    ['upper, lower, digit', 'QuietHarbor2024'],
    ['upper, lower, symbol', 'Quiet-Harbor-Lights'],
    ['lower, digit, symbol', 'quiet-harbor-2024'],
    ['upper, digit, symbol', 'QUIET-HARBOR-2024'],
    ['non-ASCII counts as a symbol', 'quietharbör2024'],
  ])('accepts any three categories (%s)', (_name, password) => {
    expect(rulesOf(password)).toEqual([]);
  });

  it('refuses the current password as the new one', () => {
    expect(rulesOf('Copper-kettle-sings', { currentPassword: 'Copper-kettle-sings' })).toEqual([
      'sameAsCurrent',
    ]);
    expect(rulesOf('Copper-kettle-sings', { currentPassword: 'Copper-kettle-sing' })).toEqual([]);
  });

  it('derives name tokens of 4+ characters from the UPN local part and the names', () => {
    expect(nameTokens(subject).sort()).toEqual(['dana', 'dana.whitfield', 'whitfield']);
    expect(
      nameTokens({
        userPrincipalName: 'al@example.com',
        displayName: 'Al Li',
        givenName: null,
        surname: null,
      }),
    ).toEqual([]);
  });

  it.each([
    ['the UPN local part', 'xDana.Whitfield9!'],
    ['the given name, any case', 'Sunny-DANA-2024'],
    ['the surname', 'whitfield-Rocks-7'],
  ])('refuses a password containing %s with 120003', (_name, password) => {
    expect(rulesOf(password)).toEqual(['containsUserName']);
    const error = thrown(() => assertPasswordAcceptable(password, subject));
    expect(error.code).toBe(120003);
    expect(error.httpStatus).toBe(400);
  });

  it('ignores name parts shorter than four characters', () => {
    const short: PolicySubject = {
      userPrincipalName: 'bo@example.com',
      displayName: 'Bo Yan',
      givenName: 'Bo',
      surname: 'Yan',
    };
    expect(evaluatePassword('Bo-Yan-Travels-1', short)).toEqual([]);
  });

  it('answers 120002 when any complexity rule fails, listing every failed rule but never the password', () => {
    const error = thrown(() => assertPasswordAcceptable('dana', subject, { currentPassword: 'dana' }));
    expect(error.code).toBe(120002);
    const failures = (error.details?.['failures'] ?? []) as Array<{ rule: string; code: number }>;
    expect(failures.map((f) => f.rule)).toEqual([
      'length',
      'characterCategories',
      'sameAsCurrent',
      'containsUserName',
    ]);
    expect(failures.map((f) => f.code)).toEqual([120002, 120002, 120002, 120003]);
    expect(JSON.stringify(error.details)).not.toMatch(/"dana"/);
  });

  it('generates passwords that pass the policy and differ each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i += 1) {
      const password = generatePassword();
      expect(password).toHaveLength(16);
      expect(rulesOf(password)).toEqual([]);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[2-9]/);
      expect(password).not.toMatch(/[01lIO]/);
      seen.add(password);
    }
    expect(seen.size).toBe(200);
  });
});
