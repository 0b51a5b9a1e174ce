import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { Codes } from '../../platform/errors/catalog.js';
import { RekeyError } from '../../platform/errors/rekey-error.js';
import type { FilterKeyForm } from './breached-filter.js';
import type { DigestSink } from './hash-list-import.js';

/*
 * The exact index beside a breached-password filter (`.rkbx`): every SHA-1 of the list, sorted,
 * in fixed-size records. The filter answers "certainly not" or "maybe"; a "maybe" is confirmed
 * here before a password is refused, so the filter's false positives (about one in a thousand)
 * never become a false statement that a password was breached. A miss never reads this file:
 * the cost of the common case does not change.
 *
 *   offset  size  field (little-endian)
 *        0     8  magic 89 52 4B 42 58 0D 0A 1A ("\x89RKBX\r\n\x1a")
 *        8     2  format version (1)
 *       10     1  record size in bytes: the first r bytes of each SHA-1 (8 to 20)
 *       11     1  bucket bits b (0 to 16): records are grouped by their first b bits
 *       12     1  key form: 0 exact password, 1 lower-cased (as the filter's)
 *       13     3  reserved, 0
 *       16     8  records
 *       24    32  SHA-256 trailer of the filter file this index belongs to
 *       56     8  first 8 bytes of SHA-256(bytes 0-55 and the bucket table)
 *       64  16·2^b bucket table: per bucket, u64 records up to and including it, then the first
 *                 8 bytes of SHA-256 of its records
 *        -  r·n   the records, ascending, no duplicates
 *
 * A lookup reads one bucket (about 512 records on average: one read of ~10 KB for a full
 * corpus), checks its digest, and binary-searches it in memory. The bucket table is held in
 * memory (16 bytes per 512 entries, under 2% of the filter). The file is checked at load (magic,
 * version, fields, exact size, the table's digest and order, the filter it belongs to) and each
 * bucket at use (an index held in memory, the shipped one, has every bucket checked at load), so
 * damage is an error 7700403, never a silent "not breached".
 */

const magic = Buffer.from([0x89, 0x52, 0x4b, 0x42, 0x58, 0x0d, 0x0a, 0x1a]);
/** The index format version this Rekey writes and reads. */
export const indexFormatVersion = 1;
const headerBytes = 64;
const tableEntryBytes = 16;
const bucketDigestBytes = 8;
const digestBytes = 20;
const maximumBucketBits = 16;
/** Average records per bucket the writer aims at. */
const recordsPerBucket = 512;
/** The writer's partitions: one temporary file per first byte of the digest. */
const partitions = 256;
const partitionBufferBytes = 64 * 1024;

/** The kinds of damage an index can have; `details.problem` of error 7700403. */
export type IndexFileProblem =
  | 'missing'
  | 'unreadable'
  | 'notAnIndex'
  | 'unsupportedVersion'
  | 'badHeader'
  | 'truncated'
  | 'trailingBytes'
  | 'checksumMismatch'
  | 'otherFilter';

function invalidIndex(file: string, problem: IndexFileProblem, reason: string, cause?: unknown): RekeyError {
  return new RekeyError(Codes.InvalidBreachedPasswordIndex, {
    message: `The exact index ${file} of the breached-password list cannot be used: ${reason}`,
    details: { file, problem },
    cause,
  });
}

/** Where the index of a filter file lives: the same name with `.rkbx` for `.rkbf`. */
export function indexFileFor(filterFile: string): string {
  return filterFile.endsWith('.rkbf') ? `${filterFile.slice(0, -5)}.rkbx` : `${filterFile}.rkbx`;
}

/** The record size a writer uses for the full SHA-1: the exact index of an imported list. */
export const fullRecordBytes = digestBytes;

/** Bytes an index of `records` records of `recordBytes` takes on disk, for reports. */
export function indexFileBytes(records: number, recordBytes: number): number {
  return headerBytes + tableEntryBytes * 2 ** bucketBitsFor(records) + records * recordBytes;
}

