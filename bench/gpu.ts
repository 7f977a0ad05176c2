/**
 * npm run bench:gpu — everything a lent GPU machine is for, in one call (issue 21): stage by
 * stage, each written to --json FILE as soon as it ends (a stage that fails is recorded and
 * the next one runs), so a run cut short still brings back what it measured.
 *
 *   adapter   what the adapter says: name, device, features, limits, the kernel profile the
 *             engine chose, and the f32 peak of a GPU we know (bench/train/report.ts)
 *   gaps      the cost of a dispatch: tiny dispatches that depend on each other (one buffer)
 *             and that do not (a buffer each), replayed in one compute pass; and the
 *             round trip of one submit
 *   matmul    our products against TF.js's tf.matMul (NN, NT, TN squares; the seed MLP's
 *             products at each batch size), ours with the profile's tiles, with the default
 *             ones (64×64, never split) and tuned (each product's candidates timed:
 *             src/kernels/tune.ts), GPU-timestamp GFLOP/s and % of the f32 peak
 *   train     fit() samples/s against TF.js (the seed MLP and the 20-layer deep one)
 *   step      the compiled step of the seed MLP: host µs to encode a step, dispatches, and
 *             the GPU time of each of its kernels
 *
 *   npm run bench:gpu -- [--quick] [--json FILE] [--stages gaps,matmul,train,step]
 *                        [--software|--hardware] [--kernels PROFILE]
 *
 * --quick: small sizes that run every stage on a software adapter in about a minute (a test
 * runs it: bench/gpu.test.ts). On the GPU machine: `npm run bench:bundle`, then
 * ../shared/gpu/pack.sh dist/bench/bench-gpu.mjs, then (device tool, carry [".gpu"])
 * `bash .gpu/run.sh bench-gpu.mjs --hardware --json $OUT/gpu.json`; back here,
 * `npm run bench -- --report gpu.json [--write-results]`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import type { Engine } from '../src/gpu/engine.js';
import { KERNEL_PROFILES, type KernelProfileName } from '../src/gpu/profile.js';
import { encodeAdvanceCursor } from '../src/kernels/gather.js';
import { matmulKernelFor, matmulTiling, type MatmulTiling } from '../src/kernels/matmul.js';
import { matmulTuneKey, tuneMatmul } from '../src/kernels/tune.js';
import { adapterFromArgs } from '../src/node/cli.js';
import { initEngine } from '../src/node/index.js';
import { benchArgs } from './args.js';
import { GPU_STAGES, type GapResult, type GpuBenchRun, type GpuStage } from './gpu-report.js';
import { matmulCases, runMatmulBench } from './matmul-core.js';
import { measureStep, stepData } from './step-core.js';
import { loadTfjs } from './tfjs-node.js';
import { runTrainBench, type BenchEnv, type BenchRun } from './train/core.js';
import { peakOf } from './train/report.js';
import { defaultOptions, type BenchOptions } from './train/scenarios.js';

const { args, value } = benchArgs();
const quick = args.includes('--quick');
const json = value('--json');
const stages = (value('--stages') ?? GPU_STAGES.join(',')).split(',');
for (const s of stages) {
  if (!(GPU_STAGES as readonly string[]).includes(s)) {
    console.error(`--stages: unknown stage '${s}'; stages: ${GPU_STAGES.join(', ')}`);
    process.exit(2);
  }
}
const kernels = value('--kernels') ?? 'auto';
if (kernels !== 'auto' && !(KERNEL_PROFILES as readonly string[]).includes(kernels)) {
  console.error(`--kernels: '${kernels}' is not auto or one of ${KERNEL_PROFILES.join(', ')}`);
  process.exit(2);
}

/** Sizes: the full run fits the GPU machine's 10-minute call; --quick fits a test here. */
const SIZES = quick
  ? { squares: [128], mlpBatches: [32], trainBatches: [32], rows: 256, reps: 1, minMs: 40, stepBatches: [32] }
  : {
      squares: [1024, 4096],
      mlpBatches: [32, 128, 1024, 4096],
      trainBatches: [32, 128, 1024, 4096],
      rows: 16384,
      reps: 3,
      minMs: 200,
      stepBatches: [128, 1024],
    };

