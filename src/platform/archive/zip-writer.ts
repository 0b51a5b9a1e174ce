import { unzipSync, type Zippable, zipSync } from 'fflate';

/*
 * ZIP archives for support bundles, with fflate (DEFLATE, in memory): a bundle is a few
 * megabytes. This module only checks the entry names (no absolute path, no `..`, no repeat), so
 * an archive never writes outside the directory it is unpacked in; zip-writer.test.ts reads the
 * archives back with `unzip -t`.
 */

/** One file of an archive: a forward-slash path and its bytes. */
export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
}

/** Builds a ZIP archive of `entries`, in order, each stamped with `at`. */
export function buildZip(entries: readonly ZipEntry[], at: Date): Buffer {
  const files: Zippable = {};
  for (const entry of entries) {
    if (
      entry.name === '' ||
      entry.name.startsWith('/') ||
      entry.name.split('/').includes('..') ||
      Object.hasOwn(files, entry.name)
    )
      throw new Error(`invalid or repeated archive entry name: ${entry.name}`);
    // Made on Unix (os 3): Info-ZIP then reads the UTF-8 names as UTF-8.
    files[entry.name] = [new Uint8Array(entry.data), { mtime: at, level: 6, os: 3 }];
  }
  return Buffer.from(zipSync(files));
}

/** The entries of an archive, in order (for tests and for reading a bundle back). */
export function readZip(archive: Buffer): ZipEntry[] {
  return Object.entries(unzipSync(new Uint8Array(archive))).map(([name, data]) => ({
    name,
    data: Buffer.from(data),
  }));
}