function bucketBitsFor(records: number): number {
  const bits = Math.floor(Math.log2(Math.max(1, records / recordsPerBucket)));
  return Math.min(maximumBucketBits, Math.max(0, bits));
}

function bucketOf(digest: Uint8Array, bucketBits: number): number {
  if (bucketBits === 0) return 0;
  const top = (((digest[0] ?? 0) << 16) | ((digest[1] ?? 0) << 8) | (digest[2] ?? 0)) >>> 0;
  return top >>> (24 - bucketBits);
}

function shortDigest(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest().subarray(0, bucketDigestBytes);
}

/** What an index says about itself. */
export interface ExactIndexInfo {
  readonly file: string;
  readonly fileBytes: number;
  readonly records: number;
  readonly recordBytes: number;
  readonly bucketBits: number;
  readonly keyForm: FilterKeyForm;
  readonly formatVersion: number;
}

/** An open index: `contains` confirms a filter hit. */
export interface ExactIndex extends ExactIndexInfo {
  /** True if the SHA-1 `digest` (20 bytes) is in the list. Fails with 7700403 on a damaged bucket. */
  contains(digest: Uint8Array): boolean;
  /** Releases the file (a held index is read on each confirmation). */
  close(): void;
}

/**
 * Opens and checks an index. `filterChecksum` is the SHA-256 trailer of the filter loaded with it:
 * an index of another filter (a half-finished replacement, a copied file) is refused. With
 * `keyForm` is the filter's: the index must be keyed the same way. With `inMemory` the whole file is read (the shipped set: a few hundred KB); otherwise the file stays
 * open and each confirmation reads one bucket. Fails with 7700403 naming the problem.
 */
