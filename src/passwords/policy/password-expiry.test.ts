import { describe, expect, it } from 'vitest';
import { hasPasswordPolicyFlag, passwordExpiry } from './password-expiry.js';

const now = new Date('2025-06-01T00:00:00.000Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 24 * 60 * 60 * 1000).toISOString();
const ninetyDays = { maximumAgeDays: 90, expiryWarningDays: 14 };

describe('passwordExpiry', () => {
  it('never expires with the default policy (no maximum age)', () => {
    const user = { passwordPolicies: null, lastPasswordChangeDateTime: daysAgo(5000) };
    expect(passwordExpiry({ maximumAgeDays: null, expiryWarningDays: 14 }, user, now)).toEqual({
      expired: false,
      expiresAt: null,
      inWarningWindow: false,
    });
  });

  it('expires maximumAgeDays after the last change, from that instant on', () => {
    const user = { passwordPolicies: null, lastPasswordChangeDateTime: daysAgo(90) };
    expect(passwordExpiry(ninetyDays, user, now)).toEqual({
      expired: true,
      expiresAt: '2025-06-01T00:00:00.000Z',
      inWarningWindow: false,
    });
    const aMomentEarlier = new Date(now.getTime() - 1);
    expect(passwordExpiry(ninetyDays, user, aMomentEarlier)).toEqual({
      expired: false,
      expiresAt: '2025-06-01T00:00:00.000Z',
      inWarningWindow: true,
    });
    expect(
      passwordExpiry(ninetyDays, { passwordPolicies: null, lastPasswordChangeDateTime: daysAgo(120) }, now),
    ).toMatchObject({ expired: true, expiresAt: '2025-05-02T00:00:00.000Z' });
  });

  it('warns in the expiryWarningDays before expiry, and not before that window', () => {
    const inWindow = { passwordPolicies: null, lastPasswordChangeDateTime: daysAgo(76) };
    expect(passwordExpiry(ninetyDays, inWindow, now)).toEqual({
      expired: false,
      expiresAt: '2025-06-15T00:00:00.000Z',
      inWarningWindow: true,
    });
    const beforeWindow = { passwordPolicies: null, lastPasswordChangeDateTime: daysAgo(75) };
    expect(passwordExpiry(ninetyDays, beforeWindow, now)).toMatchObject({
      expired: false,
      inWarningWindow: false,
    });
    expect(passwordExpiry({ maximumAgeDays: 90, expiryWarningDays: 0 }, inWindow, now).inWarningWindow).toBe(
      false,
    );
  });

  it('honours DisablePasswordExpiration, alone or with another flag', () => {
    for (const passwordPolicies of [
      'DisablePasswordExpiration',
      'DisableStrongPassword, DisablePasswordExpiration',
    ]) {
      expect(
        passwordExpiry(ninetyDays, { passwordPolicies, lastPasswordChangeDateTime: daysAgo(400) }, now),
      ).toEqual({
        expired: false,
        expiresAt: null,
        inWarningWindow: false,
      });
    }
    const strongOnly = {
      passwordPolicies: 'DisableStrongPassword',
      lastPasswordChangeDateTime: daysAgo(400),
    };
    expect(passwordExpiry(ninetyDays, strongOnly, now).expired).toBe(true);
  });

  it('does not expire a password whose change time is unknown', () => {
    expect(
      passwordExpiry(ninetyDays, { passwordPolicies: null, lastPasswordChangeDateTime: null }, now),
    ).toEqual({
      expired: false,
      expiresAt: null,
      inWarningWindow: false,
    });
  });
});

describe('hasPasswordPolicyFlag', () => {
  it('reads Graph passwordPolicies strings', () => {
    expect(hasPasswordPolicyFlag('DisableStrongPassword', 'DisableStrongPassword')).toBe(true);
    expect(
      hasPasswordPolicyFlag('DisablePasswordExpiration,DisableStrongPassword', 'DisableStrongPassword'),
    ).toBe(true);
    expect(hasPasswordPolicyFlag(' disablestrongpassword ', 'DisableStrongPassword')).toBe(true);
    expect(hasPasswordPolicyFlag('DisablePasswordExpiration', 'DisableStrongPassword')).toBe(false);
    expect(hasPasswordPolicyFlag('None', 'DisableStrongPassword')).toBe(false);
    expect(hasPasswordPolicyFlag(null, 'DisablePasswordExpiration')).toBe(false);
    expect(hasPasswordPolicyFlag(undefined, 'DisablePasswordExpiration')).toBe(false);
  });
});
