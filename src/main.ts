#!/usr/bin/env node
import { availableParallelism } from 'node:os';

// argon2 runs on libuv's thread pool: size it to the cores before anything queues work on it.
// This is the only place Rekey writes to the environment, and only for the runtime's own knob.
process.env['UV_THREADPOOL_SIZE'] ??= String(Math.max(4, availableParallelism()));

const { runCli } = await import('./cli/cli.js');
process.exitCode = await runCli(process.argv);
