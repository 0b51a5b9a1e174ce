import type { Command } from 'commander';
import { Codes } from '../platform/errors/catalog.js';
import { isRekeyError, RekeyError } from '../platform/errors/rekey-error.js';

/*
 * The services behind the CLI are the API's, so their errors speak the API's language: request
 * fields (`body/lockoutThreshold`), JSON Schema problems (`must match pattern ...`), and advice
 * for an HTTP client ("send the request again"). This module puts such an error in the words of
 * the command the user typed: the option they gave, what it must be, and the command to run.
 */

/** The option (or options) that set an API field, as a person would type them. */
type OptionNames = Readonly<Record<string, string>>;

/** Fields whose option is not their kebab-cased name, by command path. */
const optionsByCommand: Readonly<Record<string, OptionNames>> = {
  'lockout set': { lockoutThreshold: '--threshold', lockoutDurationInSeconds: '--duration' },
  'signin set': { signInErrorDisclosure: '--disclosure' },
  'users create': {
    userPrincipalName: '--upn',
    passwordProfile: '--password',
    password: '--password',
    accountEnabled: '--disabled',
    // Set by --mail-nickname, or else derived from --upn (see explainedFields).
    mailNickname: '--mail-nickname',
    onPremisesImmutableId: '--immutable-id',
  },
  'users set-password': { passwordProfile: '--password', password: '--password', newPassword: '--password' },
  'policy protection set': {
    customBannedPasswords: '--add-term (or a line of --terms-file)',
    enabled: '--enable or --disable',
    checkTenantName: '--check-tenant-name',
    mode: '--mode',
  },
};

/** What a JSON Schema pattern means, for the fields whose pattern a person could not read. */
const patternMeanings: Readonly<Record<string, string>> = {
  mailNickname: 'must not contain spaces or any of @ ( ) [ ] " ; : < > ,',
  usageLocation: 'must be a two-letter country code, such as GB or US',
  mail: 'must be an email address, such as ada@example.com',
  displayName: 'must not be blank',
  givenName: 'must not be blank',
  surname: 'must not be blank',
};

/** Problems that only say a value also failed the other branch of an anyOf (the `null` one). */
const branchNoise = new Set(['must be null', 'must match a schema in anyOf']);

/** What a command is called, from the program down: `users create`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

interface FieldProblem {
  readonly field: string;
  readonly problem: string;
}

function fieldProblemsOf(details: unknown): FieldProblem[] | undefined {
  const fields = (details as { fields?: unknown } | undefined)?.fields;
  if (!Array.isArray(fields)) return undefined;
  const problems = fields.filter(
    (f): f is FieldProblem =>
      typeof (f as FieldProblem | null)?.field === 'string' &&
      typeof (f as FieldProblem).problem === 'string',
  );
  return problems.length > 0 ? problems : undefined;
}

function kebab(field: string): string {
  return `--${field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/** The option that sets `field` in `command`, or undefined when the command has none. */
function optionFor(command: Command, path: string, field: string): string | undefined {
  const named = optionsByCommand[path]?.[field];
  if (named) return named;
  // `rekey policy set` describes each option by the field it sets: "minLength: shortest password".
  const described = command.options.find((o) => o.description.startsWith(`${field}:`));
  if (described?.long) return described.long;
  const long = kebab(field);
  return command.options.some((o) => o.long === long) ? long : undefined;
}

/** The problem in words a person reads: a pattern's meaning, a field name replaced by the option. */
function wordsFor(field: string, problem: string): string {
  if (problem.startsWith('must match pattern')) return patternMeanings[field] ?? problem;
  if (problem === 'must not have fewer than 1 characters') return 'must not be empty';
  // The CLI spells "no maximum age" as `never` (--maximum-age-days never), the API as null.
  if (field === 'maximumAgeDays') return problem.replace(/, or null$/, ', or never');
  return problem;
}

/** `$filter` and its kin, as the options of `rekey users list` and `rekey logs export` spell them. */
function queryOptionsAsFlags(text: string): string {
  return text.replace(/\$(filter|select|orderby|top)\b/g, '--$1');
}

/**
 * One line per field that was refused, naming the option that set it. `mailNickname` is taken
 * from --upn when --mail-nickname was not given, and the line says so.
 */
