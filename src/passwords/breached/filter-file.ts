import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import { Codes } from '../../platform/errors/catalog.js';
import { RekeyError } from '../../platform/errors/rekey-error.js';
import { BreachedFilter, type FilterKeyForm } from './breached-filter.js';
import { blockBits, maximumFilterBytes, maximumHashCount } from './filter-sizing.js';

/*
 * The `.rkbf` file: one breached-password filter, self-describing and checksummed.
 *
 *   offset  size  field (little-endian)
 *        0     8  magic 89 52 4B 42 46 0D 0A 1A ("\x89RKBF\r\n\x1a": binary, and line-ending
 *                 or 7-bit mangling in transit breaks it visibly, as PNG's magic does)
 *        8     2  format version (1)
 *       10     2  header length in bytes (a multiple of 64: the bit array starts on a cache line)
 *       12     1  key form: 0 = exact password, 1 = lower-cased password
 *       13     1  reserved, 0
 *       14     2  block size in bits (512)
 *       16     4  k, probes per entry
 *       20     4  length of the source description in bytes
 *       24     8  m, filter size in bits (a multiple of 512)
 *       32     8  n, entries added
 *       40     8  target false-positive rate (float64)
 *       48     8  build time, milliseconds since 1970 (float64)
 *       56     -  source description, UTF-8 (at most 4096 bytes), then zeros to the header length
 *   header     -  the bit array: m / 8 bytes, 32-bit little-endian words, 16 words per block
 *   end - 32  32  SHA-256 of every byte before it
 *
 * Readers check, in order: magic, version, header fields, exact file size, then the checksum, so
 * each kind of damage gets its own message. The checksum is SHA-256 rather than a CRC because it
 * costs under a second for the largest file and no one has to wonder whether it could collide.
 */

const magic = Buffer.from([0x89, 0x52, 0x4b, 0x42, 0x46, 0x0d, 0x0a, 0x1a]);
/** The format version this Rekey writes and reads. */
export const filterFormatVersion = 1;
const fixedHeaderBytes = 56;
const maximumSourceBytes = 4096;
const checksumBytes = 32;
const headerAlignment = 64;
/** Body reads and writes go in slices of this size: fs calls take at most 2 GiB at once. */
const ioSliceBytes = 64 * 1024 * 1024;

/** The kinds of damage a filter file can have; `details.problem` of error 7700402. */
export type FilterFileProblem =
  | 'unreadable'
  | 'notAFilter'
  | 'unsupportedVersion'
  | 'badHeader'
  | 'truncated'
  | 'trailingBytes'
  | 'checksumMismatch';

function invalidFile(file: string, problem: FilterFileProblem, reason: string, cause?: unknown): RekeyError {
  return new RekeyError(Codes.InvalidBreachedPasswordFilter, {
    message: `The breached-password filter ${file} cannot be used: ${reason}`,
    details: { file, problem },
    cause,
  });
}

