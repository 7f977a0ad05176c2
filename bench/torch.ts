/**
 * npm run bench:torch — the PyTorch-style front-end's training loop against our Keras-style
 * fit and against TF.js 4.22's WebGPU backend driven by a hand-written loop, on the same
 * adapter, in the same process, with the same model, the same initial weights and the same
 * data, for the same number of epochs.
 *
 * The three ways to train:
 *   (a) torch: the deck's loop as a PyTorch user writes it (deck 003):
 *         for epoch … for (i = 0; i < N; i += bs) {
 *           Xbatch = X.slice(i, i + bs); yPred = model(Xbatch); ybatch = y.slice(i, i + bs);
 *           loss = lossFn(yPred, ybatch); optimizer.zeroGrad(); loss.backward(); optimizer.step();
 *         }
 *       with X and y GPU tensors made once, nothing read inside the loop, and one
 *       `await loss.item()` after the timed epochs so the time covers the GPU work. The
 *       tracer (src/torch/trace.ts) compiles the repeating iteration and replays it.
 *   (b) fit: `sequential` with the same layers, compile(Adam 1e-3, binaryCrossentropy),
 *       `fit(data, undefined, { epochs, batchSize, shuffle: false, verbose: 0 })` on a GpuData
 *       uploaded once (fit reads the loss back at each epoch's end).
 *   (c) TF.js: tf.variable weights, tf.train.adam(0.001), per batch tf.slice of tensors made
 *       once, `tf.variableGrads` and `optimizer.applyGradients` inside a tf.tidy; after the
 *       timed epochs `await value.data()` of the last loss.
 *
 * Models: 'deck', the course's Pima model 8 → 12 → 8 → 1 (ReLU, ReLU, Sigmoid) on 768
 * synthetic Pima-like rows (8 features ~ N(0, 1), label = x·coef + 0.5·noise > 0, as
 * test/fixtures/make_torch.py), batches 10 (the deck's) and 128; 'mlp', 784 → 256 → 256 → 1
 * (ReLU, ReLU, Sigmoid) on 4096 rows of uniform [0, 1) features with random 0/1 labels,
 * batches 128 and 1024. BCE and Adam (lr 1e-3) everywhere; no shuffling. The initial weights
 * are the torch model's (nn.Linear's initialisation, seeded), copied into the other two.
 *
 * Per model × batch: warm-up epochs for each method (1, or 2 when the last batch is smaller:
 * the tracer compiles that batch's iteration at its second occurrence), then `reps`
 * repetitions of E timed epochs of each method, the order of the methods rotating from one
 * repetition to the next; the median samples/s of each. For (a) also, per timed iteration:
 * the engine's dispatches, submits, buffers, bind groups and pipelines created and readbacks
 * (engine.stats() deltas over the timed repetitions), the tracer's replayed and eager
 * iterations, and the host time of the loop (the epochs without the final item(), per
 * iteration) against the wait at the final item().
 *
 *   npm run bench:torch -- [--software|--hardware] [--models deck,mlp] [--batches 10,128]
 *                          [--mlp-batches 128,1024] [--deck-epochs 5,20] [--mlp-epochs 1]
 *                          [--reps 3] [--json FILE]
 *
 * --batches sets the deck's batch sizes, --mlp-batches the mlp's; --deck-epochs and
 * --mlp-epochs the timed epochs E of a repetition for each of those batch sizes in order (the
 * last value repeats). The defaults keep a run to about 2½ minutes on a 2-core machine's
 * software adapter, where TF.js's loop (~25 ms per iteration whatever the batch) takes most
 * of it; ours then run ~0.1–1.5 s per repetition, so on a real GPU raise E.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import type { EngineCounters } from '../src/gpu/capabilities.js';
import { GpuData } from '../src/graph/dataset.js';
import { sequential, type LayersModel } from '../src/model/model.js';
import { layers } from '../src/nn/layers/index.js';
import { optimizers } from '../src/nn/optimizers.js';
import { adapterFromArgs } from '../src/node/cli.js';
import { initEngine } from '../src/node/index.js';
import {
  fromValues,
  manualSeed,
  nn,
  optim,
  tracerOf,
  type Tensor,
  type TraceStats,
} from '../src/torch/index.js';
import { rng } from '../kernels-test/harness.js';
import { loadTfjs } from './tfjs-node.js';
import { median } from './train/core.js';
import { table } from './train/report.js';
import { benchArgs } from './args.js';

// ------------------------------------------------------------------ options

const { args, value, positiveInt, intList } = benchArgs();

type ModelId = 'deck' | 'mlp';
const models = (value('--models') ?? 'deck,mlp').split(',').map((s) => {
  if (s !== 'deck' && s !== 'mlp') throw new RangeError(`--models: "${s}" is not deck or mlp`);
  return s;
});
const reps = positiveInt('--reps', 3);

interface ModelSpec {
  id: ModelId;
  title: string;
  /** Layer widths, input first. */
  sizes: readonly number[];
  rows: number;
  batches: number[];
  /** Timed epochs per repetition, per batch size (the last repeats). */
  epochs: number[];
  data(): { x: Float32Array; y: Float32Array };
}

