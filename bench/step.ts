/**
 * npm run bench:step — the compiled training step of an MNIST-shaped MLP, end to end.
 *
 * Model: Dense 784→512 relu, 512→512 relu, 512→10 softmax (glorot-uniform kernels, zero
 * biases, seeded), sparse categorical cross-entropy + accuracy, Adam (lr 1e-3). Data: `rows`
 * synthetic rows of 784 random bytes (scale 1/255) with class ids 0..9 (u8), resident on the
 * GPU. For each batch size it reports:
 *   - training samples/s: one warm-up epoch (compiles the plans), then `reps` repetitions of
 *     `epochs` timed epochs of `executor.trainEpoch`, which ends with the loss readback, so the
 *     time covers the GPU work; the median repetition is reported.
 *   - host µs per step of encoding: `plan.encode(n)` alone (the CPU cost of replaying the
 *     recorded step into a command encoder), and with the `engine.submitPending()` after it;
 *     the n steps then run on the GPU before the next measurement (not timed).
 *   - dispatches per step, the plan's buffers and bytes, and the resident bytes.
 *   - GPU time per dispatch of one step (`plan.profile()`), when the device has
 *     'timestamp-query'.
 *
 *   npm run bench:step -- [--software|--hardware] [--batches 32,128,1024] [--rows 2048]
 *                         [--epochs 1] [--reps 5] [--steps-per-submit 32] [--no-profile]
 *                         [--json FILE] [--write-results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import type { DispatchTiming } from '../src/gpu/profiler.js';
import { GpuData } from '../src/graph/dataset.js';
import { Executor } from '../src/graph/executor.js';
import { Graph } from '../src/graph/ir.js';
import * as ops from '../src/graph/ops/index.js';
import type { PlanStats } from '../src/graph/compile.js';
import { adapterFromArgs } from '../src/node/cli.js';
import { initEngine } from '../src/node/index.js';
import { writeResultsSection } from './results.js';
import { median } from './train/core.js';
import { table } from './train/report.js';
import { rng } from '../kernels-test/harness.js';
import { benchArgs } from './args.js';

const { args, value, positiveInt, intList } = benchArgs();
const batches = intList('--batches', '32,128,1024');
const rows = positiveInt('--rows', 2048);
const epochs = positiveInt('--epochs', 1);
const reps = positiveInt('--reps', 5);
const stepsPerSubmit = positiveInt('--steps-per-submit', 32);
const withProfile = !args.includes('--no-profile');

const SIZES = [784, 512, 512, 10] as const;
const CLASSES = 10;
/** Multiply-adds of one sample's forward pass through the three kernels. */
const MACS = SIZES.slice(1).reduce((s, n, i) => s + n * (SIZES[i] as number), 0);
/** Forward, dX and dW products: 3 matmuls of 2 FLOP per multiply-add. */
const TRAIN_FLOP_PER_SAMPLE = 6 * MACS;

function buildModel(seed: number): Graph {
  const g = new Graph();
  const r = rng(seed);
  let x = g.input('pixels', SIZES[0]);
  for (let i = 1; i < SIZES.length; i++) {
    const [fanIn, fanOut] = [SIZES[i - 1] as number, SIZES[i] as number];
    const limit = Math.sqrt(6 / (fanIn + fanOut)); // Keras glorot_uniform
    const kernel = g.param(`dense_${i}/kernel`, [fanIn, fanOut], (n) =>
      Float32Array.from({ length: n }, () => (2 * r() - 1) * limit),
    );
    const bias = g.param(`dense_${i}/bias`, [fanOut], (n) => new Float32Array(n));
    const last = i === SIZES.length - 1;
    x = ops.dense(g, `dense_${i}`, x, kernel, bias, { name: last ? 'softmax' : 'relu' });
  }
  g.loss(x, 'categorical_crossentropy', 'sparse');
  g.metric(0, 'sparse');
  return g;
}

function syntheticData(seed: number): { pixels: Uint8Array; labels: Uint8Array } {
  const r = rng(seed);
  const pixels = new Uint8Array(rows * SIZES[0]);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(r() * 256);
  const labels = Uint8Array.from({ length: rows }, () => Math.floor(r() * CLASSES));
  return { pixels, labels };
}

