import { Codes } from './errors/catalog.js';
import { RekeyError } from './errors/rekey-error.js';

/*
 * What every settings document's PATCH shares: the shape of a bad field, the check for keys that
 * are not settings, and the one refusal naming every problem. Each document keeps its own rules.
 */

/** One bad field, in the form the HTTP edge reports schema errors (`body/<name>`). */
export interface SettingsProblem {
  readonly field: string;
  readonly problem: string;
  readonly property?: string;
}

/** Whether a PATCH body is a JSON object (not null, not an array). */
export function isSettingsObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The problems of a PATCH body's keys that name no setting; `known` holds the settings' names. */
export function unknownSettings(patch: Record<string, unknown>, known: readonly string[]): SettingsProblem[] {
  // Own keys only: `in` would also find toString and the rest of Object.prototype.
  return Object.keys(patch)
    .filter((key) => !known.includes(key))
    .map((key) => ({ field: 'body', problem: 'is not a setting', property: key }));
}

function describeProblem(problem: SettingsProblem): string {
  if (problem.property !== undefined) return `${problem.property} ${problem.problem}`;
  const name = problem.field.replace(/^body\/?/, '').replace(/\/(\d+)/g, '[$1]');
  return `${name === '' ? 'the body' : name} ${problem.problem}`;
}

/**
 * Refuses a settings PATCH with 7700001, listing every problem in the message too (the CLI shows
 * messages rather than details).
 *
 * @example rejectSettingsPatch([{ field: 'body/lockoutThreshold', problem: 'must be a whole number from 1 to 50' }])
 */
export function rejectSettingsPatch(problems: readonly SettingsProblem[]): never {
  throw new RekeyError(Codes.RequestValidationFailed, {
    message: `The settings were not changed: ${problems.map(describeProblem).join('; ')}.`,
    details: { fields: problems },
  });
}