/** Standard normal values from a seeded uniform source (Box–Muller). */
function normals(r: () => number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - r();
    const v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

const COEF = [0.8, -0.5, 0.3, 0.0, 1.2, -0.7, 0.4, 0.25];

const SPECS: Record<ModelId, ModelSpec> = {
  deck: {
    id: 'deck',
    title: "the deck's Pima model 8-12-8-1",
    sizes: [8, 12, 8, 1],
    rows: 768,
    batches: intList('--batches', '10,128'),
    epochs: intList('--deck-epochs', '5,20'),
    data() {
      const r = rng(3);
      const rows = 768;
      const x = Float32Array.from(normals(r, rows * 8));
      const noise = normals(r, rows);
      const y = new Float32Array(rows);
      for (let i = 0; i < rows; i++) {
        let s = 0.5 * (noise[i] as number);
        for (let j = 0; j < 8; j++) s += (x[i * 8 + j] as number) * (COEF[j] as number);
        y[i] = s > 0 ? 1 : 0; // sigmoid(s) > 0.5
      }
      return { x, y };
    },
  },
  mlp: {
    id: 'mlp',
    title: 'MLP 784-256-256-1',
    sizes: [784, 256, 256, 1],
    rows: 4096,
    batches: intList('--mlp-batches', '128,1024'),
    epochs: intList('--mlp-epochs', '1'),
    data() {
      const r = rng(5);
      const x = new Float32Array(4096 * 784);
      for (let i = 0; i < x.length; i++) x[i] = r();
      const y = Float32Array.from({ length: 4096 }, () => (r() < 0.5 ? 1 : 0));
      return { x, y };
    },
  },
};

// ------------------------------------------------------------------ engines

const choice = adapterFromArgs(args);
const loadBefore = loadavg()[0] ?? NaN;
const engine = await initEngine({ adapter: choice, log: false });
const { tf, adapterName: tfAdapter } = await loadTfjs(choice);
const tracer = tracerOf(engine);
console.log(
  `ours on "${engine.adapter.name}" (device "${engine.adapter.device}"); TF.js ${tf.version_core} ` +
    `(${tf.getBackend()}) on "${tfAdapter}"; ${reps} repetitions`,
);

// ------------------------------------------------------------------ one model × batch

type Method = 'torch' | 'fit' | 'tfjs';
const METHODS: readonly Method[] = ['torch', 'fit', 'tfjs'];

interface Run {
  seconds: number;
  loss: number;
}

interface TorchDetail {
  /** Per timed iteration (engine.stats() deltas / iterations). */
  dispatches: number;
  submits: number;
  buffersCreated: number;
  bindGroups: number;
  pipelines: number;
  readbacks: number;
  /** Tracer iterations over the timed repetitions. */
  replayed: number;
  eager: number;
  compiles: number;
  divergences: number;
  /** Median host µs per iteration of the loop without the final item(), and ms waited at it. */
  hostUsPerIteration: number;
  syncWaitMs: number;
}

interface CellResult {
  model: ModelId;
  batch: number;
  rows: number;
  epochs: number;
  warmupEpochs: number;
  iterationsPerEpoch: number;
  /** Samples/s: the median, and every repetition. */
  samplesPerS: Record<Method, number>;
  all: Record<Method, number[]>;
  warmupS: Record<Method, number>;
  /** Loss at the end of the warm-up (torch and TF.js: the last batch's; fit: the last epoch's mean). */
  warmupLoss: Record<Method, number>;
  /** Loss of the last batch of the last timed epoch (fit: its last epoch's mean loss). */
  loss: Record<Method, number>;
  torchOverFit: number;
  torchOverTfjs: number;
  torch: TorchDetail;
  /** fit's engine counts per training step over the timed repetitions. */
  fit: { dispatches: number; submits: number; readbacks: number };
  /** TF.js tensors alive after the cell minus before (0: nothing leaked). */
  tfjsTensorGrowth: number;
}

const counterKeys = [
  'dispatches',
  'submits',
  'buffersCreated',
  'bindGroups',
  'pipelines',
  'readbacks',
] as const;
type Counts = Record<(typeof counterKeys)[number], number>;
const zeroCounts = (): Counts => ({
  dispatches: 0,
  submits: 0,
  buffersCreated: 0,
  bindGroups: 0,
  pipelines: 0,
  readbacks: 0,
});
const addDelta = (acc: Counts, a: EngineCounters, b: EngineCounters): void => {
  for (const k of counterKeys) acc[k] += b[k] - a[k];
};

/** The deck's Sequential, with the given widths. */
function torchModel(sizes: readonly number[]): nn.Sequential {
  const mods: nn.Module[] = [];
  for (let i = 1; i < sizes.length; i++) {
    mods.push(new nn.Linear(sizes[i - 1] as number, sizes[i]));
    mods.push(i === sizes.length - 1 ? new nn.Sigmoid() : new nn.ReLU());
  }
  return new nn.Sequential(...mods);
}

/** [out, in] row-major → [in, out] row-major (torch's Linear weight → a Dense kernel). */
function transpose(w: Float32Array, out: number, inp: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) t[i * out + o] = w[o * inp + i] as number;
  return t;
}