function assertLittleEndian(): void {
  // The bit array is read straight into a Uint32Array, which uses the host's byte order.
  if (endianness() !== 'LE') throw new Error('breached-password filters need a little-endian host');
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function keyFormCode(keyForm: FilterKeyForm): number {
  switch (keyForm) {
    case 'exact':
      return 0;
    case 'lowerCase':
      return 1;
    default: {
      const unknown: never = keyForm;
      throw new Error(`unknown key form ${String(unknown)}`);
    }
  }
}

/** The header of a filter, as encoded; the bit array follows it. */
function encodeHeader(filter: BreachedFilter): Buffer {
  const source = Buffer.from(filter.metadata.source, 'utf8').subarray(0, maximumSourceBytes);
  const headerBytes = alignUp(fixedHeaderBytes + source.length, headerAlignment);
  const header = Buffer.alloc(headerBytes);
  magic.copy(header, 0);
  header.writeUInt16LE(filterFormatVersion, 8);
  header.writeUInt16LE(headerBytes, 10);
  header.writeUInt8(keyFormCode(filter.metadata.keyForm), 12);
  header.writeUInt16LE(blockBits, 14);
  header.writeUInt32LE(filter.hashCount, 16);
  header.writeUInt32LE(source.length, 20);
  header.writeBigUInt64LE(BigInt(filter.bits), 24);
  header.writeBigUInt64LE(BigInt(filter.entries), 32);
  header.writeDoubleLE(filter.metadata.targetFalsePositiveRate, 40);
  header.writeDoubleLE(filter.metadata.createdAt.getTime(), 48);
  source.copy(header, fixedHeaderBytes);
  return header;
}

/** What a valid header says. */
export interface FilterHeader {
  readonly version: number;
  readonly headerBytes: number;
  readonly keyForm: FilterKeyForm;
  readonly hashCount: number;
  readonly bits: number;
  readonly entries: number;
  readonly targetFalsePositiveRate: number;
  readonly createdAt: Date;
  readonly source: string;
}

/** Parses and checks a header; `available` is the start of the file (at least the whole header). */
function decodeHeader(file: string, available: Buffer, fileBytes: number): FilterHeader {
  if (available.length < magic.length || !available.subarray(0, magic.length).equals(magic)) {
    throw invalidFile(file, 'notAFilter', 'it is not a Rekey breached-password filter (.rkbf) file.');
  }
  if (available.length < 10) throw invalidFile(file, 'truncated', 'the file ends inside its header.');
  const version = available.readUInt16LE(8);
  if (version !== filterFormatVersion) {
    throw invalidFile(
      file,
      'unsupportedVersion',
      `it uses format version ${version}; this Rekey reads version ${filterFormatVersion}.`,
    );
  }
  if (available.length < fixedHeaderBytes) {
    throw invalidFile(file, 'truncated', 'the file ends inside its header.');
  }
  const headerBytes = available.readUInt16LE(10);
  const keyForm = available.readUInt8(12);
  const blockSize = available.readUInt16LE(14);
  const hashCount = available.readUInt32LE(16);
  const sourceBytes = available.readUInt32LE(20);
  const bits = Number(available.readBigUInt64LE(24));
  const entries = Number(available.readBigUInt64LE(32));
  const targetFalsePositiveRate = available.readDoubleLE(40);
  const createdAt = available.readDoubleLE(48);
  const problems: string[] = [];
  if (keyForm > 1) problems.push(`unknown key form ${keyForm}`);
  if (blockSize !== blockBits) problems.push(`block size ${blockSize} bits (expected ${blockBits})`);
  if (hashCount < 1 || hashCount > maximumHashCount) problems.push(`${hashCount} probes per entry`);
  if (bits < blockBits || bits % blockBits !== 0 || bits / 8 > maximumFilterBytes) {
    problems.push(`a size of ${bits} bits`);
  }
  if (!Number.isSafeInteger(entries)) problems.push(`${entries} entries`);
  if (!(targetFalsePositiveRate > 0 && targetFalsePositiveRate < 1)) {
    problems.push(`a target false-positive rate of ${targetFalsePositiveRate}`);
  }
  if (!Number.isFinite(createdAt)) problems.push('no build time');
  if (sourceBytes > maximumSourceBytes || headerBytes !== alignUp(fixedHeaderBytes + sourceBytes, 64)) {
    problems.push(`a header length of ${headerBytes} bytes`);
  }
  if (problems.length > 0) {
    throw invalidFile(file, 'badHeader', `its header is damaged (${problems.join('; ')}).`);
  }
  const expectedBytes = headerBytes + bits / 8 + checksumBytes;
  if (fileBytes < expectedBytes) {
    throw invalidFile(
      file,
      'truncated',
      `it is ${fileBytes} bytes long but its header promises ${expectedBytes}; it was cut short.`,
    );
  }
  if (fileBytes > expectedBytes) {
    throw invalidFile(
      file,
      'trailingBytes',
      `it has ${fileBytes - expectedBytes} unexpected bytes after the end of the filter.`,
    );
  }
  if (available.length < fixedHeaderBytes + sourceBytes) {
    throw invalidFile(file, 'truncated', 'the file ends inside its header.');
  }
  return {
    version,
    headerBytes,
    keyForm: keyForm === 1 ? 'lowerCase' : 'exact',
    hashCount,
    bits,
    entries,
    targetFalsePositiveRate,
    createdAt: new Date(createdAt),
    source: available.toString('utf8', fixedHeaderBytes, fixedHeaderBytes + sourceBytes),
  };
}

async function readFully(handle: FileHandle, target: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const slice = target.subarray(done, Math.min(target.length, done + ioSliceBytes));
    const { bytesRead } = await handle.read(slice, 0, slice.length, position + done);
    if (bytesRead === 0) throw new Error('unexpected end of file');
    done += bytesRead;
  }
}

