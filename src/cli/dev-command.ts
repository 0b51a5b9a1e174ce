import type { Command } from 'commander';
import type { CliIo } from './context.js';

/** `rekey dev seed-logs ...`. (Being written.) */
export function registerDevCommand(_program: Command, _io: CliIo): void {}