async function runCell(
  spec: ModelSpec,
  batch: number,
  X: Tensor,
  y: Tensor,
  data: GpuData,
  tfX: tfc.Tensor2D,
  tfY: tfc.Tensor2D,
): Promise<CellResult> {
  const { sizes, rows } = spec;
  const at = spec.batches.indexOf(batch);
  const epochs = (spec.epochs[Math.min(at, spec.epochs.length - 1)] ?? spec.epochs[0]) as number;
  const features = sizes[0] as number;
  const iterationsPerEpoch = Math.ceil(rows / batch);
  const warmupEpochs = rows % batch === 0 ? 1 : 2;
  const tfTensorsBefore = tf.memory().numTensors;

  // (a) the torch model; its initial weights are the others' too.
  tracer.reset();
  manualSeed(1);
  const model = torchModel(sizes);
  const linears = model.children().filter((m): m is nn.Linear => m instanceof nn.Linear);
  const kernels: Float32Array[] = [];
  const biases: Float32Array[] = [];
  for (const l of linears) {
    kernels.push(transpose((await l.weight.data()) as Float32Array, l.outFeatures, l.inFeatures));
    biases.push((await (l.bias as Tensor).data()) as Float32Array);
  }
  const lossFn = new nn.BCELoss();
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.001 });

  // (b) the Keras-style model.
  const keras: LayersModel = sequential({
    layers: sizes.slice(1).map((units, i) =>
      layers.dense({
        units,
        activation: i === sizes.length - 2 ? 'sigmoid' : 'relu',
        ...(i === 0 ? { inputShape: [features] } : {}),
      }),
    ),
  });
  keras.compile({ optimizer: optimizers.adam({ learningRate: 0.001 }), loss: 'binaryCrossentropy' });
  await keras.setWeights(kernels.flatMap((k, i) => [k, biases[i] as Float32Array]));

  // (c) TF.js variables.
  const vars: tfc.Variable[] = [];
  kernels.forEach((k, i) => {
    // tf.tidy disposes the initial tensors; the variables keep their data.
    vars.push(tf.tidy(() => tf.variable(tf.tensor2d(k, [sizes[i] as number, sizes[i + 1] as number]))));
    vars.push(tf.tidy(() => tf.variable(tf.tensor1d(biases[i] as Float32Array))));
  });
  const tfOptimizer = tf.train.adam(0.001);
  const tfForward = (xb: tfc.Tensor2D): tfc.Tensor => {
    let h: tfc.Tensor = xb;
    for (let l = 0; l < kernels.length; l++) {
      const z = tf.add(tf.matMul(h, vars[2 * l] as tfc.Variable), vars[2 * l + 1] as tfc.Variable);
      h = l === kernels.length - 1 ? tf.sigmoid(z) : tf.relu(z);
    }
    return h;
  };

  const torchEpochs = async (n: number): Promise<Run & { hostS: number }> => {
    const t0 = performance.now();
    let loss: Tensor | undefined;
    for (let epoch = 0; epoch < n; epoch++) {
      for (let i = 0; i < rows; i += batch) {
        const Xbatch = X.slice(i, i + batch);
        const yPred = model(Xbatch);
        const ybatch = y.slice(i, i + batch);
        loss = lossFn(yPred, ybatch);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
      }
    }
    const t1 = performance.now();
    const value = await (loss as Tensor).item();
    return { seconds: (performance.now() - t0) / 1000, hostS: (t1 - t0) / 1000, loss: value };
  };
  const fitEpochs = async (n: number): Promise<Run> => {
    const t0 = performance.now();
    const h = await keras.fit(data, undefined, { epochs: n, batchSize: batch, shuffle: false, verbose: 0 });
    const seconds = (performance.now() - t0) / 1000;
    const l = h.history.loss ?? [];
    return { seconds, loss: Number(l[l.length - 1]) };
  };
  const tfEpochs = async (n: number): Promise<Run> => {
    const t0 = performance.now();
    let last: tfc.Scalar | undefined;
    for (let epoch = 0; epoch < n; epoch++) {
      for (let i = 0; i < rows; i += batch) {
        const size = Math.min(batch, rows - i);
        const value = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const xb = tf.slice(tfX, [i, 0], [size, features]);
            const yb = tf.slice(tfY, [i, 0], [size, 1]);
            return tf.losses.logLoss<tfc.Tensor, tfc.Scalar>(yb, tfForward(xb));
          }, vars);
          tfOptimizer.applyGradients(grads as Parameters<typeof tfOptimizer.applyGradients>[0]);
          return value;
        });
        last?.dispose();
        last = value;
      }
    }
    const v = (await (last as tfc.Scalar).data())[0] as number;
    last?.dispose();
    return { seconds: (performance.now() - t0) / 1000, loss: v };
  };

  // Warm-up: compiles the traced step(s), fit's plans, TF.js's pipelines.
  const warmupS = {} as Record<Method, number>;
  const warmLoss = {} as Record<Method, number>;
  for (const [m, f] of [
    ['torch', torchEpochs],
    ['fit', fitEpochs],
    ['tfjs', tfEpochs],
  ] as const) {
    const r = await f(warmupEpochs);
    warmupS[m] = r.seconds;
    warmLoss[m] = r.loss;
  }

  const all: Record<Method, number[]> = { torch: [], fit: [], tfjs: [] };
  const loss = {} as Record<Method, number>;
  const torchCounts = zeroCounts();
  const fitCounts = zeroCounts();
  const traceDelta: TraceStats = { eagerIterations: 0, replayedIterations: 0, compiles: 0, divergences: 0 };
  const hostUs: number[] = [];
  const waitMs: number[] = [];
  const samples = rows * epochs;
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < METHODS.length; k++) {
      // Rotating, and reversed on odd repetitions: no method always follows the same one.
      const m = METHODS[r % 2 === 0 ? (r + k) % 3 : (r + 3 - k) % 3] as Method;
      const s0 = engine.stats();
      const t0: TraceStats = { ...tracer.stats };
      let run: Run;
      if (m === 'torch') {
        const tr = await torchEpochs(epochs);
        addDelta(torchCounts, s0, engine.stats());
        for (const key of Object.keys(traceDelta) as (keyof TraceStats)[]) {
          traceDelta[key] += tracer.stats[key] - t0[key];
        }
        hostUs.push((tr.hostS * 1e6) / (iterationsPerEpoch * epochs));
        waitMs.push((tr.seconds - tr.hostS) * 1000);
        run = tr;
      } else if (m === 'fit') {
        run = await fitEpochs(epochs);
        addDelta(fitCounts, s0, engine.stats());
      } else {
        run = await tfEpochs(epochs);
      }
      all[m].push(samples / run.seconds);
      loss[m] = run.loss;
    }
  }
  const iterations = iterationsPerEpoch * epochs * reps;
  const samplesPerS = { torch: median(all.torch), fit: median(all.fit), tfjs: median(all.tfjs) };

  // Release: the torch model's parameters and compiled steps, the Keras model, TF.js's state.
  tracer.reset();
  for (const p of model.parameters()) p.dispose();
  await keras.dispose();
  for (const v of vars) v.dispose();
  tfOptimizer.dispose();
  const tfjsTensorGrowth = tf.memory().numTensors - tfTensorsBefore;

  const result: CellResult = {
    model: spec.id,
    batch,
    rows,
    epochs,
    warmupEpochs,
    iterationsPerEpoch,
    samplesPerS,
    all,
    warmupS,
    warmupLoss: warmLoss,
    loss,
    torchOverFit: samplesPerS.torch / samplesPerS.fit,
    torchOverTfjs: samplesPerS.torch / samplesPerS.tfjs,
    torch: {
      dispatches: torchCounts.dispatches / iterations,
      submits: torchCounts.submits / iterations,
      buffersCreated: torchCounts.buffersCreated / iterations,
      bindGroups: torchCounts.bindGroups / iterations,
      pipelines: torchCounts.pipelines / iterations,
      readbacks: torchCounts.readbacks / iterations,
      replayed: traceDelta.replayedIterations,
      eager: traceDelta.eagerIterations,
      compiles: traceDelta.compiles,
      divergences: traceDelta.divergences,
      hostUsPerIteration: median(hostUs),
      syncWaitMs: median(waitMs),
    },
    fit: {
      dispatches: fitCounts.dispatches / iterations,
      submits: fitCounts.submits / iterations,
      readbacks: fitCounts.readbacks / iterations,
    },
    tfjsTensorGrowth,
  };
  const f0 = (x: number): string => x.toFixed(0);
  console.log(
    `${spec.id} batch ${batch}: torch ${f0(samplesPerS.torch)} samples/s (${all.torch.map(f0).join(', ')}), ` +
      `fit ${f0(samplesPerS.fit)} (${all.fit.map(f0).join(', ')}), TF.js ${f0(samplesPerS.tfjs)} ` +
      `(${all.tfjs.map(f0).join(', ')}); warm-up s ${METHODS.map((m) => warmupS[m].toFixed(1)).join('/')}, ` +
      `warm-up losses ${METHODS.map((m) => warmLoss[m].toFixed(4)).join('/')}`,
  );
  return result;
}

