import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** One shell command of a doc, as the reader types it (continuation lines and multi-line quotes joined). */
export interface DocCommand {
  /** `README.md` or `docs/<page>.md`. */
  readonly source: string;
  /** The line of the doc the command starts on (1-based). */
  readonly line: number;
  readonly text: string;
}

/** The root of the checkout, where README.md and docs/ live. */
export const repoRoot = new URL('../../', import.meta.url);

/** README.md first, then every page of docs/ in name order: the order a reader meets them in. */
export function docSources(): readonly string[] {
  const pages = readdirSync(new URL('docs/', repoRoot))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...pages];
}

/** Whether bash can parse `text` as complete commands (no open quote, `$(`, or trailing `\`). */
function isComplete(text: string): boolean {
  if (/\\\s*$/.test(text)) return false;
  return spawnSync('bash', ['-n'], { input: text }).status === 0;
}

/**
 * The commands of every ```sh block of `source`, in order. Lines are joined until bash can parse
 * them, so a command that spans lines (a `\` continuation, a JSON body in quotes) stays one.
 * Comment-only lines are left out; a trailing comment stays on its command.
 */
export function extractCommands(source: string): readonly DocCommand[] {
  const lines = readFileSync(new URL(source, repoRoot), 'utf8').split('\n');
  const commands: DocCommand[] = [];
  let inBlock = false;
  let pending: { line: number; lines: string[] } | undefined;
  lines.forEach((line, index) => {
    if (!inBlock) {
      inBlock = /^```(sh|bash|shell)\s*$/.test(line);
      return;
    }
    if (line.startsWith('```')) {
      if (pending) throw new Error(`${source}:${pending.line}: a command does not end before its block does`);
      inBlock = false;
      return;
    }
    if (!pending && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    pending ??= { line: index + 1, lines: [] };
    pending.lines.push(line);
    const text = pending.lines.join('\n');
    if (isComplete(text)) {
      commands.push({ source, line: pending.line, text });
      pending = undefined;
    }
  });
  return commands;
}

/**
 * The output a command's trailing comment promises, when that comment is a list of JSON values
 * (`# 204`, `# false`, `# {"status":"ok"}`, `# "succeeded", null`); undefined for prose comments.
 */
export function promisedOutput(command: DocCommand): readonly unknown[] | undefined {
  const last = command.text.split('\n').at(-1) ?? '';
  const comment = /\s#\s+(.+)$/.exec(last)?.[1];
  if (comment === undefined) return undefined;
  try {
    return JSON.parse(`[${comment}]`) as unknown[];
  } catch {
    return undefined;
  }
}