export function openExactIndex(
  file: string,
  options: {
    readonly filterChecksum: Uint8Array;
    readonly keyForm: FilterKeyForm;
    readonly inMemory: boolean;
  },
): ExactIndex {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    throw missing
      ? invalidIndex(
          file,
          'missing',
          'it does not exist, so a filter hit cannot be confirmed; run `rekey breached import` again to write the filter and its index together.',
          error,
        )
      : invalidIndex(file, 'unreadable', 'it cannot be opened.', error);
  }
  let keepOpen = false;
  try {
    const fileBytes = fstatSync(fd).size;
    const header = Buffer.alloc(headerBytes);
    const headerRead = readSync(fd, header, 0, headerBytes, 0);
    if (headerRead < magic.length || !header.subarray(0, magic.length).equals(magic)) {
      throw invalidIndex(file, 'notAnIndex', 'it is not a Rekey breached-password index (.rkbx) file.');
    }
    if (headerRead < headerBytes) throw invalidIndex(file, 'truncated', 'the file ends inside its header.');
    const version = header.readUInt16LE(8);
    if (version !== indexFormatVersion) {
      throw invalidIndex(
        file,
        'unsupportedVersion',
        `it uses format version ${version}; this Rekey reads version ${indexFormatVersion}.`,
      );
    }
    const recordBytes = header.readUInt8(10);
    const bucketBits = header.readUInt8(11);
    const keyFormCode = header.readUInt8(12);
    const records = Number(header.readBigUInt64LE(16));
    const problems: string[] = [];
    if (recordBytes < 8 || recordBytes > digestBytes) problems.push(`records of ${recordBytes} bytes`);
    if (bucketBits > maximumBucketBits) problems.push(`${bucketBits} bucket bits`);
    if (keyFormCode !== (options.keyForm === 'lowerCase' ? 1 : 0)) {
      problems.push(`key form ${keyFormCode}, not its filter's (${options.keyForm})`);
    }
    if (!Number.isSafeInteger(records)) problems.push(`${records} records`);
    if (problems.length > 0) {
      throw invalidIndex(file, 'badHeader', `its header is damaged (${problems.join('; ')}).`);
    }
    const buckets = 2 ** bucketBits;
    const recordsStart = headerBytes + buckets * tableEntryBytes;
    const expectedBytes = recordsStart + records * recordBytes;
    if (fileBytes < expectedBytes) {
      throw invalidIndex(
        file,
        'truncated',
        `it is ${fileBytes} bytes long but its header promises ${expectedBytes}; it was cut short.`,
      );
    }
    if (fileBytes > expectedBytes) {
      throw invalidIndex(
        file,
        'trailingBytes',
        `it has ${fileBytes - expectedBytes} unexpected bytes after its records.`,
      );
    }
    if (!header.subarray(24, 56).equals(Buffer.from(options.filterChecksum))) {
      throw invalidIndex(
        file,
        'otherFilter',
        'it belongs to another filter than the one beside it; run `rekey breached import` again to write both together.',
      );
    }
    const table = Buffer.alloc(buckets * tableEntryBytes);
    readSync(fd, table, 0, table.length, headerBytes);
    if (!shortDigest(header.subarray(0, 56), table).equals(header.subarray(56, 64))) {
      throw invalidIndex(file, 'checksumMismatch', 'its header or bucket table is damaged.');
    }
    const ends = new Float64Array(buckets);
    let previous = 0;
    for (let bucket = 0; bucket < buckets; bucket += 1) {
      const end = Number(table.readBigUInt64LE(bucket * tableEntryBytes));
      if (end < previous) throw invalidIndex(file, 'badHeader', 'its bucket table is out of order.');
      ends[bucket] = end;
      previous = end;
    }
    if (previous !== records)
      throw invalidIndex(file, 'badHeader', 'its bucket table does not add up to its records.');

    const all = options.inMemory ? readFileSync(fd) : undefined;
    const bucketStart = (bucket: number): number => (bucket === 0 ? 0 : (ends[bucket - 1] ?? 0));
    const bucketLength = (bucket: number): number => (ends[bucket] ?? 0) - bucketStart(bucket);
    const checkBucket = (bucket: number, bytes: Buffer): void => {
      const expected = table.subarray(bucket * tableEntryBytes + 8, (bucket + 1) * tableEntryBytes);
      if (!shortDigest(bytes).equals(expected)) {
        throw invalidIndex(
          file,
          'checksumMismatch',
          `bucket ${bucket} does not match its checksum; the file is damaged.`,
        );
      }
    };
    const readBucket = (start: number, length: number): Buffer => {
      if (all)
        return all.subarray(
          recordsStart + start * recordBytes,
          recordsStart + (start + length) * recordBytes,
        );
      const target = Buffer.allocUnsafe(length * recordBytes);
      let done = 0;
      while (done < target.length) {
        const read = readSync(
          fd,
          target,
          done,
          target.length - done,
          recordsStart + start * recordBytes + done,
        );
        if (read === 0) throw invalidIndex(file, 'truncated', 'it was cut short while Rekey was reading it.');
        done += read;
      }
      return target;
    };
    if (all) {
      closeSync(fd);
      // Held in memory: every bucket is checked once here, not on each lookup.
      for (let bucket = 0; bucket < buckets; bucket += 1) {
        checkBucket(bucket, readBucket(bucketStart(bucket), bucketLength(bucket)));
      }
    } else keepOpen = true;

    let closed = false;
    const info: ExactIndexInfo = {
      file,
      fileBytes,
      records,
      recordBytes,
      bucketBits,
      keyForm: keyFormCode === 1 ? 'lowerCase' : 'exact',
      formatVersion: version,
    };
    return {
      ...info,
      contains(digest: Uint8Array): boolean {
        if (closed) throw new Error('the exact index was closed');
        const key = Buffer.from(digest.buffer, digest.byteOffset, recordBytes);
        const bucket = bucketOf(digest, bucketBits);
        const count = bucketLength(bucket);
        if (count === 0) return false;
        const bytes = readBucket(bucketStart(bucket), count);
        // A bucket read from disk is checked each time: the file may have been damaged since.
        if (!all) checkBucket(bucket, bytes);
        let low = 0;
        let high = count - 1;
        while (low <= high) {
          const middle = (low + high) >>> 1;
          const order = bytes.compare(key, 0, recordBytes, middle * recordBytes, (middle + 1) * recordBytes);
          if (order === 0) return true;
          // `order` compares the record with the key: positive means the record sorts after it.
          if (order > 0) high = middle - 1;
          else low = middle + 1;
        }
        return false;
      },
      close(): void {
        if (closed) return;
        closed = true;
        if (!all) closeSync(fd);
      },
    };
  } finally {
    if (!keepOpen) {
      try {
        closeSync(fd);
      } catch {
        // Already closed after an in-memory read.
      }
    }
  }
}