// ------------------------------------------------------------------ the run

const results: CellResult[] = [];
for (const id of models) {
  const spec = SPECS[id];
  const host = spec.data();
  const features = spec.sizes[0] as number;
  const X = fromValues(host.x, [spec.rows, features], 'float32');
  const y = fromValues(host.y, [spec.rows, 1], 'float32');
  const data = new GpuData(engine, {
    inputs: [{ data: host.x, width: features }],
    targets: [{ data: host.y, width: 1 }],
    label: `bench:torch ${id}`,
  });
  const tfX = tf.tensor2d(host.x, [spec.rows, features]);
  const tfY = tf.tensor2d(host.y, [spec.rows, 1]);
  try {
    for (const batch of spec.batches) {
      if (batch > spec.rows) {
        console.log(`${id} batch ${batch}: skipped (more than the ${spec.rows} rows)`);
        continue;
      }
      results.push(await runCell(spec, batch, X, y, data, tfX, tfY));
    }
  } finally {
    X.dispose();
    y.dispose();
    data.dispose();
    tfX.dispose();
    tfY.dispose();
  }
}

// ------------------------------------------------------------------ report

const fmt = (x: number, digits = 0): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
const perIt = (x: number): string => (Number.isInteger(x) ? String(x) : fmt(x, 2));
const command = `npm run bench:torch -- ${args.join(' ')}`.trim();
const loadAfter = loadavg()[0] ?? NaN;
const report = [
  `### PyTorch-style loop vs fit vs TF.js custom loop — Node ${process.version}, Dawn — ${engine.adapter.name}`,
  '',
  `\`${command}\`, ${new Date().toISOString().slice(0, 10)}. TF.js ${tf.version_core} (webgpu) on ` +
    `"${tfAdapter}". Same model, initial weights and rows for the three; BCE, Adam lr 1e-3, no shuffling. ` +
    `torch: the deck's loop (X.slice batches of GPU tensors, no item() inside, one item() at the end); ` +
    `fit: sequential + compile + fit on a GpuData; TF.js: tf.variableGrads + applyGradients in a tf.tidy, ` +
    `one data() at the end. Warm-up epochs (not timed) then the median of ${reps} repetitions of E epochs, ` +
    `methods rotating. Host: ${cpus().length} cores, 1-minute load average ${fmt(loadBefore, 1)} at the ` +
    `start and ${fmt(loadAfter, 1)} at the end.`,
  '',
  table(
    [
      'model',
      'batch',
      'it/epoch',
      'E',
      'torch samples/s',
      'fit samples/s',
      'TF.js samples/s',
      'torch/fit',
      'torch/TF.js',
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    results.map((r) => [
      r.model,
      String(r.batch),
      String(r.iterationsPerEpoch),
      String(r.epochs),
      fmt(r.samplesPerS.torch),
      fmt(r.samplesPerS.fit),
      fmt(r.samplesPerS.tfjs),
      `${fmt(r.torchOverFit, 2)}×`,
      `${fmt(r.torchOverTfjs, 2)}×`,
    ]),
  ),
  '',
  `Per timed iteration of the torch loop (engine.stats() deltas over the ${reps} repetitions ÷ iterations; ` +
    `the readbacks are the one item() per repetition), the tracer's replayed/eager iterations over them, ` +
    `the host µs per iteration of the loop without the final item() (median repetition) and the ms then ` +
    `waited at item(); fit's dispatches and submits per step for comparison; the seconds of each ` +
    `method's warm-up epochs (pipelines compiled, the traced step recorded).`,
  '',
  table(
    [
      'model',
      'batch',
      'dispatches',
      'submits',
      'buffers',
      'bind groups',
      'pipelines',
      'readbacks',
      'replayed/eager',
      'host µs/it',
      'wait at item() ms',
      'fit dispatches/step',
      'fit submits/step',
      'warm-up s torch/fit/TF.js',
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    results.map((r) => [
      r.model,
      String(r.batch),
      perIt(r.torch.dispatches),
      perIt(r.torch.submits),
      perIt(r.torch.buffersCreated),
      perIt(r.torch.bindGroups),
      perIt(r.torch.pipelines),
      perIt(r.torch.readbacks),
      `${r.torch.replayed}/${r.torch.eager}`,
      fmt(r.torch.hostUsPerIteration),
      fmt(r.torch.syncWaitMs, 1),
      perIt(r.fit.dispatches),
      perIt(r.fit.submits),
      METHODS.map((m) => fmt(r.warmupS[m], 1)).join(' / '),
    ]),
  ),
  '',
  `Losses at the end of the warm-up and of the last timed repetition, torch / fit / TF.js (torch and ` +
    `TF.js: the last batch's, which agree when the two train the same thing; fit: its last epoch's mean) — ` +
    results
      .map(
        (r) =>
          `${r.model} ${r.batch}: ${METHODS.map((m) => fmt(r.warmupLoss[m], 4)).join(' / ')} → ` +
          METHODS.map((m) => fmt(r.loss[m], 4)).join(' / '),
      )
      .join('; ') +
    `. Samples/s of each repetition (torch | fit | TF.js) — ` +
    results
      .map(
        (r) =>
          `${r.model} ${r.batch}: ${METHODS.map((m) => r.all[m].map((s) => fmt(s)).join(', ')).join(' | ')}`,
      )
      .join('; ') +
    '.',
].join('\n');
console.log(`\n${report}`);

const json = value('--json');
if (json) {
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(
    json,
    JSON.stringify(
      {
        command,
        adapter: engine.adapter,
        tfjs: { version: tf.version_core, adapter: tfAdapter },
        reps,
        results,
      },
      null,
      2,
    ),
  );
}
engine.dispose();
