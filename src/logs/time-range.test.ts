import { describe, expect, it } from 'vitest';
import { isRekeyError, type RekeyError } from '../platform/errors/rekey-error.js';
import { parseLogTime, resolveLogTimeRange } from './time-range.js';

const now = new Date('2026-11-20T12:00:00.000Z');

function errorOf(action: () => unknown): RekeyError {
  try {
    action();
  } catch (error) {
    if (isRekeyError(error)) return error;
    throw error;
  }
  throw new Error('expected a RekeyError');
}

describe('log time arguments', () => {
  it('reads durations back from now', () => {
    expect(parseLogTime('--since', '7d', now)).toBe('2026-11-13T12:00:00.000Z');
    expect(parseLogTime('--since', '24h', now)).toBe('2026-11-19T12:00:00.000Z');
    expect(parseLogTime('--since', '30m', now)).toBe('2026-11-20T11:30:00.000Z');
    expect(parseLogTime('--since', ' 2D ', now)).toBe('2026-11-18T12:00:00.000Z');
  });

  it('reads ISO date-times (any offset) and bare dates as midnight UTC, in stored form', () => {
    expect(parseLogTime('--since', '2026-11-01T00:00:00Z', now)).toBe('2026-11-01T00:00:00.000Z');
    expect(parseLogTime('--since', '2026-11-01T02:30+02:00', now)).toBe('2026-11-01T00:30:00.000Z');
    expect(parseLogTime('--until', '2026-11-01', now)).toBe('2026-11-01T00:00:00.000Z');
  });

  it('refuses anything else with 7700601 naming the option and value', () => {
    for (const raw of [
      'yesterday',
      '7',
      '7w',
      '0h',
      '-1d',
      '2026-02-30',
      '2026-11-01T10:00',
      '9999999d',
      '',
    ]) {
      const error = errorOf(() => parseLogTime('--since', raw, now));
      expect(error.code).toBe(7700601);
      expect(error.message).toMatch(new RegExp(`^--since ${JSON.stringify(raw)} is not valid: `));
      expect(error.details).toEqual({ option: '--since', value: raw });
    }
  });

  it('resolves a window that ends now unless --until says otherwise, and must not be empty', () => {
    expect(resolveLogTimeRange({}, now, '7d')).toEqual({
      since: '2026-11-13T12:00:00.000Z',
      until: '2026-11-20T12:00:00.000Z',
    });
    expect(resolveLogTimeRange({ since: '2026-01-01', until: '2026-02-01' }, now, '7d')).toEqual({
      since: '2026-01-01T00:00:00.000Z',
      until: '2026-02-01T00:00:00.000Z',
    });
    const reversed = errorOf(() => resolveLogTimeRange({ since: '1d', until: '2d' }, now, '7d'));
    expect(reversed.code).toBe(7700601);
    expect(reversed.message).toBe(
      '--since (2026-11-19T12:00:00.000Z) must be earlier than --until (2026-11-18T12:00:00.000Z).',
    );
    expect(errorOf(() => resolveLogTimeRange({ since: '2027-01-01' }, now, '7d')).code).toBe(7700601);
  });
});
