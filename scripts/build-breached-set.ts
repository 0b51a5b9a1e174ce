/**
 * Builds the breached-password set shipped with Rekey, or measures the filter at scale.
 *
 *   npx tsx scripts/build-breached-set.ts                  rebuild the shipped set (filter and exact
 *                                                          index) and its NOTICE
 *   npx tsx scripts/build-breached-set.ts --scale-check N  import N synthetic `HASH:count` lines
 *                                                          (generated on the fly, no file) and
 *                                                          report build time, memory and the
 *                                                          measured false-positive rate
 *   options: --fp-rate <p> (default 0.001), --save <file> (scale check: also time save and load)
 *
 * The shipped data is the `passwords-common` dictionary of @zxcvbn-ts/language-common (MIT), a
 * ranked list of the most common passwords in public breach corpora. That list is lower-case
 * only (zxcvbn folds case before matching), so the set is built with lower-cased keys and lookups
 * lower-case the password too: "Password" and "PASSWORD" count as "password", which breach
 * corpora show to be just as common. The list is used as it is otherwise: no other variants are
 * added (the policy engine's Password Protection already handles substitutions like "p@ssw0rd").
 */
import { hash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dictionary } from '@zxcvbn-ts/language-common';
import { BreachedFilter } from '../src/passwords/breached/breached-filter.js';
import {
  loadIndexedFilter,
  shippedBreachedSetFile,
  writeFilterWithIndex,
} from '../src/passwords/breached/breached-set.js';
import { ExactIndexBuilder, indexFileFor } from '../src/passwords/breached/exact-index.js';
import { measureFalsePositiveRate } from '../src/passwords/breached/false-positive-rate.js';
import { readFilterFile, writeFilterFile } from '../src/passwords/breached/filter-file.js';
import { importHashList } from '../src/passwords/breached/hash-list-import.js';

const dataPackage = '@zxcvbn-ts/language-common';
const dictionaryName = 'passwords-common';
/** Bytes of each SHA-1 the shipped exact index keeps (see buildShippedSet). */
const shippedRecordBytes = 8;