interface BatchResult {
  batch: number;
  stepsPerEpoch: number;
  /** Median and spread of the timed repetitions. */
  samplesPerS: number;
  samplesPerSAll: number[];
  msPerStep: number;
  gflops: number;
  /** Host ms of executor.plan() for the batch (the first epoch may still wait for pipelines). */
  compileMs: number;
  warmupS: number;
  /** Host µs per step of plan.encode(n) alone, and with the submit of the n steps. */
  encodeUsPerStep: number;
  encodeSubmitUsPerStep: number;
  encodeSteps: number;
  stats: PlanStats;
  loss: number;
  accuracy: number;
  profile?: { dispatches: DispatchTiming[]; totalMs: number };
}

const loadBefore = loadavg()[0] ?? NaN;
const engine = await initEngine({ adapter: adapterFromArgs(args) });
const hasTimestamps = engine.features.has('timestamp-query');
console.log(
  `adapter: ${engine.adapter.name} (${engine.adapter.runtime}); ${rows} rows, ${epochs} timed epoch(s) × ${reps} ` +
    `repetitions per batch size, ${stepsPerSubmit} steps per submit`,
);
if (withProfile && !hasTimestamps) {
  console.log(
    `per-dispatch profile unavailable: the device has no 'timestamp-query' feature ` +
      `(adapter "${engine.adapter.name}" does not offer it, or Dawn hides it without allow_unsafe_apis)`,
  );
}

const { pixels, labels } = syntheticData(7);
const data = new GpuData(engine, {
  inputs: [{ data: pixels, width: SIZES[0], scale: 1 / 255 }],
  targets: [{ data: labels, width: 1 }],
  label: 'synthetic mnist',
});
const results: BatchResult[] = [];

for (const batch of batches) {
  if (batch > rows) {
    console.log(`batch ${batch}: skipped (more than the ${rows} rows)`);
    continue;
  }
  const executor = new Executor(engine, buildModel(1), { spec: { kind: 'adam' }, learningRate: 1e-3 });
  try {
    const epochOptions = { batchSize: batch, stepsPerSubmit, shuffle: 1 };
    let t0 = performance.now();
    executor.plan('train', batch, data); // compiles the plan (pipelines, bind groups, recording)
    const compileMs = performance.now() - t0;
    t0 = performance.now();
    await executor.trainEpoch(data, epochOptions);
    const warmupS = (performance.now() - t0) / 1000;
    const perRep: number[] = [];
    let last = { loss: NaN, accuracy: NaN };
    for (let r = 0; r < reps; r++) {
      t0 = performance.now();
      for (let e = 0; e < epochs; e++) {
        const logs = await executor.trainEpoch(data, { ...epochOptions, shuffle: 2 + r * epochs + e });
        last = { loss: logs.loss, accuracy: logs.metrics.accuracy ?? NaN };
      }
      perRep.push((rows * epochs) / ((performance.now() - t0) / 1000));
    }
    const samplesPerS = median(perRep);

    // Host encoding: the same full-batch plan the epochs ran, n steps into one encoder. The
    // encoded steps must run before the next measurement (on a CPU adapter the GPU work would
    // compete with the host for the cores), so n is kept small.
    const plan = executor.plan('train', batch, data);
    const encodeSteps = Math.max(1, Math.min(16, Math.floor(rows / batch)));
    const encodeTimes: number[] = [];
    const submitTimes: number[] = [];
    // Each measurement starts the batch cursor at row 0, so the steps gather real rows.
    const rewind = (): void => executor.resetCursor();
    for (let r = 0; r < 5; r++) {
      rewind();
      await engine.flush();
      t0 = performance.now();
      plan.encode(encodeSteps);
      const t1 = performance.now();
      engine.submitPending();
      const t2 = performance.now();
      encodeTimes.push(t1 - t0);
      submitTimes.push(t2 - t0);
      await engine.flush();
    }
    // The fastest of the measurements: with other processes on the cores, noise only adds.
    const encodeUsPerStep = (Math.min(...encodeTimes) * 1000) / encodeSteps;
    const encodeSubmitUsPerStep = (Math.min(...submitTimes) * 1000) / encodeSteps;

    let profile: BatchResult['profile'];
    if (withProfile && hasTimestamps) {
      // One step per profile; the median of each dispatch's time over three profiled steps.
      const runs: { dispatches: DispatchTiming[]; totalMs: number }[] = [];
      for (let r = 0; r < 3; r++) {
        rewind();
        runs.push(await plan.profile());
      }
      const first = runs[0]?.dispatches ?? [];
      const dispatches = first.map((d, i) => ({
        label: d.label,
        ms: median(runs.map((p) => p.dispatches[i]?.ms ?? NaN)),
      }));
      profile = { dispatches, totalMs: dispatches.reduce((s, d) => s + d.ms, 0) };
    }

    const result: BatchResult = {
      batch,
      stepsPerEpoch: Math.ceil(rows / batch),
      samplesPerS,
      samplesPerSAll: perRep,
      msPerStep: (batch / samplesPerS) * 1000,
      gflops: (samplesPerS * TRAIN_FLOP_PER_SAMPLE) / 1e9,
      compileMs,
      warmupS,
      encodeUsPerStep,
      encodeSubmitUsPerStep,
      encodeSteps,
      stats: plan.stats(),
      loss: last.loss,
      accuracy: last.accuracy,
      ...(profile ? { profile } : {}),
    };
    results.push(result);
    console.log(
      `batch ${batch}: ${samplesPerS.toFixed(0)} samples/s (reps ${perRep.map((s) => s.toFixed(0)).join(', ')}), ` +
        `encode ${encodeTimes.map((ms) => ((ms * 1000) / encodeSteps).toFixed(0)).join('/')} µs/step, ` +
        `with submit ${submitTimes.map((ms) => ((ms * 1000) / encodeSteps).toFixed(0)).join('/')}, plan ${compileMs.toFixed(0)} ms, warm-up epoch ${warmupS.toFixed(1)} s`,
    );
  } finally {
    executor.dispose();
  }
}
data.dispose();

