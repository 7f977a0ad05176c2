/**
 * Vite serves the demo and the benchmark pages, and the kernel-test page that headless
 * Chromium loads; vitest runs the Node tests and the Chromium kernel suite.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  server: { host: '127.0.0.1' },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['src/**/*.test.ts', 'kernels-test/**/*.test.ts', 'scripts/**/*.test.ts'],
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
