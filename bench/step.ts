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
import { adapterFromArgs } from '../src/node/cli.js';
import { initEngine } from '../src/node/index.js';
import { writeResultsSection } from './results.js';
import { table } from './train/report.js';
import { benchArgs } from './args.js';
import { measureStep, stepData, TRAIN_FLOP_PER_SAMPLE, type BatchResult } from './step-core.js';

const { args, value, positiveInt, intList } = benchArgs();
const batches = intList('--batches', '32,128,1024');
const rows = positiveInt('--rows', 2048);
const epochs = positiveInt('--epochs', 1);
const reps = positiveInt('--reps', 5);
const stepsPerSubmit = positiveInt('--steps-per-submit', 32);
const withProfile = !args.includes('--no-profile');

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

const data = stepData(engine, rows);
const results: BatchResult[] = [];

for (const batch of batches) {
  if (batch > rows) {
    console.log(`batch ${batch}: skipped (more than the ${rows} rows)`);
    continue;
  }
  results.push(
    await measureStep(engine, data, batch, { rows, epochs, reps, stepsPerSubmit, withProfile }, console.log),
  );
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
