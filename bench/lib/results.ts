import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results/, next to this folder; git-ignored, so runs never dirty the tree. */
const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

/**
 * Writes `data` as pretty JSON to `bench/results/<name>-<timestamp>.json` and returns the path.
 * The timestamp is ISO 8601 with `:` and `.` replaced, so the name is valid on every file system
 * and runs sort by time.
 */
export function writeResults(name: string, startedAt: Date, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(resultsDir, `${name}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
