import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLayering, formatViolation } from './check-layering.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A small tree with every kind of import the check must catch, and the ones it must let pass.
 * The comment on each line says which.
 */
const fixture: Readonly<Record<string, string>> = {
  'src/main.ts': [
    "import { cli } from './cli/cli.js'; // fine",
    "import { findUser } from './users/user-store.js'; // crossFeatureStore: an entry point has no feature",
  ].join('\n'),
  'src/cli/cli.ts': "export { findUser } from '../users/user-service.js'; // fine: a service",
  'src/users/user-store.ts': [
    "import type { Db } from '../platform/db/database.js'; // fine",
    'export const findUser = 1;',
  ].join('\n'),
  'src/users/user-service.ts': "export { findUser } from './user-store.js'; // fine: its own store",
  'src/users/users-routes.ts': [
    "import { findUser } from './user-service.js'; // fine",
    "import type { UserRow } from './user-store.js'; // routeImportsStore, type-only or not",
  ].join('\n'),
  'src/users/user-store.test.ts': "import { lockout } from '../lockout/lockout-store.js'; // exempt: a test",
  'src/lockout/lockout-store.ts': 'export const lockout = 1;',
  'src/lockout/lockout.test-support.ts':
    "import { findUser } from '../users/user-store.js'; // exempt: test support",
  'src/auth/guard.ts': [
    '// import { findUser } from "../users/user-store.js"; a comment is not an import',
    'const text = "import { findUser } from \'../users/user-store.js\'"; // nor is a string',
    "import { findUser } from '../users/user-service.js'; // fine",
    "export * from '../lockout/lockout-store.js'; // crossFeatureStore: a re-export",
    "const lazy = await import('../users/user-store.js'); // crossFeatureStore: a dynamic import",
  ].join('\n'),
  'src/passwords/breached/breached-audit.ts':
    "import { findUser } from '../../users/user-store.js'; // crossFeatureStore, from a subfolder",
  'src/passwords/policy/policy-store.ts': 'export const policy = 1;',
  'src/passwords/password-service.ts':
    "import { policy } from './policy/policy-store.js'; // fine: its own feature",
  'src/platform/db/database.ts': 'export type Db = unknown;',
  'src/platform/http/app.ts': [
    "import type { Db } from '../db/database.js'; // fine",
    "import { findUser } from '../../users/user-service.js'; // platformImportsFeature",
    "import '../../main.js'; // platformImportsFeature: an entry point",
  ].join('\n'),
  'src/platform/http/app.test.ts': "import { findUser } from '../../users/user-store.js'; // exempt: a test",
  'src/dev/log-writers.ts':
    "import { lockout } from '../lockout/lockout-store.js'; // exempt: the bulk loader",
  'src/dev/seed-logs.ts': "import { lockout } from '../lockout/lockout-store.js'; // crossFeatureStore",
};

describe('the layering check', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'rekey-layering-'));
    for (const [file, text] of Object.entries(fixture)) {
      mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
      writeFileSync(path.join(root, file), `${text}\n`);
    }
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('reports each rule it breaks, once per import, and nothing that is allowed or exempt', () => {
    const found = checkLayering(root).map(({ file, line, specifier, rule }) => ({
      file,
      line,
      specifier,
      rule,
    }));
    expect(found).toEqual([
      {
        file: 'src/auth/guard.ts',
        line: 4,
        specifier: '../lockout/lockout-store.js',
        rule: 'crossFeatureStore',
      },
      { file: 'src/auth/guard.ts', line: 5, specifier: '../users/user-store.js', rule: 'crossFeatureStore' },
      {
        file: 'src/dev/seed-logs.ts',
        line: 1,
        specifier: '../lockout/lockout-store.js',
        rule: 'crossFeatureStore',
      },
      { file: 'src/main.ts', line: 2, specifier: './users/user-store.js', rule: 'crossFeatureStore' },
      {
        file: 'src/passwords/breached/breached-audit.ts',
        line: 1,
        specifier: '../../users/user-store.js',
        rule: 'crossFeatureStore',
      },
      {
        file: 'src/platform/http/app.ts',
        line: 2,
        specifier: '../../users/user-service.js',
        rule: 'platformImportsFeature',
      },
      {
        file: 'src/platform/http/app.ts',
        line: 3,
        specifier: '../../main.js',
        rule: 'platformImportsFeature',
      },
      { file: 'src/users/users-routes.ts', line: 2, specifier: './user-store.js', rule: 'routeImportsStore' },
    ]);
  });

  it('says what to import instead: the owning feature’s service', () => {
    const [violation] = checkLayering(root).filter((v) => v.file === 'src/main.ts');
    if (!violation) throw new Error('expected a violation in src/main.ts');
    const text = formatViolation(violation);
    expect(text).toContain("src/main.ts:2 imports './users/user-store.js'");
    expect(text).toContain('another feature’s store');
    expect(text).toContain('src/users/user-service.ts');
    const [noService] = checkLayering(root).filter((v) => v.file === 'src/dev/seed-logs.ts');
    if (!noService) throw new Error('expected a violation in src/dev/seed-logs.ts');
    expect(formatViolation(noService)).toContain('a module of src/lockout/ that is not a store');
  });

  it('fails the command, and so `npm run lint`, naming the file and line', async () => {
    const run = promisify(execFile);
    const failure = await run(process.execPath, ['--import', 'tsx', 'scripts/check-layering.ts', root], {
      cwd: repoRoot,
    }).then(
      () => undefined,
      (error: unknown) => error as { code?: number; stderr?: string },
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain("src/users/users-routes.ts:2 imports './user-store.js'");
    expect(failure?.stderr).toContain('Layering: 8 violations.');
  });

  it('finds nothing in Rekey itself', () => {
    expect(checkLayering(repoRoot).map(formatViolation)).toEqual([]);
  });
});
