import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { listCatalogEntries } from '../platform/errors/catalog.js';
import { explainCode } from '../platform/errors/catalog-guidance.js';
import { buildCli } from './cli.js';

/*
 * A remediation is advice a person follows (`rekey errors <code>`, /error?code=<code>, the CLI's
 * "what to do"). It must point only at what exists: every `rekey ...` command it names is one that
 * `rekey --help` lists, with options the command has; every HTTP path it names is a route Rekey
 * serves; and no step sends anyone to a self-service reset Rekey does not have yet. The same holds
 * for the guidance's steps and notes (catalog-guidance.ts), which the /error page shows in full.
 */

const steps = listCatalogEntries().flatMap((entry) => {
  const explained = explainCode(entry);
  const texts = new Set([...entry.remediation, ...explained.steps, ...explained.notes]);
  return [...texts].map((step) => ({ code: entry.code, step }));
});

/** The commands a remediation names: the text of each `rekey ...` span in backquotes. */
function commandsIn(step: string): string[] {
  return [...step.matchAll(/`rekey ([^`]+)`/g)].map((m) => m[1] ?? '');
}

/** Why `rekey <words>` is not a command of `program`, or undefined when it is. */
function problemWith(program: Command, words: string): string | undefined {
  let command = program;
  for (const word of words.split(/\s+/)) {
    if (word.startsWith('<') || word.startsWith('[') || word.startsWith("'")) continue;
    if (word.startsWith('-')) {
      const flag = word.split('=')[0] ?? word;
      if (!command.options.some((o) => o.long === flag || o.short === flag)) {
        return `\`rekey ${words}\`: ${command.name()} has no option ${flag}`;
      }
      continue;
    }
    if (command.commands.length === 0) continue; // a literal argument
    const next = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!next) return `\`rekey ${words}\`: ${command.name()} has no subcommand ${word}`;
    command = next;
  }
  // A group that also runs by itself (`rekey licenses subscriptions`) is a command too.
  if (command.commands.length > 0 && !hasAction(command))
    return `\`rekey ${words}\` names a group, not a command`;
  return undefined;
}

/** Whether `command` does something when run by itself, rather than only holding subcommands. */
function hasAction(command: Command): boolean {
  return (command as unknown as { _actionHandler: unknown })._actionHandler != null;
}

/** The HTTP routes a remediation names: `METHOD /path` or a bare `/path`, as Fastify patterns. */
function routesIn(step: string): Array<{ readonly method: string | undefined; readonly url: string }> {
  return (
    [...step.matchAll(/(?:\b(GET|POST|PATCH|PUT|DELETE) )?(?<=^|[\s(`])(\/[A-Za-z0-9._{}/-]+)/g)]
      // Portal pages are checked against catalog-guidance's portalPages (the portal is issue 13's).
      .filter((m) => !(m[2] ?? '').startsWith('//') && !(m[2] ?? '').startsWith('/portal/'))
      .map((m) => ({
        method: m[1],
        url: (m[2] ?? '').replace(/\{(\w+)\}/g, ':$1').replace(/[.]$/, ''),
      }))
  );
}

describe('remediation advice', () => {
  const program = buildCli({ out: () => {}, err: () => {}, env: {} });

  it('finds the commands and routes it checks (the checks are not vacuous)', () => {
    expect(steps.flatMap((s) => commandsIn(s.step)).length).toBeGreaterThan(5);
    expect(steps.flatMap((s) => routesIn(s.step)).length).toBeGreaterThan(3);
    expect(problemWith(program, 'users forgot-password <upn>')).toMatch(/no subcommand forgot-password/);
    expect(problemWith(program, 'users unlock <upn> --everywhere')).toMatch(/no option --everywhere/);
    expect(problemWith(program, 'users set-password <upn> --generate')).toBeUndefined();
    expect(problemWith(program, 'licenses subscriptions')).toBeUndefined();
    expect(problemWith(program, 'policy protection')).toMatch(/names a group/);
  });

  it.each(steps)('$code names only commands `rekey --help` lists: $step', ({ step }) => {
    for (const words of commandsIn(step)) expect(problemWith(program, words)).toBeUndefined();
  });

  it('never sends anyone to a self-service reset Rekey does not have', () => {
    const offending = steps.filter(({ step }) =>
      // Naming the licence feature ("a licence that includes self-service password reset") is not
      // sending anyone to it.
      /forgotten-password|(?<!includes? )self-service|use the (password )?reset|reset (it )?yourself/i.test(
        step,
      ),
    );
    expect(offending).toEqual([]);
  });

  describe('names only routes Rekey serves', () => {
    let rekey: TestRekey | undefined;
    beforeAll(async () => {
      rekey = await startTestRekey('sqlite');
    });
    afterAll(async () => {
      await rekey?.close();
    });

    it.each(steps.filter(({ step }) => routesIn(step).length > 0))('$code: $step', ({ step }) => {
      const app = rekey?.app;
      if (!app) throw new Error('Rekey did not start');
      for (const { method, url } of routesIn(step)) {
        const methods = method ? [method] : ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'];
        const served = methods.some((m) => app.hasRoute({ method: m as 'GET', url }));
        expect(served, `${method ?? 'any method'} ${url}`).toBe(true);
      }
    });
  });
});
