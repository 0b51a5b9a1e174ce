import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createLogger } from '../log.js';
import { Codes, type ErrorCode, listCatalogEntries } from './catalog.js';
import { RekeyError } from './rekey-error.js';

describe('RekeyError', () => {
  it('takes status, name and message from the catalog', () => {
    const error = new RekeyError(120000, { details: { operationId: 'x' } });
    expect(error.code).toBe(120000);
    expect(error.httpStatus).toBe(400);
    expect(error.entry.name).toBe('PasswordChangeIncorrectCurrentPassword');
    expect(error.details).toEqual({ operationId: 'x' });
  });

  it('can be logged by pino with its cause, without touching the frozen catalog entry', () => {
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({ write: (chunk, _e, done) => done(void lines.push(String(chunk))) }),
    );
    const error = new RekeyError(7700202, { cause: new Error('connection refused') });
    expect(() => logger.error({ err: error }, 'failed')).not.toThrow();
    const logged = JSON.parse(lines[0] ?? '{}');
    expect(logged.err.message).toContain(error.message);
    expect(JSON.stringify(logged)).toContain('connection refused');
  });
});

describe('the catalog', () => {
  it('gives every code a name, a message, an error status and at least one remediation step', () => {
    for (const entry of listCatalogEntries()) {
      expect(entry.name).toMatch(/^[A-Z][A-Za-z_]+$/);
      expect(entry.message.length).toBeGreaterThan(10);
      expect(entry.httpStatus).toBeGreaterThanOrEqual(400);
      expect(entry.remediation.length).toBeGreaterThan(0);
      expect(entry.isEntraCode).toBe(entry.code < 7_700_000);
    }
  });

  it('has unique names', () => {
    const names = listCatalogEntries().map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('names every code in Codes by its catalog name, and nothing else', () => {
    expect(Object.entries(Codes).sort(([, a], [, b]) => a - b)).toEqual(
      listCatalogEntries().map((entry) => [entry.name, entry.code]),
    );
    expect(Object.isFrozen(Codes)).toBe(true);
  });

  it('types each named code as its number, so call sites are checked as with the bare number', () => {
    expectTypeOf(Codes.InsufficientPrivileges).toEqualTypeOf<7700103>();
    expectTypeOf(Codes.InvalidUserNameOrPassword).toEqualTypeOf<50126>();
    expectTypeOf(Codes.InvalidUserNameOrPassword).toExtend<ErrorCode>();
    // @ts-expect-error: a name the catalog does not define is not a code
    expect(Codes.NoSuchError).toBeUndefined();
    const error = new RekeyError(Codes.PasswordChangeIncorrectCurrentPassword);
    expect(error.code).toBe(120000);
    expect(error.entry.name).toBe('PasswordChangeIncorrectCurrentPassword');
  });
});

describe('call sites', () => {
  it('name their codes: no source file throws or fails with a bare number', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const bare = /\b(?:new RekeyError|fail)\(\s*\d/;
    const offenders: string[] = [];
    for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file.includes('test-support')) continue;
      const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
      lines.forEach((line, index) => {
        if (bare.test(line)) offenders.push(`src/${file}:${index + 1}: ${line.trim()}`);
      });
    }
    // Write `new RekeyError(Codes.ResourceNotFound)`: the reader sees the name, the compiler the number.
    expect(offenders).toEqual([]);
  });
});
