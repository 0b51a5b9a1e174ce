import { describe, expect, it } from 'vitest';
import { queryErrorOf, usersResource } from './fixtures.test-support.js';
import { applySelect, parseSelect, selectContextSuffix } from './select.js';

const user = {
  id: 'u1',
  displayName: 'Alice',
  mail: null,
  accountEnabled: true,
  userPrincipalName: 'alice@contoso.com',
};

describe('applySelect', () => {
  it('keeps the selected properties in the object order, and always id', () => {
    expect(applySelect(user, ['userPrincipalName', 'displayName'])).toEqual({
      id: 'u1',
      displayName: 'Alice',
      userPrincipalName: 'alice@contoso.com',
    });
    expect(Object.keys(applySelect(user, ['userPrincipalName', 'displayName']))).toEqual([
      'id',
      'displayName',
      'userPrincipalName',
    ]);
  });

  it('keeps null values, which Graph returns explicitly', () => {
    expect(applySelect(user, ['mail'])).toEqual({ id: 'u1', mail: null });
  });

  it('matches names ignoring case', () => {
    expect(applySelect(user, ['ACCOUNTENABLED'])).toEqual({ id: 'u1', accountEnabled: true });
  });

  it('rejects a property the object does not have, naming it', () => {
    const error = queryErrorOf(() => applySelect(user, ['displayName', 'jobTitle']));
    expect(error.message).toBe(
      "The property 'jobTitle' cannot be selected. Selectable properties: id, displayName, mail, accountEnabled, userPrincipalName.",
    );
    expect(error.details).toEqual({
      option: '$select',
      property: 'jobTitle',
      supportedProperties: ['id', 'displayName', 'mail', 'accountEnabled', 'userPrincipalName'],
    });
  });

  it('does not copy inherited properties', () => {
    expect(() => applySelect(user, ['toString'])).toThrow("The property 'toString' cannot be selected.");
  });
});

describe('selectContextSuffix', () => {
  it('lists explicit selections only', () => {
    expect(selectContextSuffix(parseSelect('displayName', usersResource))).toBe('(id,displayName)');
    expect(selectContextSuffix(parseSelect(undefined, usersResource))).toBe('');
  });
});
