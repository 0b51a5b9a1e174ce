import { randomUUID } from 'node:crypto';
import { CommanderError } from 'commander';
import type { DestinationStream } from 'pino';
import { type Directory, openDirectory } from '../app/open-directory.js';
import { type Config, ConfigError, loadConfig } from '../platform/config.js';
import { Codes, findCatalogEntry } from '../platform/errors/catalog.js';
import { isRekeyError } from '../platform/errors/rekey-error.js';
import { createLogger } from '../platform/log.js';
import { type RequestContext, systemContext } from '../platform/request-context.js';

/** Where CLI commands write: injected so tests can capture output. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  env: process.env,
};

const closedPipeListeners = new WeakSet<NodeJS.WriteStream>();

/**
 * Ends the process quietly with status 0 when whoever reads stdout goes away (`rekey errors | head`):
 * the reader has what it wanted, so a closed pipe is not a failure, and a stack trace about EPIPE
 * would only bury the output that did arrive. Only for a process that owns its stdout.
 */
export function exitQuietlyOnClosedStdout(stdout: NodeJS.WriteStream = process.stdout): void {
  if (closedPipeListeners.has(stdout)) return;
  closedPipeListeners.add(stdout);
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

/** Reads the configuration, or explains every bad setting and fails so that runCli exits 2. */
export function configOrExit(io: CliIo): Config {
  try {
    return loadConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      throw new CommanderError(2, 'rekey.invalidSettings', error.message);
    }
    throw error;
  }
}

/**
 * Prints a failure the way every command does: catalog code, name, message; never a stack trace.
 * `advice` replaces the catalog's first step where that is written for an HTTP client.
 */
export function reportFailure(io: CliIo, error: unknown, json: boolean, advice?: string): number {
  if (isRekeyError(error)) {
    if (json) {
      io.err(
        JSON.stringify({
          error: {
            code: error.code,
            name: error.entry.name,
            message: error.message,
            details: error.details ?? null,
          },
        }),
      );
    } else {
      io.err(`error ${error.code} ${error.entry.name}: ${error.message}`);
      if (error.details) io.err(`  details: ${JSON.stringify(error.details)}`);
      const first = advice ?? findCatalogEntry(error.code)?.remediation[0];
      if (first) io.err(`  what to do: ${first}`);
    }
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(
    json
      ? JSON.stringify({ error: { code: Codes.InternalError, name: 'InternalError', message } })
      : `error 7700201 InternalError: ${message}`,
  );
  return 1;
}

/**
 * Runs `action` with the directory open, closing it whatever happens. Only errors reach the log,
 * and on stderr, so stdout stays clean for --json.
 */
export async function withDirectory<T>(
  io: CliIo,
  action: (directory: Directory, context: RequestContext) => Promise<T>,
): Promise<T> {
  const config = configOrExit(io);
  const destination: DestinationStream = { write: (line: string) => io.err(line) };
  const logger = createLogger(config.logLevel === 'silent' ? 'silent' : 'error', destination);
  const directory = await openDirectory(config, { logger });
  try {
    return await action(directory, systemContext(randomUUID()));
  } finally {
    await directory.close();
  }
}