function describeFields(
  command: Command,
  path: string,
  problems: readonly FieldProblem[],
): { lines: string[]; options: string[] } {
  const lines: string[] = [];
  const options: string[] = [];
  const byField = new Map<string, string[]>();
  for (const { field, problem } of problems) {
    // body/customBannedPasswords/0 -> customBannedPasswords; body/passwordProfile/password -> passwordProfile
    const name = field.replace(/^(body|query|params|querystring)\//, '').split('/')[0] ?? field;
    byField.set(name, [...(byField.get(name) ?? []), problem]);
  }
  const optionValues = command.opts<Record<string, unknown>>();
  for (const [field, all] of byField) {
    const meaningful = all.filter((p) => !branchNoise.has(p));
    const problemsOfField = [
      ...new Set((meaningful.length > 0 ? meaningful : all).map((p) => wordsFor(field, p))),
    ];
    let option = optionFor(command, path, field);
    let subject = option ?? field;
    if (path === 'users create' && field === 'mailNickname' && optionValues['mailNickname'] === undefined) {
      option = '--upn';
      subject = '--upn: the part before the @ (the mail nickname, unless --mail-nickname is given)';
    }
    if (option) options.push(option);
    lines.push(`${subject} ${problemsOfField.join(', and ')}`);
  }
  return { lines, options };
}

/** What to do after a CLI failure, where the catalog's advice is written for an HTTP client. */
function adviceFor(code: number, path: string): string | undefined {
  const help = path === '' ? '`rekey --help`' : `\`rekey ${path} --help\``;
  switch (code) {
    case Codes.RequestValidationFailed:
      return `Correct the option named above and run the command again; ${help} lists the options and their values.`;
    case Codes.InvalidQueryOption:
      return `Use only the properties and operators the message lists; ${help} shows examples.`;
    case Codes.SettingsUpdateConflict:
      return 'Someone changed the settings at the same moment: run the command again; it applies to the settings as they are then.';
    case Codes.PasswordChangeInvalidNewPasswordWeak:
      return 'Every rule the password failed is listed in the details above; try another with `rekey policy test`, and read the rules with `rekey policy show`.';
    case Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy:
      return 'The details above give the score and the terms found; `rekey policy test` tries another password.';
    case Codes.ResourceNotFound:
      return 'Check the id or user principal name; `rekey users list --deleted` lists deleted users, and `rekey users restore <user>` brings one back.';
    case Codes.DeletedAccount:
      return 'Restore the user first with `rekey users restore <user>`.';
    case Codes.InternalError:
      return 'Run the command again. If it keeps failing, report it with the message above.';
    default:
      return undefined;
  }
}

/** A failure in the words of the command that was typed; `advice` replaces the catalog's first step. */
export interface CliFailure {
  readonly error: unknown;
  readonly advice: string | undefined;
}

/**
 * Puts a failure of the command `command` in its own words: a validation error names the options
 * instead of request fields, and the advice names the command to run instead of a request to send.
 * Errors that need no translation pass through with the catalog's advice.
 */
export function inCommandTerms(error: unknown, command: Command | undefined): CliFailure {
  const path = command ? commandPath(command) : '';
  if (!isRekeyError(error)) return { error, advice: undefined };
  const advice = adviceFor(error.code, path);
  if (error.code === Codes.InvalidQueryOption) {
    const option = (error.details as { option?: unknown } | undefined)?.option;
    const translated = new RekeyError(error.code, {
      message: queryOptionsAsFlags(error.message),
      details: {
        ...error.details,
        ...(typeof option === 'string' ? { option: queryOptionsAsFlags(option) } : {}),
      },
      cause: error,
    });
    return { error: translated, advice };
  }
  const problems = fieldProblemsOf(error.details);
  if (!command || !problems || error.code !== Codes.RequestValidationFailed) return { error, advice };
  const { lines, options } = describeFields(command, path, problems);
  const unchanged = /^The settings were not changed/.test(error.message)
    ? 'The settings were not changed: '
    : '';
  const translated = new RekeyError(error.code, {
    message: `${unchanged}${lines.join('; ')}.`,
    details: { options: [...new Set(options)] },
    cause: error,
  });
  return { error: translated, advice };
}
