import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/*
 * The portal (/portal) and My account (/myaccount): one single-page app, built into dist/web and
 * served by src/web. Every page is its own chunk (see src/routes.tsx); assets carry a content hash
 * in their names, so the server may cache them for a year.
 */
const webRoot = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react()],
  // Not in node_modules: the worktrees of this repository may share one node_modules.
  cacheDir: path.join(webRoot, '..', 'dist', '.vite-cache'),
  build: {
    outDir: path.join(webRoot, '..', 'dist', 'web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    // No inline <script> or data: module preload polyfill: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
