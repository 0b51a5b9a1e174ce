import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildZip, readZip } from './zip-writer.js';

/*
 * The support bundle's ZIP container, checked by Info-ZIP's own `unzip` (integrity test and
 * extraction) and by reading it back: names, bytes, empty and incompressible files, UTF-8 names.
 */
describe('buildZip', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rekey-zip-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const entries = [
    { name: 'manifest.json', data: Buffer.from('{"files":[]}\n') },
    { name: 'logs/sign-ins.json', data: Buffer.from('[1,2,3]'.repeat(5000)) },
    { name: 'empty.txt', data: Buffer.alloc(0) },
    { name: 'random.bin', data: randomBytes(70_000) },
    { name: 'notes/é-ünïcode.txt', data: Buffer.from('café\n') },
  ];

  it('writes an archive that unzip tests and extracts byte for byte', () => {
    const file = path.join(dir, 'bundle.zip');
    writeFileSync(file, buildZip(entries, new Date('2026-03-04T05:06:08Z')));
    const tested = execFileSync('unzip', ['-t', file], { encoding: 'utf8' });
    expect(tested).toContain('No errors detected');
    const out = path.join(dir, 'out');
    // Info-ZIP turns UTF-8 names into the locale's characters: a UTF-8 locale keeps them.
    execFileSync('unzip', ['-q', file, '-d', out], { env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    for (const entry of entries)
      expect(readFileSync(path.join(out, entry.name)).equals(entry.data)).toBe(true);
    const listing = execFileSync('zipinfo', ['-T', file], { encoding: 'utf8' });
    expect(listing).toContain('20260304.0506');
  });

  it('reads back what it wrote', () => {
    const back = readZip(buildZip(entries, new Date()));
    expect(back.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    for (const [i, e] of back.entries())
      expect(e.data.equals(entries[i]?.data ?? Buffer.alloc(1))).toBe(true);
  });

  it('writes an empty archive unzip accepts', () => {
    const file = path.join(dir, 'empty.zip');
    writeFileSync(file, buildZip([], new Date()));
    expect(readZip(readFileSync(file))).toEqual([]);
  });

  it('refuses a path that leaves the archive or repeats', () => {
    expect(() => buildZip([{ name: '../x', data: Buffer.alloc(1) }], new Date())).toThrow(/invalid/);
    expect(() => buildZip([{ name: '/abs', data: Buffer.alloc(1) }], new Date())).toThrow(/invalid/);
    const twice = [entries[0], entries[0]].filter((e) => e !== undefined);
    expect(() => buildZip(twice, new Date())).toThrow(/repeated/);
  });
});