// ------------------------------------------------------------------ report

const fmt = (x: number, digits = 0): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (bytes: number): string => fmt(bytes / 2 ** 20, 2);

const command = `npm run bench:step -- ${args.join(' ')}`.trim();
const loadAfter = loadavg()[0] ?? NaN;
const lines: string[] = [
  `### Training step, MLP 784-512-512-10 — Node ${process.version}, Dawn — ${engine.adapter.name}`,
  '',
  `\`${command}\`, ${new Date().toISOString().slice(0, 10)}. Adam (lr 1e-3), sparse categorical ` +
    `cross-entropy + accuracy; ${fmt(rows)} synthetic MNIST-shaped rows (784 random u8 pixels ×1/255, ` +
    `class ids 0..9) resident on the GPU, shuffled each epoch; ${stepsPerSubmit} steps per submit. ` +
    `Per batch size: one warm-up epoch (it compiles the plans), then the median of ${reps} repetitions ` +
    `of ${epochs} timed epoch(s) of \`executor.trainEpoch\`, each ending with the epoch's loss readback ` +
    `(so the time covers the GPU work). plan() ms: host time of compiling the step; the warm-up epoch ` +
    `includes any pipeline compilation the driver defers to first use. GFLOP/s counts the 9 matmuls of a step ` +
    `(${fmt(TRAIN_FLOP_PER_SAMPLE / 1e6, 2)} MFLOP per sample). Host: ${cpus().length} cores, 1-minute load ` +
    `average ${fmt(loadBefore, 1)} at the start and ${fmt(loadAfter, 1)} at the end (a software adapter shares ` +
    `the cores with everything else running).`,
  '',
  `The default size (2,048 rows, 1 timed epoch, 5 repetitions) keeps a run to about 2 minutes on a ` +
    `2-core machine's software adapter; it leaves only 2 steps per epoch at batch 1024, so on a real GPU ` +
    `use more rows or epochs (e.g. \`--rows 60000 --epochs 3\`).`,
  '',
  table(
    [
      'batch',
      'steps/epoch',
      'samples/s',
      'ms/step',
      'GFLOP/s',
      'loss',
      'accuracy',
      'plan() ms',
      'warm-up epoch s',
    ],
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    results.map((r) => [
      String(r.batch),
      String(r.stepsPerEpoch),
      fmt(r.samplesPerS),
      fmt(r.msPerStep, 1),
      fmt(r.gflops, 2),
      fmt(r.loss, 3),
      fmt(r.accuracy, 3),
      fmt(r.compileMs),
      fmt(r.warmupS, 1),
    ]),
  ),
  '',
  `Samples/s of each repetition: ${results.map((r) => `batch ${r.batch}: ${r.samplesPerSAll.map((s) => fmt(s)).join(', ')}`).join('; ')}. ` +
    `Loss and accuracy are the last timed epoch's, on random labels (ln 10 ≈ 2.303 and 0.1 at chance; ` +
    `a small dataset is partly memorised).`,
  '',
  `Host cost and memory of the compiled step (\`executor.plan('train', batch, data)\`). Encode: host µs per ` +
    `step of \`plan.encode(n)\` (n = ${results.map((r) => r.encodeSteps).join('/')} steps replayed into one ` +
    `command encoder; the fastest of 5, as other processes only add time), without and with the \`engine.submitPending()\` that submits them; ` +
    `GPU time not included. Buffers and MiB from \`plan.stats()\`: the plan's own buffers (shared ` +
    `temporaries, kernel uniforms and scratch); resident adds the model's arenas, optimizer state and ` +
    `snapshots, and the dataset.`,
  '',
  table(
    [
      'batch',
      'encode µs/step',
      'encode + submit µs/step',
      'dispatches/step',
      'plan buffers',
      'plan MiB',
      'unshared temps MiB',
      'resident MiB',
    ],
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    results.map((r) => [
      String(r.batch),
      fmt(r.encodeUsPerStep, 1),
      fmt(r.encodeSubmitUsPerStep, 1),
      String(r.stats.dispatchesPerStep),
      String(r.stats.buffers),
      mib(r.stats.bytes),
      mib(r.stats.unsharedTempBytes),
      mib(r.stats.residentBytes),
    ]),
  ),
];

