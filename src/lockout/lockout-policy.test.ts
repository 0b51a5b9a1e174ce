import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RekeyError } from '../platform/errors/rekey-error.js';
import {
  applySmartLockoutPatch,
  createFingerprinter,
  defaultSmartLockoutSettings,
  emptyCounters,
  judgeFailure,
  type LockoutCounters,
  loadSmartLockoutSettings,
  lockoutSeconds,
  networkKeyOf,
} from './lockout-policy.js';

describe('smart lockout rules', () => {
  it('doubles each lockout in a row, up to 32 times the duration', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => lockoutSeconds(60, n))).toEqual([
      60, 120, 240, 480, 960, 1920, 1920, 1920, 1920,
    ]);
    expect(lockoutSeconds(5, 1)).toBe(5);
    expect(lockoutSeconds(86_400, 9)).toBe(32 * 86_400);
  });

  it.each([
    ['192.0.2.77', '192.0.2.0/24'],
    ['10.0.0.1', '10.0.0.0/24'],
    ['::ffff:192.0.2.77', '192.0.2.0/24'],
    ['::FFFF:c000:024d', '192.0.2.0/24'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
  ])('puts %s in the network %s', (address, network) => {
    expect(networkKeyOf(address)).toBe(network);
  });

  it.each(['', 'localhost', '999.1.1.1', '2001:db8::g', 'unknown'])('gives no network for %j', (address) => {
    expect(networkKeyOf(address)).toBeUndefined();
  });

  it('fingerprints with a key from the secret key: stable, per user, short, and never the password', () => {
    const key = randomBytes(32);
    const print = createFingerprinter(key);
    const password = 'Correct-Horse-Battery-9!';
    const a = print('3f7c0b6e-0000-4000-8000-000000000001', password);
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(print('3f7c0b6e-0000-4000-8000-000000000001', password)).toBe(a);
    expect(print('3f7c0b6e-0000-4000-8000-000000000002', password)).not.toBe(a);
    expect(print('3f7c0b6e-0000-4000-8000-000000000001', `${password}x`)).not.toBe(a);
    expect(createFingerprinter(randomBytes(32))('3f7c0b6e-0000-4000-8000-000000000001', password)).not.toBe(
      a,
    );
    expect(a).not.toContain('Horse');
  });

  const now = new Date('2030-01-01T00:00:00.000Z');
  const settings = { lockoutThreshold: 3, lockoutDurationInSeconds: 60 };

  it('counts a new wrong password, ignores one of the last three, and locks at the threshold', () => {
    let counters: LockoutCounters = emptyCounters;
    const step = (print: string) => {
      const decision = judgeFailure(counters, print, settings, now);
      if (decision.kind === 'counted') counters = decision.next;
      return decision;
    };
    expect(step('a')).toMatchObject({ kind: 'counted', locks: false });
    expect(step('a')).toEqual({ kind: 'repeated' });
    expect(step('b')).toMatchObject({ kind: 'counted', locks: false });
    expect(step('c')).toMatchObject({ kind: 'counted', locks: true });
    expect(counters).toEqual({
      failureCount: 3,
      fingerprints: ['c', 'b', 'a'],
      lockedUntil: '2030-01-01T00:01:00.000Z',
      lockoutCount: 1,
      lastFailureAt: now.toISOString(),
      lastLockoutAt: now.toISOString(),
    });
    expect(judgeFailure(counters, 'd', settings, now)).toEqual({ kind: 'alreadyLocked' });
    // Once the lock ends the count is still at the threshold: the next new wrong password locks,
    // for twice as long; a repeated one does not.
    const later = new Date(now.getTime() + 61_000);
    expect(judgeFailure(counters, 'b', settings, later)).toEqual({ kind: 'repeated' });
    const again = judgeFailure(counters, 'd', settings, later);
    expect(again).toMatchObject({
      kind: 'counted',
      locks: true,
      next: {
        failureCount: 4,
        lockoutCount: 2,
        fingerprints: ['d', 'c', 'b'],
        lockedUntil: '2030-01-01T00:03:01.000Z',
      },
    });
  });

  it('validates the settings document like the other settings documents', () => {
    expect(loadSmartLockoutSettings(undefined)).toEqual({
      lockoutThreshold: 10,
      lockoutDurationInSeconds: 60,
    });
    expect(applySmartLockoutPatch(defaultSmartLockoutSettings, { lockoutThreshold: 3 })).toEqual({
      lockoutThreshold: 3,
      lockoutDurationInSeconds: 60,
    });
    expect(() => applySmartLockoutPatch(defaultSmartLockoutSettings, { lockoutThreshold: 1.5 })).toThrow(
      /lockoutThreshold must be a whole number from 1 to 100/,
    );
    expect(() => applySmartLockoutPatch(defaultSmartLockoutSettings, [])).toThrow(/must be a JSON object/);
    expect(() =>
      applySmartLockoutPatch(defaultSmartLockoutSettings, { lockoutDurationInSeconds: '60' }),
    ).toThrow(/lockoutDurationInSeconds must be a whole number from 5 to 86400/);
    // Names every object inherits are not settings either.
    for (const inherited of ['toString', 'hasOwnProperty', 'valueOf', 'constructor']) {
      expect(() =>
        applySmartLockoutPatch(defaultSmartLockoutSettings, JSON.parse(`{"${inherited}": 1}`)),
      ).toThrow(RekeyError);
    }
  });
});
