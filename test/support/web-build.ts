import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The browser tests and the web routes' tests serve the built app from dist/webapp. `npm test` on a
 * clean checkout (or after a change under web/) builds it first, once, before any test file runs;
 * a build that is newer than every source file is kept.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const webDist = path.join(repoRoot, 'dist', 'webapp');

/** The newest modification time of any file under `directory` (0 for none). */
function newestUnder(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestUnder(full));
    else newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** Whether dist/webapp is missing or older than web/ (its sources, index.html and Vite config). */
export function isWebBuildStale(): boolean {
  const index = path.join(webDist, 'index.html');
  if (!existsSync(index)) return true;
  return newestUnder(path.join(repoRoot, 'web')) > statSync(index).mtimeMs;
}

/** Builds the web app with `npm run build:web` when it is missing or stale. */
export function ensureWebBuilt(): void {
  if (!isWebBuildStale()) return;
  execFileSync('npm', ['run', '--silent', 'build:web'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