/**
 * Collects digests for an index while a list is read (a `DigestSink`, like the filter), spilling
 * them into 256 temporary files by first byte so memory stays at 16 MiB whatever the list's size;
 * `write` then sorts one partition at a time. Call `discard` if the import fails.
 */
export class ExactIndexBuilder implements DigestSink {
  readonly #directory: string;
  readonly #recordBytes: number;
  readonly #keyForm: FilterKeyForm;
  readonly #fds: number[] = [];
  readonly #buffers: Buffer[] = [];
  readonly #filled: number[] = [];
  #added = 0;
  #done = false;

  /** `near` is a file whose folder holds the temporary partitions (the index's own path). */
  constructor(options: {
    readonly near: string;
    readonly recordBytes: number;
    readonly keyForm: FilterKeyForm;
  }) {
    if (options.recordBytes < 8 || options.recordBytes > digestBytes) {
      throw new Error('records hold 8 to 20 bytes of the SHA-1');
    }
    const parent = path.dirname(path.resolve(options.near));
    mkdirSync(parent, { recursive: true });
    this.#directory = mkdtempSync(path.join(parent, `.${path.basename(options.near)}.parts-`));
    this.#recordBytes = options.recordBytes;
    this.#keyForm = options.keyForm;
    for (let i = 0; i < partitions; i += 1) {
      this.#fds.push(openSync(path.join(this.#directory, i.toString(16).padStart(2, '0')), 'w+', 0o600));
      this.#buffers.push(Buffer.allocUnsafe(partitionBufferBytes));
      this.#filled.push(0);
    }
  }

  /** Digests added so far (duplicates included). */
  get added(): number {
    return this.#added;
  }

  /** Adds one SHA-1, given as its five big-endian words. */
  addDigestWords(w0: number, w1: number, w2: number, w3: number, w4: number): void {
    const partition = w0 >>> 24;
    const buffer = this.#buffers[partition] as Buffer;
    let filled = this.#filled[partition] ?? 0;
    if (filled + digestBytes > buffer.length) {
      this.#flush(partition);
      filled = 0;
    }
    buffer.writeUInt32BE(w0 >>> 0, filled);
    buffer.writeUInt32BE(w1 >>> 0, filled + 4);
    buffer.writeUInt32BE(w2 >>> 0, filled + 8);
    buffer.writeUInt32BE(w3 >>> 0, filled + 12);
    buffer.writeUInt32BE(w4 >>> 0, filled + 16);
    this.#filled[partition] = filled + digestBytes;
    this.#added += 1;
  }

  /** Adds one SHA-1 digest of 20 bytes. */
  addDigest(digest: Uint8Array): void {
    const view = Buffer.from(digest.buffer, digest.byteOffset, digestBytes);
    this.addDigestWords(
      view.readUInt32BE(0),
      view.readUInt32BE(4),
      view.readUInt32BE(8),
      view.readUInt32BE(12),
      view.readUInt32BE(16),
    );
  }

  #flush(partition: number): void {
    const filled = this.#filled[partition] ?? 0;
    const buffer = this.#buffers[partition] as Buffer;
    let done = 0;
    while (done < filled) done += writeSync(this.#fds[partition] as number, buffer, done, filled - done);
    this.#filled[partition] = 0;
  }

