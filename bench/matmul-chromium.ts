/**
 * npm run bench:matmul:chromium — the matmul benchmark in headless Chromium (Debian's, via
 * puppeteer-core), ours and TF.js on the page's navigator.gpu. Defaults are the same sizes as
 * the Node run; without a GPU that is SwiftShader (~0.5 GFLOP/s) and the sweep takes about
 * 13 minutes: `--max-square 512 --batches 32,128` is a one-minute version.
 *
 *   npm run bench:matmul:chromium -- [--max-square 2048] [--batches 32,128,1024] [--min-ms 300] [--write-results]
 */
import { openPage } from '../kernels-test/browser/chromium.js';
import { matmulReport } from './matmul-report.js';
import { writeResultsSection } from './results.js';

const args = process.argv.slice(2);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const opts = {
  maxSquare: Number(value('--max-square') ?? 2048),
  batches: (value('--batches') ?? '32,128,1024').split(',').map(Number),
  minMs: Number(value('--min-ms') ?? 300),
};

const session = await openPage('/bench/browser/matmul.html', (l) => console.log(l), {
  optimizeDeps: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'],
});
try {
  await session.page.waitForFunction(() => typeof window.runMatmulBench === 'function', { timeout: 120_000 });
  const run = await session.page.evaluate((o) => window.runMatmulBench(o), opts);
  const command = `npm run bench:matmul:chromium -- ${args.join(' ')}`.trim();
  const report = matmulReport(
    `Headless Chromium — ${run.adapter.name}`,
    `\`${command}\`, ${new Date().toISOString().slice(0, 10)}. ${run.userAgent}. TF.js ${run.tfjs} (tfjs-backend-webgpu), same page.`,
    run.rows,
  );
  console.log(`\n${report}`);
  if (args.includes('--write-results')) writeResultsSection('bench:matmul:chromium', report);
} finally {
  await session.close();
}