function megabytes(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

function packageFacts(): { version: string; license: string; licenseText: string } {
  const require = createRequire(import.meta.url);
  const manifestFile = require.resolve(`${dataPackage}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { version?: unknown; license?: unknown };
  if (typeof manifest.version !== 'string' || typeof manifest.license !== 'string') {
    throw new Error(`${manifestFile} has no version or license`);
  }
  const licenseText = readFileSync(path.join(path.dirname(manifestFile), 'LICENSE.txt'), 'utf8');
  return { version: manifest.version, license: manifest.license, licenseText };
}

async function buildShippedSet(targetFalsePositiveRate: number): Promise<void> {
  const facts = packageFacts();
  if (facts.license !== 'MIT')
    throw new Error(`${dataPackage} is now ${facts.license}: check it may be shipped`);
  const words = dictionary[dictionaryName];
  const entries = [...new Set(words)];
  const notLowerCase = entries.filter((word) => word !== word.toLowerCase());
  // The key form assumes a lower-case list; a future version that keeps case must be rethought.
  if (notLowerCase.length > 0) throw new Error(`${notLowerCase.length} entries are not lower-case`);

  const source = `${dataPackage} ${facts.version}, dictionary '${dictionaryName}' (${entries.length} common passwords, lower-case), ${facts.license} licence`;
  const filter = BreachedFilter.create({
    expectedEntries: entries.length,
    targetFalsePositiveRate,
    source,
    keyForm: 'lowerCase',
  });
  const file = shippedBreachedSetFile();
  // The exact index that confirms the filter's hits keeps the first 8 bytes of each SHA-1: a
  // password outside the list matches one of 50 thousand 64-bit prefixes with a chance of about
  // 3e-15, and is only looked up after the filter's own one-in-a-thousand hit.
  const index = new ExactIndexBuilder({
    near: indexFileFor(file),
    recordBytes: shippedRecordBytes,
    keyForm: 'lowerCase',
  });
  for (const entry of entries) {
    filter.add(entry);
    index.addDigest(hash('sha1', entry, 'buffer'));
  }
  const { fileBytes: bytes, indexBytes } = await writeFilterWithIndex(filter, index, file);

  const { loaded, index: exact } = await loadIndexedFilter(file, 'shipped', { inMemory: true });
  const missing = entries.filter(
    (entry) => !loaded.filter.has(entry) || !exact.contains(hash('sha1', entry, 'buffer')),
  );
  if (missing.length > 0) throw new Error(`${missing.length} entries are missing after reloading`);
  const measured = measureFalsePositiveRate(loaded.filter, { probes: 1_000_000 });
  const confirmed = measureFalsePositiveRate(
    {
      has: (password) =>
        loaded.filter.has(password) && exact.contains(hash('sha1', password.toLowerCase(), 'buffer')),
    },
    { probes: 1_000_000 },
  );

  writeFileSync(
    path.join(path.dirname(file), 'NOTICE'),
    [
      `${path.basename(file)} (a Bloom filter) and ${path.basename(indexFileFor(file))} (its exact index of`,
      'SHA-1 prefixes) are built by scripts/build-breached-set.ts from the',
      `'${dictionaryName}' dictionary of the npm package ${dataPackage} ${facts.version},`,
      `which is distributed under the ${facts.license} licence below.`,
      '',
      facts.licenseText.trim(),
      '',
    ].join('\n'),
  );
  process.stdout.write(
    [
      `wrote ${file}: ${bytes} bytes, and its exact index ${indexFileFor(file)}: ${indexBytes} bytes (${exact.records} records of ${shippedRecordBytes} bytes)`,
      `  ${source}`,
      `  m = ${filter.bits} bits (${(filter.bits / entries.length).toFixed(2)} per entry), k = ${filter.hashCount}`,
      `  false-positive rate: target ${targetFalsePositiveRate}, theoretical ${filter.theoreticalFalsePositiveRate.toPrecision(3)}, measured ${measured.rate.toPrecision(3)} (${measured.falsePositives} of ${measured.probes}; 95% ${measured.low.toPrecision(3)}-${measured.high.toPrecision(3)}); after confirmation by the index ${confirmed.falsePositives} of ${confirmed.probes}`,
      '',
    ].join('\n'),
  );
}

/**
 * `count` lines of `HEX:count\r\n` with random hashes, in chunks of 16,384 lines: what a real
 * corpus looks like to the parser, without a 4 GB file on disk. The bytes come from the CSPRNG:
 * a weak generator (xorshift) gave a measurably higher false-positive rate than SHA-1 digests do.
 */
async function* syntheticHashList(count: number): AsyncGenerator<Buffer> {
  const hex = Buffer.from('0123456789ABCDEF');
  const linesPerChunk = 16_384;
  for (let done = 0; done < count; done += linesPerChunk) {
    const lines = Math.min(linesPerChunk, count - done);
    const random = randomBytes(lines * 22);
    const chunk = Buffer.allocUnsafe(lines * 48);
    let offset = 0;
    for (let line = 0; line < lines; line += 1) {
      const base = line * 22;
      for (let i = 0; i < 20; i += 1) {
        const byte = random[base + i] ?? 0;
        chunk[offset++] = hex[byte >>> 4] ?? 0x30;
        chunk[offset++] = hex[byte & 15] ?? 0x30;
      }
      chunk[offset++] = 0x3a;
      const occurrences = String(1 + (random.readUInt16LE(base + 20) % 999));
      offset += chunk.write(occurrences, offset, 'latin1');
      chunk[offset++] = 0x0d;
      chunk[offset++] = 0x0a;
    }
    yield chunk.subarray(0, offset);
  }
}

async function scaleCheck(count: number, targetFalsePositiveRate: number, save: string | undefined) {
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  let peakRss = rssBefore;
  let chunks = 0;
  const { filter, counts } = await importHashList(syntheticHashList(count), {
    expectedEntries: count,
    targetFalsePositiveRate,
    minCount: 1,
    skipInvalid: false,
    sourceName: 'synthetic list',
    sourceDescription: `scale check: ${count} synthetic SHA-1 lines`,
    onProgress: (current) => {
      chunks += 1;
      if (chunks % 256 === 0) {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        process.stderr.write(`\r${current.lines.toLocaleString('en-US')} lines`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  process.stderr.write('\n');
  const measureStart = performance.now();
  const measured = measureFalsePositiveRate(filter, { probes: 1_000_000 });
  const measureSeconds = (performance.now() - measureStart) / 1000;
  const report = [
    `scale check: ${counts.entries} entries from ${counts.lines} lines (${megabytes(counts.bytes)} of text)`,
    `  build: ${seconds.toFixed(1)} s (${Math.round(counts.entries / seconds)} lines/s, parse + insert)`,
    `  filter: ${megabytes(filter.words.byteLength)} (m = ${filter.bits} bits, ${(filter.bits / counts.entries).toFixed(2)} per entry), k = ${filter.hashCount}`,
    `  process RSS: ${megabytes(rssBefore)} before, ${megabytes(peakRss)} peak during the build`,
    `  false-positive rate: theoretical ${filter.theoreticalFalsePositiveRate.toPrecision(3)}, measured ${measured.rate.toPrecision(3)} (${measured.falsePositives} of ${measured.probes}, ${((measureSeconds * 1e6) / measured.probes).toFixed(2)} us per lookup incl. SHA-1)`,
  ];
  if (save !== undefined) {
    const saveStart = performance.now();
    const bytes = await writeFilterFile(filter, save);
    const saveSeconds = (performance.now() - saveStart) / 1000;
    const loadStart = performance.now();
    const loaded = await readFilterFile(save);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    report.push(
      `  file: ${megabytes(bytes)}, saved in ${saveSeconds.toFixed(1)} s, loaded and verified in ${loadSeconds.toFixed(1)} s (${loaded.filter.entries} entries)`,
    );
  }
  process.stdout.write(`${report.join('\n')}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'scale-check': { type: 'string' },
      'fp-rate': { type: 'string' },
      save: { type: 'string' },
    },
    strict: true,
  });
  const rate = values['fp-rate'] === undefined ? 0.001 : Number(values['fp-rate']);
  if (!(rate > 0 && rate <= 0.5)) throw new Error('--fp-rate must be a probability above 0 and at most 0.5');
  if (values['scale-check'] !== undefined) {
    const count = Number(values['scale-check'].replaceAll('_', ''));
    if (!(Number.isSafeInteger(count) && count > 0)) throw new Error('--scale-check needs a whole number');
    await scaleCheck(count, rate, values.save);
    return;
  }
  await buildShippedSet(rate);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `build-breached-set failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