const choice = adapterFromArgs(args);
const engine = await initEngine({ adapter: choice, kernels: kernels as KernelProfileName | 'auto' });
const invoked = /\.mjs$/.test(process.argv[1] ?? '') ? 'node bench-gpu.mjs' : 'npm run bench:gpu --';
const run: GpuBenchRun = {
  kind: 'bench:gpu',
  version: 1,
  command: `${invoked} ${args.join(' ')}`.trim(),
  date: new Date().toISOString().slice(0, 10),
  quick,
  runtime: `Node ${process.version}, Dawn`,
  versions: { Node: process.version, 'webgpu (Dawn for Node)': dawnVersion() },
  host: { cores: cpus().length, loadBefore: loadavg()[0] ?? NaN },
  adapter: engine.adapter,
  profile: engine.profile,
  features: [...engine.features].sort(),
  limits: { ...engine.limits },
  ...(peakOf(engine.adapter) ? { peak: peakOf(engine.adapter) } : {}),
  stages: {},
  seconds: {},
  errors: {},
  complete: false,
};
save();

if (stages.includes('gaps')) await stage('gaps', async () => (run.stages.gaps = await gapProbe(engine)));

const needTf = stages.includes('matmul') || stages.includes('train');
const tfjs = needTf ? await loadTfjs(choice) : undefined;
if (tfjs) run.tfjs = { version: tfjs.tf.version_core, adapter: tfjs.adapterName };

if (stages.includes('matmul') && tfjs) {
  await stage('matmul', async () => {
    const cases = matmulCases(Math.max(...SIZES.squares), SIZES.mlpBatches).filter(
      (c) => c.group === 'mlp' || SIZES.squares.includes(c.m),
    );
    const log = (l: string): void => console.log(l);
    const profiled = await runMatmulBench(engine, tfjs.tf, cases, { minMs: SIZES.minMs, log, gpuTime: true });
    // The tiled kernel's choices without a profile on this device (64×64 tiles, k-step 8, never
    // split: the cpu profile's but for its weight-gradient tiles; products of at most 8 rows
    // keep the engine's thin kernel): what the profile changes.
    const cpuTiles = await runMatmulBench(engine, tfjs.tf, cases, {
      minMs: SIZES.minMs,
      log,
      gpuTime: true,
      tiling: (spec) => (matmulKernelFor(spec) === 'tiled' ? matmulTiling(spec) : undefined),
    });
    // Tuned: each product's candidates timed (src/kernels/tune.ts), the winner run like the rest.
    const tuned = new Map<string, MatmulTiling>();
    for (const c of cases) {
      const spec = { m: c.m, n: c.n, k: c.k, transA: c.transA, transB: c.transB };
      tuned.set(matmulTuneKey(spec), (await tuneMatmul(engine, spec)).chosen);
    }
    const tunedRows = await runMatmulBench(engine, tfjs.tf, cases, {
      minMs: SIZES.minMs,
      log,
      gpuTime: true,
      tiling: (spec) =>
        matmulKernelFor(spec, engine.profile) === 'tiled' ? tuned.get(matmulTuneKey(spec)) : undefined,
    });
    run.stages.matmul = { profiled, cpuTiles, tuned: tunedRows };
  });
}

if (stages.includes('train') && tfjs) {
  await stage('train', async () => {
    const base: BenchOptions = {
      ...defaultOptions(!engine.adapter.isFallback),
      rows: SIZES.rows,
      reps: SIZES.reps,
      predictMs: 200,
    };
    const env: BenchEnv = {
      runtime: run.runtime,
      versions: run.versions,
      log: (l) => console.log(l),
      tf: tfjs.tf,
      tfl: tfjs.tfl,
    };
    // The seed MLP at every batch size, then the deep model at each (one scenario a run).
    let merged: BenchRun | undefined;
    const batches = SIZES.trainBatches.filter((b) => b <= SIZES.rows);
    const parts: BenchOptions[] = [
      { ...base, groups: ['mlp'], batches },
      ...batches.map((b): BenchOptions => ({ ...base, groups: ['deep'], deepBatch: b })),
    ];
    for (const options of parts) {
      const part = await runTrainBench(options, { ...env, onScenario: () => undefined });
      merged = merged ? { ...merged, results: [...merged.results, ...part.results] } : part;
      run.stages.train = merged;
      save();
    }
  });
}