/** A filter read from disk, with what its header said and the file's size. */
export interface LoadedFilter {
  readonly filter: BreachedFilter;
  readonly header: FilterHeader;
  readonly file: string;
  readonly fileBytes: number;
  /** The file's SHA-256 trailer: its exact index records it, so a mismatched pair is refused. */
  readonly checksum: Buffer;
}

/**
 * Reads and verifies a `.rkbf` file. The bit array is read straight into its final typed array, so
 * loading needs no memory beyond the filter itself. Fails with 7700402, naming the damage, if the
 * file is missing, foreign, from a newer format, truncated or fails its checksum.
 */
export async function readFilterFile(file: string): Promise<LoadedFilter> {
  assertLittleEndian();
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    const reason = missing ? 'it does not exist.' : 'it cannot be opened.';
    throw invalidFile(file, 'unreadable', reason, error);
  }
  try {
    const fileBytes = (await handle.stat()).size;
    const start = Buffer.alloc(Math.min(fileBytes, fixedHeaderBytes + maximumSourceBytes + headerAlignment));
    await readFully(handle, start, 0);
    const header = decodeHeader(file, start, fileBytes);
    const words = new Uint32Array(header.bits / 32);
    const body = new Uint8Array(words.buffer);
    await readFully(handle, body, header.headerBytes);
    const trailer = Buffer.alloc(checksumBytes);
    await readFully(handle, trailer, header.headerBytes + body.length);

    const checksum = createHash('sha256').update(start.subarray(0, header.headerBytes));
    for (let offset = 0; offset < body.length; offset += ioSliceBytes) {
      checksum.update(body.subarray(offset, offset + ioSliceBytes));
    }
    if (!checksum.digest().equals(trailer)) {
      throw invalidFile(
        file,
        'checksumMismatch',
        'its checksum does not match its contents; the file is damaged.',
      );
    }
    const filter = new BreachedFilter(
      {
        blocks: header.bits / blockBits,
        hashCount: header.hashCount,
        entries: header.entries,
        metadata: {
          targetFalsePositiveRate: header.targetFalsePositiveRate,
          createdAt: header.createdAt,
          source: header.source,
          keyForm: header.keyForm,
        },
      },
      words,
    );
    return { filter, header, file, fileBytes, checksum: trailer };
  } finally {
    await handle.close();
  }
}

/** The SHA-256 trailer `writeFilterFile` gives `filter`: what its exact index is tied to. */
export function filterFileChecksum(filter: BreachedFilter): Buffer {
  const body = new Uint8Array(filter.words.buffer, filter.words.byteOffset, filter.words.byteLength);
  const checksum = createHash('sha256').update(encodeHeader(filter));
  for (let offset = 0; offset < body.length; offset += ioSliceBytes) {
    checksum.update(body.subarray(offset, offset + ioSliceBytes));
  }
  return checksum.digest();
}

/**
 * Writes `filter` to `file` atomically: into a temporary file beside it, flushed to disk, then
 * renamed over the target, so a reader (or a crash) never sees half a filter. Returns the size in
 * bytes.
 */
export async function writeFilterFile(filter: BreachedFilter, file: string): Promise<number> {
  assertLittleEndian();
  const directory = path.dirname(path.resolve(file));
  await mkdir(directory, { recursive: true });
  const temporary = path.join(directory, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const header = encodeHeader(filter);
  const body = new Uint8Array(filter.words.buffer, filter.words.byteOffset, filter.words.byteLength);
  const checksum = createHash('sha256').update(header);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx', 0o644);
    await handle.write(header, 0, header.length, 0);
    for (let offset = 0; offset < body.length; offset += ioSliceBytes) {
      const slice = body.subarray(offset, offset + ioSliceBytes);
      checksum.update(slice);
      await handle.write(slice, 0, slice.length, header.length + offset);
    }
    await handle.write(checksum.digest(), 0, checksumBytes, header.length + body.length);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, file);
    return header.length + body.length + checksumBytes;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}