  /**
   * Sorts the digests and writes the index to `file` atomically (temporary file, sync, rename),
   * tied to the filter whose SHA-256 trailer is `filterChecksum`. Returns the file's size and the
   * number of distinct records. The temporary partitions are removed.
   */
  write(file: string, filterChecksum: Uint8Array): { readonly fileBytes: number; readonly records: number } {
    if (this.#done) throw new Error('the index was already written');
    this.#done = true;
    const temporary = path.join(
      path.dirname(path.resolve(file)),
      `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`,
    );
    let out: number | undefined;
    try {
      for (let partition = 0; partition < partitions; partition += 1) this.#flush(partition);
      const bucketBits = bucketBitsFor(this.#added);
      const buckets = 2 ** bucketBits;
      const recordBytes = this.#recordBytes;
      const table = Buffer.alloc(buckets * tableEntryBytes);
      const recordsStart = headerBytes + table.length;
      out = openSync(temporary, 'wx', 0o644);
      let written = 0;
      let currentBucket = 0;
      let bucketHash = createHash('sha256');
      const closeBucketsUpTo = (bucket: number) => {
        // Ends every bucket before `bucket` (empty ones included) with the records written so far.
        while (currentBucket < bucket) {
          table.writeBigUInt64LE(BigInt(written), currentBucket * tableEntryBytes);
          bucketHash.digest().copy(table, currentBucket * tableEntryBytes + 8, 0, bucketDigestBytes);
          bucketHash = createHash('sha256');
          currentBucket += 1;
        }
      };
      let previous: Buffer | undefined;
      for (let partition = 0; partition < partitions; partition += 1) {
        const records = this.#sortedPartition(partition);
        const chunk = Buffer.allocUnsafe(records.length * recordBytes);
        let used = 0;
        for (const record of records) {
          const key = record.subarray(0, recordBytes);
          if (previous?.equals(key)) continue;
          closeBucketsUpTo(bucketOf(record, bucketBits));
          key.copy(chunk, used);
          bucketHash.update(key);
          previous = key;
          used += recordBytes;
          written += 1;
        }
        let done = 0;
        while (done < used) {
          done += writeSync(
            out,
            chunk,
            done,
            used - done,
            recordsStart + (written - used / recordBytes) * recordBytes + done,
          );
        }
      }
      closeBucketsUpTo(buckets);
      const header = Buffer.alloc(headerBytes);
      magic.copy(header, 0);
      header.writeUInt16LE(indexFormatVersion, 8);
      header.writeUInt8(recordBytes, 10);
      header.writeUInt8(bucketBits, 11);
      header.writeUInt8(this.#keyForm === 'lowerCase' ? 1 : 0, 12);
      header.writeBigUInt64LE(BigInt(written), 16);
      Buffer.from(filterChecksum).copy(header, 24, 0, 32);
      shortDigest(header.subarray(0, 56), table).copy(header, 56);
      writeSync(out, header, 0, headerBytes, 0);
      writeSync(out, table, 0, table.length, headerBytes);
      fsyncSync(out);
      closeSync(out);
      out = undefined;
      renameSync(temporary, file);
      return { fileBytes: recordsStart + written * recordBytes, records: written };
    } catch (error) {
      if (out !== undefined) closeSync(out);
      rmSync(temporary, { force: true });
      throw error;
    } finally {
      this.discard();
    }
  }

  /** The digests of one partition, sorted (as 20-byte views of one buffer). */
  #sortedPartition(partition: number): Buffer[] {
    const fd = this.#fds[partition] as number;
    const bytes = fstatSync(fd).size;
    const all = Buffer.allocUnsafe(bytes);
    let done = 0;
    while (done < bytes) {
      const read = readSync(fd, all, done, bytes - done, done);
      if (read === 0) break;
      done += read;
    }
    const records: Buffer[] = [];
    for (let offset = 0; offset + digestBytes <= bytes; offset += digestBytes) {
      records.push(all.subarray(offset, offset + digestBytes));
    }
    records.sort(Buffer.compare);
    return records;
  }

  /** Removes the temporary partitions (after `write`, or when an import fails). */
  discard(): void {
    for (const fd of this.#fds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // Already closed.
      }
    }
    rmSync(this.#directory, { recursive: true, force: true });
  }
}
