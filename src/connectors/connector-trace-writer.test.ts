import { describe, expect, it } from 'vitest';
import type { DirectoryTraceRecord } from '../directories/directory-trace.js';
import { createTraceWriter } from './connector-trace-writer.js';

function record(correlationId: string): DirectoryTraceRecord {
  return {
    operation: 'userBind',
    dn: 'uid=ann,ou=people,dc=example,dc=com',
    resultCode: 0,
    diagnostic: undefined,
    ppolicy: undefined,
    startedAt: new Date('2026-12-07T10:00:00Z'),
    latencyMs: 2,
    correlationId,
    connectorId: undefined,
    operationId: undefined,
  };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the batched connector trace of pass-through binds', () => {
  it('writes the records queued within its delay as one batch, in order, and a flush writes at once', async () => {
    const batches: string[][] = [];
    const writer = createTraceWriter({
      write: async (records) => {
        batches.push(records.map((r) => r.correlationId));
      },
      onError: () => {},
      delayMs: 50,
    });
    writer.add([record('a')]);
    writer.add([record('b'), record('c')]);
    expect(batches).toEqual([]);
    await wait(120);
    expect(batches).toEqual([['a', 'b', 'c']]);

    writer.add([record('d')]);
    await writer.flush();
    expect(batches).toEqual([['a', 'b', 'c'], ['d']]);
    // Nothing queued: a flush writes nothing.
    await writer.flush();
    expect(batches).toHaveLength(2);
  });

  it('writes at once when a batch is full, and a flush waits for the batches before it', async () => {
    const batches: string[][] = [];
    const writer = createTraceWriter({
      write: async (records) => {
        await wait(30);
        batches.push(records.map((r) => r.correlationId));
      },
      onError: () => {},
      delayMs: 10_000,
      maxBatch: 2,
    });
    writer.add([record('a'), record('b')]);
    writer.add([record('c')]);
    await writer.flush();
    expect(batches).toEqual([['a', 'b'], ['c']]);
  });

  it('reports a batch it could not write, drops it, and goes on', async () => {
    const errors: Array<[string, number]> = [];
    const batches: string[][] = [];
    let fail = true;
    const writer = createTraceWriter({
      write: async (records) => {
        if (fail) {
          fail = false;
          throw new Error('database is locked');
        }
        batches.push(records.map((r) => r.correlationId));
      },
      onError: (error, count) => errors.push([(error as Error).message, count]),
    });
    writer.add([record('a'), record('b')]);
    await writer.flush();
    writer.add([record('c')]);
    await writer.flush();
    expect(errors).toEqual([['database is locked', 2]]);
    expect(batches).toEqual([['c']]);
  });
});
