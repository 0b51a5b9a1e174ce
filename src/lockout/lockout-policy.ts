import { createHmac, hkdfSync } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { LockoutNetwork } from '../platform/db/schema.js';
import { isSettingsObject, rejectSettingsPatch, unknownSettings } from '../platform/settings-patch.js';

/*
 * Smart lockout's rules, with no I/O: the settings document and its validation, how long the
 * n-th lockout lasts, which network an address belongs to, the keyed fingerprints of bad
 * passwords, and what one failed attempt does to a counter. The store keeps the counters; the
 * service applies these rules to them atomically.
 */

// --- Settings ---------------------------------------------------------------------------------

/** The tenant's smart lockout settings (`/rekey/v1/settings/smartLockout`). */
export interface SmartLockoutSettings {
  /** Counted failed attempts on one kind of network that lock the account (1..100). */
  readonly lockoutThreshold: number;
  /** How long the first lockout lasts, in seconds (5..86400); later ones last longer. */
  readonly lockoutDurationInSeconds: number;
}

/** Entra's defaults in its public cloud: 10 failures, one minute. */
export const defaultSmartLockoutSettings: SmartLockoutSettings = Object.freeze({
  lockoutThreshold: 10,
  lockoutDurationInSeconds: 60,
});

export const smartLockoutLimits = {
  lockoutThreshold: { minimum: 1, maximum: 100 },
  lockoutDurationInSeconds: { minimum: 5, maximum: 86_400 },
} as const;

/**
 * Applies a PATCH body to the current smart lockout settings and returns the validated result.
 * Fields left out keep their value. Throws 7700001 naming every bad field, as the other settings
 * documents do.
 *
 * @example applySmartLockoutPatch(defaultSmartLockoutSettings, { lockoutThreshold: 5 })
 */
export function applySmartLockoutPatch(current: SmartLockoutSettings, patch: unknown): SmartLockoutSettings {
  if (!isSettingsObject(patch)) rejectSettingsPatch([{ field: 'body', problem: 'must be a JSON object' }]);
  const problems = unknownSettings(patch, Object.keys(smartLockoutLimits));
  const next = { ...current };
  for (const name of Object.keys(smartLockoutLimits) as Array<keyof SmartLockoutSettings>) {
    if (!Object.hasOwn(patch, name)) continue;
    const value = patch[name];
    const limits = smartLockoutLimits[name];
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value < limits.minimum ||
      value > limits.maximum
    ) {
      problems.push({
        field: `body/${name}`,
        problem: `must be a whole number from ${limits.minimum} to ${limits.maximum}`,
      });
      continue;
    }
    next[name] = value;
  }
  if (problems.length > 0) rejectSettingsPatch(problems);
  return Object.freeze(next);
}

/** The stored document as settings: defaults when never written, validated otherwise. */
export function loadSmartLockoutSettings(stored: unknown): SmartLockoutSettings {
  if (stored === undefined) return defaultSmartLockoutSettings;
  return applySmartLockoutPatch(defaultSmartLockoutSettings, stored);
}

// --- Lockout durations -------------------------------------------------------------------------

/** The longest lockout, as a multiple of the configured duration: 60 s grows to at most 32 min. */
export const maxLockoutGrowth = 32;

/**
 * How long the `lockoutNumber`-th consecutive lockout lasts: the configured duration doubled for
 * each lockout before it, at most {@link maxLockoutGrowth} times the duration.
 *
 * @example lockoutSeconds(60, 1) // 60; lockoutSeconds(60, 3) // 240; lockoutSeconds(60, 9) // 1920
 */
export function lockoutSeconds(durationSeconds: number, lockoutNumber: number): number {
  const doublings = Math.min(Math.max(lockoutNumber, 1) - 1, Math.log2(maxLockoutGrowth));
  return durationSeconds * 2 ** doublings;
}

// --- Networks ----------------------------------------------------------------------------------

/** The eight 16-bit groups of an IPv6 address, or undefined if it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined;
  let text = address;
  // A dotted IPv4 tail (::ffff:192.0.2.1, 64:ff9b::192.0.2.1) stands for the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = '', right] = text.split('::');
  const head = left === '' ? [] : left.split(':');
  const tail = right === undefined || right === '' ? [] : right.split(':');
  const zeros = right === undefined ? 0 : 8 - head.length - tail.length;
  const groups = [...head, ...Array<string>(zeros).fill('0'), ...tail].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : undefined;
}

/**
 * The network an address belongs to, as familiar networks are recorded: IPv4 /24 (`192.0.2.0/24`),
 * IPv6 /64 (`2001:db8:1:2::/64`), an IPv4-mapped IPv6 address as its IPv4 network. Undefined for
 * anything that is not an IP address (such an attempt counts as coming from an unfamiliar network).
 */
