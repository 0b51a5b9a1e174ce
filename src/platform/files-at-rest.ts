import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './log.js';

/**
 * What Rekey keeps on disk (the SQLite database with its WAL and SHM files, the secret key, the
 * breached-password index) is for the account that runs it alone: directories it creates are
 * 0700 and files 0600. Modes are given at creation, so there is never a moment when a file holds
 * data and is readable by others; the umask can only take bits away from these.
 */
export const privateDirectoryMode = 0o700;
export const privateFileMode = 0o600;

/** Creates `dir` (and any missing parent) with mode 0700; an existing directory is left as it is. */
export function ensurePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: privateDirectoryMode });
}

/**
 * Creates `file` empty with mode 0600 if it does not exist, so that what opens it next (SQLite)
 * finds it private. SQLite gives the WAL and SHM files it creates the mode of the database file,
 * so they are private too.
 */
export function ensurePrivateFile(file: string): void {
  if (existsSync(file)) return;
  closeSync(openSync(file, 'a', privateFileMode));
}

/** A path whose mode lets accounts other than the owner in. */
export interface LoosePath {
  readonly path: string;
  /** The permission bits, e.g. 0o755. */
  readonly mode: number;
  readonly isDirectory: boolean;
}

/**
 * The paths among `paths` that exist and let the group or others read, write or enter them
 * (any of the 0o077 bits). Paths that do not exist are skipped.
 */
export function findLoosePaths(paths: readonly string[]): LoosePath[] {
  const loose: LoosePath[] = [];
  for (const candidate of new Set(paths.map((p) => path.resolve(p)))) {
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(candidate);
    } catch {
      continue;
    }
    const mode = stats.mode & 0o777;
    if ((mode & 0o077) !== 0) loose.push({ path: candidate, mode, isDirectory: stats.isDirectory() });
  }
  return loose;
}

/**
 * The data directory, and for a SQLite database its directory, file, WAL and SHM files: what the
 * start-up check looks at.
 */
export function pathsAtRest(dataDir: string, databaseUrl: string): string[] {
  const paths = [dataDir];
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length);
    if (file !== ':memory:') {
      const resolved = path.resolve(file);
      paths.push(path.dirname(resolved), resolved, `${resolved}-wal`, `${resolved}-shm`);
    }
  }
  return paths;
}

/** The warning for `loose`, naming each path, its mode and the command that makes it private. */
export function describeLoosePaths(loose: readonly LoosePath[]): string {
  return [
    'Files at rest are readable by other accounts on this machine; they hold password hashes and secrets.',
    ...loose.map((entry) => {
      const wanted = entry.isDirectory ? privateDirectoryMode : privateFileMode;
      return `  ${entry.path} has mode ${entry.mode.toString(8).padStart(4, '0')}: run chmod ${wanted.toString(8)} ${entry.path}`;
    }),
  ].join('\n');
}

/**
 * Warns, once at start, when the data directory or the SQLite files are open to other accounts
 * (an installation older than these modes, or a directory made by hand). Returns what it found.
 */
export function warnAboutLoosePathsAtRest(logger: Logger, dataDir: string, databaseUrl: string): LoosePath[] {
  const loose = findLoosePaths(pathsAtRest(dataDir, databaseUrl));
  if (loose.length > 0) {
    logger.warn(
      { loosePaths: loose.map((entry) => ({ path: entry.path, mode: entry.mode.toString(8) })) },
      describeLoosePaths(loose),
    );
  }
  return loose;
}
