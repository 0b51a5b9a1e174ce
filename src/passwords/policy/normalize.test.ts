import { describe, expect, it } from 'vitest';
import { normalizeForMatching, tenantNameTerms, userNameTerms } from './normalize.js';

describe('normalizeForMatching', () => {
  it.each([
    // Entra's documented examples.
    ['C0ntos0Blank12', 'contosoblank12'],
    ['ContoS0Bl@nkf9!', 'contosoblankf9!'],
    ['Bl@nK', 'blank'],
    ['p0LL23fb', 'poll23fb'],
    // The documented table: 0 -> o, 1 -> l, $ -> s, @ -> a.
    ['0', 'o'],
    ['1', 'l'],
    ['$', 's'],
    ['@', 'a'],
    // Rekey's additions.
    ['p4ssw0rd', 'password'],
    ['l3tm3in', 'letmein'],
    ['5ummer', 'summer'],
    ['7iger', 'tiger'],
    ['he||o', 'hello'],
    ['+rust', 'trust'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normalizeForMatching(input)).toBe(expected);
  });

  it('reads a run of look-alike digits as letters only between letters', () => {
    expect(normalizeForMatching('pa55word')).toBe('password');
    expect(normalizeForMatching('c00l')).toBe('cool');
    // At the end of the word, or holding a digit without a letter reading, it is a number.
    expect(normalizeForMatching('welcome1357')).toBe('welcome1357');
    expect(normalizeForMatching('x2024y')).toBe('x2024y');
    expect(normalizeForMatching('Summer2024!')).toBe('summer2024!');
    expect(normalizeForMatching('123456')).toBe('123456');
  });

  it('reads a lone digit as a letter wherever it stands', () => {
    expect(normalizeForMatching('h3ll0')).toBe('hello');
    expect(normalizeForMatching('1password')).toBe('lpassword');
    expect(normalizeForMatching('!1!')).toBe('!l!');
  });

  it('keeps digits and symbols without a letter reading', () => {
    expect(normalizeForMatching('2689!#%^&*()')).toBe('2689!#%^&*()');
  });

  it('changes only ASCII and keeps the length', () => {
    expect(normalizeForMatching('ÉCOLE-İ')).toBe('École-İ');
    expect(normalizeForMatching('ÉCOLE-İ')).toHaveLength('ÉCOLE-İ'.length);
  });
});

describe('userNameTerms', () => {
  it('takes the UPN local part, display name, given name and surname words of 4+ characters', () => {
    expect(
      userNameTerms({
        userPrincipalName: 'Dana.Whitfield@example.com',
        displayName: 'Dana Whitfield (Finance)',
        givenName: 'Dana',
        surname: 'Whitfield',
      }).sort(),
    ).toEqual(['dana', 'dana.whitfield', 'finance', 'whitfield']);
  });

  it('drops parts shorter than 4 characters, folds accents and splits letters from digits', () => {
    expect(
      userNameTerms({ userPrincipalName: 'al@example.com', displayName: 'Al Zoë', surname: 'Ng' }),
    ).toEqual([]);
    expect(userNameTerms({ displayName: 'Zoëlle' })).toEqual(['zoelle']);
    expect(userNameTerms({ userPrincipalName: 'jsmith42@example.com' }).sort()).toEqual([
      'jsmith',
      'jsmith42',
    ]);
  });

  it('normalises the terms like passwords', () => {
    expect(userNameTerms({ displayName: 'Poll' })).toEqual(['poll']);
    expect(userNameTerms({ displayName: 'R0b Smith' })).toEqual(['smith']);
  });

  it('accepts a subject with nothing known', () => {
    expect(userNameTerms({})).toEqual([]);
    expect(
      userNameTerms({ userPrincipalName: null, displayName: null, givenName: null, surname: null }),
    ).toEqual([]);
  });
});

describe('tenantNameTerms', () => {
  it('gives each word of 4+ characters and the whole name', () => {
    expect(tenantNameTerms('Fabrikam Bank').sort()).toEqual(['bank', 'fabrikam', 'fabrikambank']);
    expect(tenantNameTerms('Contoso Ltd').sort()).toEqual(['contoso', 'contosoltd']);
    expect(tenantNameTerms('Zy')).toEqual([]);
    expect(tenantNameTerms(null)).toEqual([]);
  });
});