export function networkKeyOf(address: string): string | undefined {
  const ip = address.trim().replace(/%.*$/, '');
  if (isIPv4(ip)) {
    const [a, b, c] = ip.split('.').map(Number);
    return `${a}.${b}.${c}.0/24`;
  }
  const groups = ipv6Groups(ip);
  if (!groups) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.0/24`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

// --- Fingerprints of bad passwords --------------------------------------------------------------

/** Distinct bad passwords remembered per counter, so that repeating one does not count again. */
export const rememberedFingerprints = 3;
/** Bytes of HMAC kept: 128 bits is plenty to tell a handful of passwords apart, and short to store. */
const fingerprintBytes = 16;
/** HKDF `info`: the fingerprint key is used for nothing else, and a new version gets a new key. */
const fingerprintKeyInfo = 'rekey smart-lockout bad-password fingerprint v1';

/** Computes the fingerprint of one (user, password) pair. */
export type Fingerprinter = (userId: string, password: string) => string;

/**
 * A fingerprinter keyed by a key derived (HKDF-SHA256) from Rekey's secret key. The fingerprint
 * is HMAC-SHA256 over the user id and the password, cut to 16 bytes, base64url: it tells whether
 * the same wrong password came again without storing the password or an unkeyed hash of it
 * (which a stolen database would let anyone test guesses against offline). Keyed by user too, so
 * the same wrong password typed at two accounts gives two unrelated values.
 */
export function createFingerprinter(secretKey: Buffer): Fingerprinter {
  const key = Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), fingerprintKeyInfo, 32));
  return (userId, password) =>
    createHmac('sha256', key)
      .update(userId, 'utf8')
      // The user id is a UUID, so a NUL cannot occur in it: the pair is encoded without ambiguity.
      .update('\0')
      .update(password, 'utf8')
      .digest()
      .subarray(0, fingerprintBytes)
      .toString('base64url');
}

/** The stored list (`a,b,c`, newest first) as an array. */
export function parseFingerprints(stored: string): string[] {
  return stored === '' ? [] : stored.split(',');
}

// --- One counter ------------------------------------------------------------------------------

/** The counters of one user on one kind of network (a `lockout_states` row without its keys). */
export interface LockoutCounters {
  readonly failureCount: number;
  /** Newest first, at most {@link rememberedFingerprints}. */
  readonly fingerprints: readonly string[];
  readonly lockedUntil: string | null;
  readonly lockoutCount: number;
  readonly lastFailureAt: string | null;
  readonly lastLockoutAt: string | null;
}

export const emptyCounters: LockoutCounters = Object.freeze({
  failureCount: 0,
  fingerprints: Object.freeze([]),
  lockedUntil: null,
  lockoutCount: 0,
  lastFailureAt: null,
  lastLockoutAt: null,
});

/** Whether a counter locks its network at `now` (ISO 8601 strings compare as time). */
export function isLockedAt(lockedUntil: string | null, now: Date): boolean {
  return lockedUntil !== null && lockedUntil > now.toISOString();
}

/** Whether a counter holds anything a successful password check should clear. */
export function hasHistory(counters: LockoutCounters): boolean {
  return counters.failureCount > 0 || counters.lockoutCount > 0 || counters.fingerprints.length > 0;
}

/** What one wrong password does to a counter. */
export type FailureDecision =
  /** The counter was already locked: the attempt is refused and not counted. */
  | { readonly kind: 'alreadyLocked' }
  /** The same wrong password as one of the last three: not counted again. */
  | { readonly kind: 'repeated' }
  /** Counted; `locks` when this failure reached the threshold. */
  | { readonly kind: 'counted'; readonly next: LockoutCounters; readonly locks: boolean };

/**
 * Judges one wrong password against a counter. A new wrong password counts; reaching the
 * threshold locks for the duration of that lockout number. The count is not lowered when a lock
 * expires, so the first counted failure after expiry is again at or above the threshold and locks
 * again, for longer.
 */
export function judgeFailure(
  current: LockoutCounters,
  fingerprint: string,
  settings: SmartLockoutSettings,
  now: Date,
): FailureDecision {
  if (isLockedAt(current.lockedUntil, now)) return { kind: 'alreadyLocked' };
  if (current.fingerprints.includes(fingerprint)) return { kind: 'repeated' };
  const at = now.toISOString();
  const failureCount = current.failureCount + 1;
  const fingerprints = [fingerprint, ...current.fingerprints].slice(0, rememberedFingerprints);
  if (failureCount < settings.lockoutThreshold) {
    return {
      kind: 'counted',
      locks: false,
      next: { ...current, failureCount, fingerprints, lastFailureAt: at },
    };
  }
  const lockoutCount = current.lockoutCount + 1;
  const seconds = lockoutSeconds(settings.lockoutDurationInSeconds, lockoutCount);
  return {
    kind: 'counted',
    locks: true,
    next: {
      failureCount,
      fingerprints,
      lockedUntil: new Date(now.getTime() + seconds * 1000).toISOString(),
      lockoutCount,
      lastFailureAt: at,
      lastLockoutAt: at,
    },
  };
}

// --- Describing a lock (administrators only) ----------------------------------------------------

/** A lock as administrators see it. */
export interface LockDescription {
  readonly network: LockoutNetwork;
  readonly lockedUntil: string;
  readonly failureCount: number;
  readonly lockoutCount: number;
  /** True when the attempt being described is the one that locked the account. */
  readonly lockedByThisAttempt: boolean;
}

const networkWords: Record<LockoutNetwork, string> = {
  familiar: 'familiar networks (where the user signed in before)',
  unfamiliar: 'unfamiliar networks',
};

/** Why a counter is locked, in one sentence for the lockout view. */
export function lockReason(lock: Omit<LockDescription, 'lockedByThisAttempt'>): string {
  return `${lock.failureCount} failed attempts with different wrong passwords from ${networkWords[lock.network]}; lockout ${lock.lockoutCount} in a row, until ${lock.lockedUntil}.`;
}

/** The sign-in log's `additionalDetails` of a 50053: which counter locked, and until when. */
export function lockLogDetails(lock: LockDescription): string {
  const how = lock.lockedByThisAttempt
    ? 'This attempt locked'
    : 'Refused while locked, whatever the password:';
  return `Smart lockout. ${how} the ${lock.network}-network counter until ${lock.lockedUntil} (${lock.failureCount} failures, lockout ${lock.lockoutCount} in a row).`;
}
