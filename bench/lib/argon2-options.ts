import type { Options } from '@node-rs/argon2';

/**
 * OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane), the same parameters Rekey uses by default.
 * `algorithm` is left to the library default, which is argon2id: the `Algorithm` const enum cannot
 * be read under verbatimModuleSyntax. {@link assertOwaspPhc} checks the result instead.
 */
export const owaspArgon2id: Options = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** The PHC prefix every hash made with {@link owaspArgon2id} must start with. */
export const owaspPhcPrefix = '$argon2id$v=19$m=19456,t=2,p=1$';

/** Fails loudly if `phc` was not made with exactly the OWASP argon2id parameters. */
export function assertOwaspPhc(phc: string, where: string): void {
  if (!phc.startsWith(owaspPhcPrefix)) {
    throw new Error(
      `${where}: expected an argon2id hash starting with ${owaspPhcPrefix}, got ${phc.slice(0, 40)}`,
    );
  }
}
