/**
 * One config for three jobs:
 * - `vite` (npm run dev) serves the repository: the demo page (demo/), the kernel-test page
 *   (kernels-test/browser/) and benchmark pages, from 127.0.0.1 (a secure context, so
 *   navigator.gpu exists);
 * - `vite build` (npm run build) builds the library: dist/index.js (browser-safe) and
 *   dist/node.js (Node entry, with Dawn from the `webgpu` package left external);
 * - vitest runs the Node tests and the Chromium kernel suite (projects 'node', 'chromium').
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  server: { host: '127.0.0.1' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    sourcemap: true,
    lib: {
      entry: { index: 'src/index.ts', node: 'src/node/index.ts' },
      formats: ['es'],
    },
    rollupOptions: {
      external: ['webgpu', /^node:/],
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: [
            'src/**/*.test.ts',
            'kernels-test/**/*.test.ts',
            'scripts/**/*.test.ts',
            'bench/**/*.test.ts',
          ],
          exclude: ['kernels-test/browser/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'chromium',
          include: ['kernels-test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