const profiled = results.filter((r) => r.profile);
/** Shares of the matmuls (forward and backward), the optimizer and everything else. */
function groupShares(p: { dispatches: DispatchTiming[]; totalMs: number }): string {
  const group = (label: string): string =>
    /_(NN|NT|TN)[_ ]/.test(label) ? 'matmuls' : label.startsWith('optim') ? 'optimizer' : 'other kernels';
  const sums = new Map<string, number>([
    ['matmuls', 0],
    ['optimizer', 0],
    ['other kernels', 0],
  ]);
  for (const d of p.dispatches) sums.set(group(d.label), (sums.get(group(d.label)) ?? 0) + d.ms);
  const parts = [...sums].map(([k, ms]) => `${k} ${fmt((100 * ms) / (p.totalMs || 1), 1)}%`);
  return `By kind: ${parts.join(', ')}.`;
}
/** The smallest non-zero reading: timestamps of some adapters come in coarse steps. */
const quantumMs = Math.min(
  ...profiled.flatMap((r) => (r.profile?.dispatches ?? []).map((d) => d.ms).filter((ms) => ms > 0)),
);
if (!withProfile) {
  lines.push('', 'Per-dispatch profile: not run (--no-profile).');
} else if (!hasTimestamps) {
  lines.push(
    '',
    `Per-dispatch profile: unavailable, the device has no 'timestamp-query' feature ` +
      `(not offered by "${engine.adapter.name}" through this Dawn build).`,
  );
}
for (const r of profiled) {
  const p = r.profile as { dispatches: DispatchTiming[]; totalMs: number };
  lines.push(
    '',
    `GPU time per dispatch of one training step at batch ${r.batch} (\`plan.profile()\`; per dispatch the ` +
      `median of 3 profiled steps; each dispatch runs in its own compute pass with begin/end timestamps, so the ` +
      `total, ${fmt(p.totalMs, 2)} ms, need not match ms/step above). ${groupShares(p)}`,
    '',
    table(
      ['#', 'dispatch', 'GPU ms', 'share'],
      ['r', 'l', 'r', 'r'],
      p.dispatches.map((d, i) => [
        String(i + 1),
        d.label,
        fmt(d.ms, 3),
        `${fmt((100 * d.ms) / (p.totalMs || 1), 1)}%`,
      ]),
    ),
  );
}
if (profiled.length > 0 && Number.isFinite(quantumMs)) {
  lines.push(
    '',
    `The smallest non-zero dispatch time read was ${fmt(quantumMs * 1000, 1)} µs: shorter kernels can read ` +
      `0 or one such step on this adapter.`,
  );
}
const report = lines.join('\n');
console.log(`\n${report}`);

const json = value('--json');
if (json) {
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(
    json,
    JSON.stringify({ adapter: engine.adapter, rows, epochs, reps, stepsPerSubmit, results }, null, 2),
  );
}
if (args.includes('--write-results')) writeResultsSection('bench:step:node', report);
engine.dispose();
