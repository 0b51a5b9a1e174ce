import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/*
 * The portal (/portal) and My account (/myaccount): one single-page app, built into dist/webapp and
 * served by src/web. Every page is its own chunk (see src/routes.tsx); assets carry a content hash
 * in their names, so the server may cache them for a year.
 */
const webRoot = path.dirname(fileURLToPath(import.meta.url));

/**
 * Writes a gzip copy beside every script and style sheet, once at build time, so the server sends
 * the compressed file to browsers that accept it (src/web, `preCompressed`) without compressing
 * on every request.
 */
function gzipAssets(): Plugin {
  return {
    name: 'rekey-gzip-assets',
    apply: 'build',
    writeBundle(options, bundle) {
      const outDir = options.dir ?? '';
      for (const fileName of Object.keys(bundle)) {
        if (!/\.(js|css)$/.test(fileName)) continue;
        const file = path.join(outDir, fileName);
        writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: constants.Z_BEST_COMPRESSION }));
      }
    },
  };
}

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react(), gzipAssets()],
  // Not in node_modules: the worktrees of this repository may share one node_modules.
  cacheDir: path.join(webRoot, '..', 'dist', '.vite-cache'),
  build: {
    outDir: path.join(webRoot, '..', 'dist', 'webapp'),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    // No inline <script> or data: module preload polyfill: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
