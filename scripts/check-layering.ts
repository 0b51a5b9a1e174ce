/**
 * Rekey's layering, checked by `npm run lint` (and so by `npm test`):
 *
 *   npx tsx scripts/check-layering.ts [root]    exits 1 and names every violation
 *
 * Calls go one way: routes, then services, then stores. A feature (a folder directly under
 * `src/`) uses another feature's service, never its store; `src/platform/` is shared
 * infrastructure and knows no feature. The rules and their exemptions are data below, each
 * exemption with its reason, so the rule is written down once and a reviewer need not remember it.
 *
 * Every relative import of every `src/**` TypeScript file counts: value and type-only imports,
 * re-exports and dynamic `import()`. A store is any `*-store.ts` file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** The rules, in the order they are tried: an import is reported under the first it breaks. */
export const layeringRules = {
  routeImportsStore: 'a route file (*-routes.ts) imports no store, not even its own feature’s',
  platformImportsFeature: 'src/platform/ imports no feature folder and no entry point',
  crossFeatureStore: 'a feature never imports another feature’s store (*-store.ts)',
} as const;

export type LayeringRule = keyof typeof layeringRules;

/** Files a rule does not apply to, and why. */
export interface LayeringExemption {
  /** Matched against the file's path from the root, with forward slashes (`src/dev/x.ts`). */
  readonly files: RegExp;
  readonly rules: readonly LayeringRule[];
  readonly reason: string;
}

export const layeringExemptions: readonly LayeringExemption[] = [
  {
    files: /\.test\.ts$|\.test-support\.ts$/,
    rules: ['routeImportsStore', 'platformImportsFeature', 'crossFeatureStore'],
    reason:
      'Tests arrange rows and assert on what was stored, which only the stores can show (the audit ' +
      'rows of one correlation ID, a credential removed to test a user without a password); a ' +
      'platform test may drive the whole app through its features.',
  },
  {
    files: /^src\/dev\/log-writers\.ts$/,
    rules: ['crossFeatureStore'],
    reason:
      'The bulk loader of `rekey dev seed-logs` must write millions of generated sign-in and audit ' +
      'rows with its own dialect-specific SQL (no service inserts a batch, and row by row would ' +
      'take hours). It takes the column lists from the two stores, so a column they add is a ' +
      'compile error there rather than a value silently missing.',
  },
];

/** One import that breaks a rule. */
export interface LayeringViolation {
  /** The importing file, from the root (`src/users/users-routes.ts`). */
  readonly file: string;
  readonly line: number;
  /** The import as written (`./user-store.js`). */
  readonly specifier: string;
  readonly rule: LayeringRule;
  /** What to import instead. */
  readonly advice: string;
}

interface SourceFile {
  /** From the root, with forward slashes. */
  readonly file: string;
  /** The folder directly under `src/`, or undefined for a file directly in `src/` (an entry point). */
  readonly area: string | undefined;
}

function sourceFileOf(file: string): SourceFile {
  const parts = file.split('/');
  return { file, area: parts.length > 2 ? parts[1] : undefined };
}

function listTypeScriptFiles(root: string, dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) files.push(...listTypeScriptFiles(root, relative));
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      files.push(relative);
    }
  }
  return files.sort();
}

const isStore = (file: string) => file.endsWith('-store.ts');
const isRoutes = (file: string) => file.endsWith('-routes.ts');

/** The service files of an area, to name in the advice (`src/audit/audit-service.ts`). */
function servicesOf(files: ReadonlySet<string>, area: string | undefined): string[] {
  if (area === undefined) return [];
  const prefix = `src/${area}/`;
  return [...files].filter(
    (file) =>
      file.startsWith(prefix) && !file.slice(prefix.length).includes('/') && file.endsWith('-service.ts'),
  );
}

function serviceAdvice(files: ReadonlySet<string>, target: SourceFile): string {
  const services = servicesOf(files, target.area);
  const where =
    services.length > 0 ? services.join(' or ') : `a module of src/${target.area ?? ''}/ that is not a store`;
  return `call a function of ${where} instead; if none fits, add one there named for its purpose (it may take the caller's transaction, as stores do)`;
}

function exempt(file: string, rule: LayeringRule): boolean {
  return layeringExemptions.some((exemption) => exemption.rules.includes(rule) && exemption.files.test(file));
}

/** The rule an import from `from` to `to` breaks, with its advice, or undefined. */
function judge(
  files: ReadonlySet<string>,
  from: SourceFile,
  to: SourceFile,
): { readonly rule: LayeringRule; readonly advice: string } | undefined {
  if (isRoutes(from.file) && isStore(to.file) && !exempt(from.file, 'routeImportsStore')) {
    return {
      rule: 'routeImportsStore',
      advice: `routes call services and services call stores: ${serviceAdvice(files, to)}`,
    };
  }
  if (from.area === 'platform' && to.area !== 'platform' && !exempt(from.file, 'platformImportsFeature')) {
    return {
      rule: 'platformImportsFeature',
      advice:
        'take what platform code needs as a parameter or a port, and let src/app/ (the composition root) pass it in',
    };
  }
  if (isStore(to.file) && from.area !== to.area && !exempt(from.file, 'crossFeatureStore')) {
    return { rule: 'crossFeatureStore', advice: serviceAdvice(files, to) };
  }
  return undefined;
}

/** The file a relative specifier names, from the root, or undefined when it leaves `src/`. */
function resolve(from: string, specifier: string): string | undefined {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  if (!joined.startsWith('src/')) return undefined;
  // NodeNext: a TypeScript file is imported by the name of the JavaScript it compiles to.
  return joined.replace(/\.js$/, '.ts');
}

function lineAt(text: string, position: number): number {
  let line = 1;
  for (let i = 0; i < position; i += 1) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}

/** Every layering violation under `root/src`, in file order. */
export function checkLayering(root: string): LayeringViolation[] {
  const fileList = listTypeScriptFiles(root, 'src');
  const files = new Set(fileList);
  const violations: LayeringViolation[] = [];
  for (const file of fileList) {
    const text = readFileSync(path.join(root, file), 'utf8');
    // The compiler's own import scanner: type-only imports, re-exports and import() included,
    // comments and strings left alone.
    const { importedFiles } = ts.preProcessFile(text, true, true);
    for (const imported of importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const target = resolve(file, imported.fileName);
      if (target === undefined) continue;
      const broken = judge(files, sourceFileOf(file), sourceFileOf(target));
      if (broken) {
        violations.push({
          file,
          line: lineAt(text, imported.pos),
          specifier: imported.fileName,
          ...broken,
        });
      }
    }
  }
  return violations;
}

/** One violation as a line of the report: where, what, which rule, what instead. */
export function formatViolation(violation: LayeringViolation): string {
  return `${violation.file}:${violation.line} imports '${violation.specifier}'\n  rule: ${layeringRules[violation.rule]}\n  fix: ${violation.advice}`;
}

function main(): void {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const violations = checkLayering(root);
  if (violations.length === 0) {
    process.stdout.write('Layering: no violations (scripts/check-layering.ts).\n');
    return;
  }
  process.stderr.write(`${violations.map(formatViolation).join('\n')}\n`);
  process.stderr.write(
    `\nLayering: ${violations.length} violation${violations.length === 1 ? '' : 's'}. The rules and their exemptions are in scripts/check-layering.ts.\n`,
  );
  process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
