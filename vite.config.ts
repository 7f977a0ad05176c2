/**
 * One config for three jobs:
 * - `vite` (npm run dev) serves the repository: the demo page (demo/, also served alone by
 *   `npm run demo` with demo/vite.config.ts), the kernel-test page (kernels-test/browser/)
 *   and benchmark pages, from 127.0.0.1 (a secure context, so navigator.gpu exists);
 * - `vite build` (npm run build) builds the library: dist/index.js (browser-safe),
 *   dist/node.js (Node entry, with Dawn from the `webgpu` package left external) and
 *   dist/trainer.js (the <mlp-trainer> web component, with Lit and Chart.js external) and
 *   dist/playground.js, lab.js, vanishing.js, tune.js and predict.js (<mlp-playground>,
 *   <mlp-lab>, <mlp-vanishing>, <mlp-tune>, <mlp-predict>, likewise).
 *   Not minified and without source maps: an app's bundler minifies it, and until then a
 *   stack trace names the library's own classes and functions (keepNames keeps them where
 *   bundling renames a clash, e.g. `Tensor$1`);
 * - vitest runs the Node tests and the Chromium suites (kernels, demo) (projects 'node',
 *   'chromium').
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { mnistAssets } from './demo/mnist-assets.js';

export default defineConfig({
  server: { host: '127.0.0.1' },
  plugins: [mnistAssets()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    sourcemap: false,
    minify: false,
    lib: {
      entry: {
        index: 'src/index.ts',
        node: 'src/node/index.ts',
        trainer: 'demo/src/trainer.ts',
        playground: 'demo/src/playground.ts',
        predict: 'demo/src/predict.ts',
        lab: 'demo/src/lab.ts',
        vanishing: 'demo/src/vanishing.ts',
        tune: 'demo/src/tune.ts',
      },
      formats: ['es'],
    },
    rolldownOptions: {
      // Keras files' HDF5 and zip libraries (loaded lazily: an app's bundler splits them off)
      // and the optional picture packages stay the app's dependencies.
      external: [
        'webgpu',
        /^node:/,
        'lit',
        /^lit\//,
        'chart.js',
        'h5wasm',
        'fflate',
        '@viz-js/viz',
        'vega',
        'vega-lite',
      ],
      // JSDoc stays in dist/types; the bundle keeps only legal and /* @__PURE__ */ comments.
      output: { keepNames: true, comments: { legal: true, annotation: true, jsdoc: false } },
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
            'demo/**/*.test.ts',
            'test/course/**/*.test.ts',
          ],
          exclude: ['kernels-test/browser/**', 'demo/test/**'],
          // The matmul autotuner's cache: never the developer's own (src/node/matmul-tune-store.ts).
          env: { WEBGPU_MLP_CACHE_DIR: join(tmpdir(), `webgpu-mlp-test-cache-${process.pid}`) },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'chromium',
          include: [
            'kernels-test/browser/**/*.test.ts',
            'demo/test/**/*.test.ts',
            'test/browser/**/*.test.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