if (stages.includes('step')) {
  await stage('step', async () => {
    const rows = Math.max(SIZES.rows, ...SIZES.stepBatches);
    const data = stepData(engine, rows);
    try {
      run.stages.step = [];
      for (const batch of SIZES.stepBatches) {
        const o = { rows, epochs: 1, reps: SIZES.reps, stepsPerSubmit: 32, withProfile: true };
        run.stages.step.push(await measureStep(engine, data, batch, o, (l) => console.log(l)));
        save();
      }
    } finally {
      data.dispose();
    }
  });
}

run.host.loadAfter = loadavg()[0] ?? NaN;
run.complete = true;
save();
console.log(`bench:gpu: ${Object.keys(run.stages).join(', ')} done${json ? `; ${json}` : ''}`);
const failed = Object.keys(run.errors);
if (failed.length) console.error(`bench:gpu: stages that failed: ${failed.join(', ')}`);
engine.dispose();
process.exit(failed.length ? 1 : 0); // TF.js keeps its device alive

// ------------------------------------------------------------------ helpers

/** Runs one stage: its seconds and any error recorded, the JSON written after it. */
async function stage(name: GpuStage, fn: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  console.log(`bench:gpu: stage ${name}`);
  try {
    await fn();
  } catch (e) {
    run.errors[name] = e instanceof Error ? (e.stack ?? e.message) : String(e);
    console.error(`bench:gpu: stage ${name} failed: ${run.errors[name]}`);
  }
  run.seconds[name] = (performance.now() - t0) / 1000;
  save();
}

function save(): void {
  if (!json) return;
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify(run, null, 2));
}

function dawnVersion(): string {
  try {
    return (createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Wall µs per dispatch of `n` one-thread dispatches replayed in one pass: dependent ones all
 * add to one word (each waits for the previous), independent ones to a word each; and the
 * round trip of one dispatch submitted alone (submit, wait for the GPU).
 */
async function gapProbe(e: Engine): Promise<GapResult> {
  const n = quick ? 64 : 512;
  const reps = quick ? 2 : 20;
  const words = Array.from({ length: n }, (_, i) =>
    e.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: `gap word ${i}` }),
  );
  const first = words[0];
  if (!first) throw new Error('no gap words');
  const dependent = e.record('gaps dependent', () => {
    for (let i = 0; i < n; i++) encodeAdvanceCursor(e, first, 1);
  });
  const independent = e.record('gaps independent', () => {
    for (const w of words) encodeAdvanceCursor(e, w, 1);
  });
  const single = e.record('gaps single', () => encodeAdvanceCursor(e, first, 1));
  const perDispatch = async (rec: typeof dependent, count: number): Promise<number> => {
    e.replay(rec);
    await e.flush(); // warm
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      e.replay(rec, reps);
      await e.flush();
      times.push(((performance.now() - t0) * 1000) / (reps * count));
    }
    return Math.min(...times);
  };
  try {
    const dependentUs = await perDispatch(dependent, n);
    const independentUs = await perDispatch(independent, n);
    const roundTrips: number[] = [];
    for (let r = 0; r < (quick ? 5 : 50); r++) {
      const t0 = performance.now();
      e.replay(single);
      await e.flush();
      roundTrips.push((performance.now() - t0) * 1000);
    }
    roundTrips.sort((a, b) => a - b);
    return {
      dispatches: n,
      reps,
      dependentUs,
      independentUs,
      submitRoundTripUs: roundTrips[Math.floor(roundTrips.length / 2)] ?? NaN,
    };
  } finally {
    for (const rec of [dependent, independent, single]) rec.release();
    for (const w of words) e.releaseBuffer(w);
  }
}
