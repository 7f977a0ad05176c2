/**
 * npm start: picks an adapter, prints what it offers, and checks a computation on it
 * against its closed form. (Training MNIST here is the Keras-API issue's job.)
 *
 *   npm start [-- --software | --hardware]
 */
import { initEngine, ops, tensor } from '../../src/node/index.js';
import { adapterFromArgs } from '../../src/node/cli.js';

const args = process.argv.slice(2);
const adapter = adapterFromArgs(args);

const engine = await initEngine({ adapter });
const { limits, features } = engine;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
console.log(
  `limits: maxStorageBufferBindingSize ${mib(limits.maxStorageBufferBindingSize)}, ` +
    `maxBufferSize ${mib(limits.maxBufferSize)}, ` +
    `maxComputeInvocationsPerWorkgroup ${limits.maxComputeInvocationsPerWorkgroup}, ` +
    `maxComputeWorkgroupStorageSize ${limits.maxComputeWorkgroupStorageSize} B`,
);
console.log(
  `features used: ${[...features].filter((f) => /timestamp|f16|subgroups/.test(f)).join(', ') || 'none'}`,
);

// Σ k² for k = 1..n and the mean of relu(k − n/2): both have closed forms.
const n = 1_000_000;
const k = tensor(
  Float32Array.from({ length: n }, (_, i) => i + 1),
  [n],
);
const squares = ops.mul(k, k);
const total = ops.sum(squares);
const half = tensor([n / 2], [1]);
const shifted = ops.relu(ops.sub(k, half));
const meanRelu = ops.mean(shifted);
const [gotSum] = await total.read();
const [gotMean] = await meanRelu.read();
const wantSum = (n * (n + 1) * (2 * n + 1)) / 6;
const m = n / 2; // relu(k − m) is 1..m for k = m+1..n
const wantMean = (m * (m + 1)) / 2 / n;
const relErr = (got: number | undefined, want: number) => Math.abs((got ?? NaN) - want) / want;
console.log(`sum of k^2, k=1..${n}: GPU ${gotSum?.toExponential(6)}, exact ${wantSum.toExponential(6)}`);
console.log(`mean of relu(k - ${m}):  GPU ${gotMean?.toFixed(3)}, exact ${wantMean.toFixed(3)}`);
const stats = engine.stats();
console.log(`${stats.dispatches} dispatches, ${stats.pipelines} pipelines, ${stats.readbacks} readbacks`);
engine.dispose();
// f32 sums of 1e6 terms: a relative error of 1e-4 leaves room for rounding, not for a bug.
if (!(relErr(gotSum, wantSum) < 1e-4 && relErr(gotMean, wantMean) < 1e-4)) {
  console.error('smoke computation FAILED: the GPU result is off');
  process.exit(1);
}
console.log('smoke computation OK');
