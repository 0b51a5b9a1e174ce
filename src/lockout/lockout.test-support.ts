import { Agent, request } from 'undici';
import { cliClientId } from '../../test/support/rekey-harness.js';
import type { Clock } from '../platform/clock.js';
import { createArgon2Hasher, type PasswordHasher } from '../platform/crypto/password-hasher.js';

/** A clock that runs with real time, moved forward by the test (to let locks expire without sleeping). */
export class SkewClock implements Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

/**
 * The harness's cheap argon2id, counting verifications, and able to hold every verification of
 * one password until the test lets it go: how a test puts a right password's check "in flight"
 * while other attempts lock the account.
 */
export interface GatedHasher extends PasswordHasher {
  /** Verifications started so far. */
  readonly verifications: number;
  /** Holds verifications of `password` from now on; returns how many are waiting. */
  hold(password: string): { readonly waiting: () => number; release(): void };
}

export function createGatedHasher(): GatedHasher {
  const real = createArgon2Hasher({ memoryKib: 1024, iterations: 1, parallelism: 1 });
  let verifications = 0;
  let held: { password: string; waiting: number; gate: Promise<void>; open: () => void } | undefined;
  return {
    hash: (password) => real.hash(password),
    needsRehash: (phc) => real.needsRehash(phc),
    get verifications() {
      return verifications;
    },
    async verify(phc, password) {
      verifications += 1;
      const result = await real.verify(phc, password);
      const gate = held;
      if (gate && gate.password === password) {
        gate.waiting += 1;
        await gate.gate;
      }
      return result;
    },
    hold(password) {
      let open = () => {};
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const entry = { password, waiting: 0, gate, open };
      held = entry;
      return {
        waiting: () => entry.waiting,
        release() {
          if (held === entry) held = undefined;
          entry.open();
        },
      };
    },
  };
}

/** One connection per concurrent request, so that 200 attempts really are in flight together. */
export const httpAgent = new Agent({ connections: 256, pipelining: 0 });

/**
 * A password sign-in over real HTTP: 0 for tokens, else the first AADSTS code of the error body
 * (-1 for an answer without one, which no assertion expects).
 */
export async function signInOverHttp(baseUrl: string, username: string, password: string): Promise<number> {
  const response = await request(`${baseUrl}/example.com/oauth2/v2.0/token`, {
    method: 'POST',
    dispatcher: httpAgent,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: cliClientId,
      username,
      password,
    }).toString(),
  });
  const body = (await response.body.json()) as { error_codes?: number[] };
  if (response.statusCode === 200) return 0;
  return body.error_codes?.[0] ?? -1;
}

/** How many times each code came back. */
export function tally(codes: readonly number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const code of codes) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}
