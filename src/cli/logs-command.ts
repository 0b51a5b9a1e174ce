import type { Command } from 'commander';
import type { CliIo } from './context.js';

/** `rekey logs export|purge ...`. (Being written.) */
export function registerLogsCommand(_program: Command, _io: CliIo): void {}
