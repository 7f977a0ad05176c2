/**
 * npm run bench:chrome — the training benchmark of `npm run bench` in headless Chromium
 * (Debian's, via puppeteer-core, page served by Vite): ours and TF.js 4.22 on the page's
 * navigator.gpu. Same scenarios, options and report as the Node run. Without a GPU the
 * adapter is SwiftShader (about a fifth of lavapipe's speed): the default run then uses 1,024
 * rows and takes about 12 minutes; `--scenarios mlp --batches 128` is a short one. On a
 * machine with a GPU, WEBGPU_MLP_CHROME_ADAPTER=default uses it.
 *
 *   npm run bench:chrome -- [options]   (npm run bench -- --help lists them)
 */
import { openPage } from '../kernels-test/browser/chromium.js';
import { finishRun } from './train/output.js';
import { parseArgs, USAGE } from './train/scenarios.js';

const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log(`npm run bench:chrome -- [options]\n${USAGE}`);
  process.exit(0);
}
const given = parseArgs(args);
// SwiftShader trains about 5× slower than lavapipe: 1,024 rows (the fewest the batch-1024
// scenarios need) keep the default run to about 12 minutes.
const software = (process.env.WEBGPU_MLP_CHROME_ADAPTER ?? 'swiftshader') === 'swiftshader';
if (software && given.rows === undefined) given.rows = 1024;

const session = await openPage('/bench/browser/train.html', (l) => console.log(l), {
  optimizeDeps: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-layers'],
  crossOriginIsolated: true, // finer performance.now() for the host µs per step
});
try {
  await session.page.waitForFunction(() => typeof window.runTrainBench === 'function', { timeout: 120_000 });
  const run = await session.page.evaluate((o) => window.runTrainBench(o), given);
  const { userAgent, isolated, ...rest } = run;
  const timer = isolated
    ? 'The page is cross-origin isolated: performance.now() has 5 µs steps.'
    : 'The page is not cross-origin isolated: performance.now() has 100 µs steps, so host µs per step are coarse.';
  finishRun(rest, `npm run bench:chrome -- ${args.join(' ')}`.trim(), [`${userAgent}.`, timer], args);
} finally {
  await session.close();
}
