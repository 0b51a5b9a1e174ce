/**
 * The two passwords each bench user alternates between. Both are strong, differ from each other,
 * and contain neither the user's name ("Bench User <n>", "bench<n>") nor the tenant domain, so
 * a name-in-password or history rule in either server cannot reject a change.
 */
export function benchPasswords(user: number): readonly [string, string] {
  return [`Quartz-Alpha-${user}-x9!`, `Quartz-Bravo-${user}-x9!`];
}

/**
 * Tracks which of its two passwords each user currently has. One instance per server, because each
 * server has its own users; a cycle reads `current`/`next` and calls `advance` only after the
 * server accepted the change, so a failed run never leaves the tracker out of step.
 */
export class PasswordRotation {
  readonly #flipped = new Map<number, boolean>();

  current(user: number): string {
    const [a, b] = benchPasswords(user);
    return this.#flipped.get(user) ? b : a;
  }

  next(user: number): string {
    const [a, b] = benchPasswords(user);
    return this.#flipped.get(user) ? a : b;
  }

  advance(user: number): void {
    this.#flipped.set(user, !this.#flipped.get(user));
  }
}
