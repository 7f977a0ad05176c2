/**
 * The training benchmark itself, shared by Node (Dawn), the Chromium page and the GPU build:
 * our Keras-style API against TF.js 4.22 (tfjs-layers on the WebGPU backend), on the same
 * adapter, in the same process, with the same model, the same initial weights and the same
 * data.
 *
 * Method, per scenario:
 *   - the data: `rows` synthetic MNIST-shaped rows (784 uniform values in [0, 1), one-hot
 *     labels of 10 classes), uploaded once for each engine (our GpuData, TF.js tensors), so
 *     neither pays an upload per epoch;
 *   - both models are built, ours is initialised (Glorot-uniform, seeded) and TF.js gets the
 *     same weights; both compile the optimizer (Adam, lr 1e-3, by default; or SGD, lr 0.01),
 *     categorical cross-entropy and accuracy;
 *   - warm-up: one epoch each without shuffling (pipelines compile, pools fill); the two
 *     warm-up losses are reported side by side, and a warning is logged when a model without
 *     dropout ends them more than 1% apart (the two would not be training the same thing);
 *   - timed: `reps` repetitions per engine, alternating (ours first on even repetitions,
 *     TF.js first on odd ones); a repetition is `fit` for `epochs` epochs with shuffling,
 *     which ends when the epoch's loss is on the host (so the time covers the GPU work);
 *     TF.js's fit does not yield to the event loop (yieldEvery 'never'; ours never does);
 *     samples/s of the median repetition, and the range of the ratios of the pairs;
 *   - inference: `predict` with the scenario's batch size on host rows (batch 1: one row per
 *     call, as an app predicting a drawn digit) or on GPU-resident rows (larger batches), read
 *     back each call; two untimed calls each, then calls repeat until a repetition lasts
 *     `predictMs`; the models are not compiled (no optimizer state);
 *   - memory: ours, the engine's peak live GPU bytes during the scenario; TF.js, the peak
 *     bytes of its live tensors during the warm-up (tf.profile); both without the shared
 *     rows, and neither counts the other's pools and staging the same way (see the report);
 *   - ours only: dispatches per step, host µs to encode a step, readbacks per epoch, and the
 *     GPU time of each dispatch of one step with its achieved GFLOP/s or GB/s.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import pkg from '../../package.json' with { type: 'json' };
import type * as tflayers from '@tensorflow/tfjs-layers';
import type { AdapterDescription, Engine } from '../../src/gpu/engine.js';
import { currentEngine } from '../../src/gpu/init.js';
import type { DispatchTiming } from '../../src/gpu/profiler.js';
import { GpuData } from '../../src/graph/dataset.js';
import type { LayersModel } from '../../src/model/model.js';
import { sequential } from '../../src/model/model.js';
import { layers } from '../../src/nn/layers/index.js';
import { optimizers } from '../../src/nn/optimizers.js';
import {
  CLASSES,
  FEATURES,
  flopsPerSample,
  paramCount,
  scenarios,
  type BenchOptions,
  type ModelSpec,
  type Scenario,
} from './scenarios.js';

export interface Timing {
  /** Samples/s of the median repetition, and of each. */
  samplesPerS: number;
  all: number[];
  /** Seconds of the warm-up (first epoch or first calls: includes pipeline compilation). */
  warmupS: number;
  /** Loss of the warm-up epoch (training scenarios). */
  warmupLoss?: number;
  /** Loss of the last timed epoch. */
  loss?: number;
}

export interface ProfiledDispatch extends DispatchTiming {
  flops?: number;
  bytes?: number;
}

export interface OursDetail {
  dispatchesPerStep: number;
  /** Host µs per step of encoding n steps, without and with the submit. */
  encodeUsPerStep: number;
  encodeSubmitUsPerStep: number;
  encodeSteps: number;
  /** GPU→host reads during one timed epoch (training) or one call (inference). */
  readbacksPerEpoch: number;
  /**
   * The engine's largest live GPU bytes during the scenario (model, optimizer state, plans,
   * snapshots, staging, the scenario's own rows), without the rows all scenarios share.
   */
  peakBytes: number;
  /** The compiled step's own buffers' bytes. */
  planBytes: number;
  profile?: { dispatches: ProfiledDispatch[]; totalMs: number };
}

export interface ScenarioResult {
  id: string;
  kind: 'train' | 'predict';
  title: string;
  model: string;
  batch: number;
  params: number;
  /** Matmul FLOPs per sample (see flopsPerSample). */
  flopsPerSample: number;
  ours: Timing & OursDetail;
  /** peakBytes: the most bytes of live tensors during the warm-up, without the shared rows. */
  tfjs?: Timing & { peakBytes?: number };
  /** ours / TF.js samples/s (medians), and the lowest and highest ratio of a repetition pair. */
  ratio?: number;
  ratioRange?: [number, number];
  /** ms of one step in the timed runs (training: batch / median samples/s). */
  stepMs?: number;
}

export interface BenchRun {
  runtime: string;
  adapter: AdapterDescription;
  tfjsVersion: string;
  /** Software versions, e.g. { 'webgpu-mlp': '0.1.0', Node: 'v20.20.2', 'webgpu (Dawn)': '0.6.2' }. */
  versions?: Record<string, string>;
  date: string;
  options: BenchOptions;
  features: string[];
  results: ScenarioResult[];
}

export interface BenchEnv {
  /** tfjs-core with the 'webgpu' backend set, and tfjs-layers (absent with --no-tfjs). */
  tf?: typeof tfc;
  tfl?: typeof tflayers;
  runtime: string;
  /** Versions the driver knows (Node, Dawn, the browser). */
  versions?: Record<string, string>;
  log: (line: string) => void;
  /** Called after each scenario with the run so far (e.g. to save it as it goes). */
  onScenario?: (partial: BenchRun) => void;
}

// ------------------------------------------------------------------ data

function lcg(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface HostData {
  x: Float32Array;
  /** One-hot rows. */
  y: Float32Array;
  rows: number;
}

function syntheticData(rows: number, seed: number): HostData {
  const r = lcg(seed);
  const x = new Float32Array(rows * FEATURES);
  for (let i = 0; i < x.length; i++) x[i] = r();
  const y = new Float32Array(rows * CLASSES);
  for (let i = 0; i < rows; i++) y[i * CLASSES + Math.floor(r() * CLASSES)] = 1;
  return { x, y, rows };
}

// ------------------------------------------------------------------ models

/** Ours, initialised from `seed`; compiled for training unless `optimizer` is undefined (predict). */
function buildOurs(
  m: ModelSpec,
  seed: number,
  optimizer: BenchOptions['optimizer'] | undefined,
): LayersModel {
  const list = [];
  m.hidden.forEach((h, i) => {
    list.push(
      layers.dense({
        units: h.units,
        activation: h.activation,
        kernelInitializer: { className: 'GlorotUniform', config: { seed: seed + i } },
        ...(i === 0 ? { inputShape: [FEATURES] } : {}),
      }),
    );
    if (m.batchNorm) list.push(layers.batchNormalization());
    if (m.dropout > 0) list.push(layers.dropout({ rate: m.dropout, seed: seed + 100 + i }));
  });
  list.push(
    layers.dense({
      units: CLASSES,
      activation: 'softmax',
      kernelInitializer: { className: 'GlorotUniform', config: { seed: seed + 99 } },
    }),
  );
  const model = sequential({ layers: list });
  if (!optimizer) return model;
  model.compile({
    optimizer:
      optimizer === 'adam' ? optimizers.adam({ learningRate: 1e-3 }) : optimizers.sgd({ learningRate: 0.01 }),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}

/** The same architecture in tfjs-layers, with our initial weights copied in. */
async function buildTfjs(
  tf: typeof tfc,
  tfl: typeof tflayers,
  m: ModelSpec,
  ours: LayersModel,
  optimizer: BenchOptions['optimizer'] | undefined,
): Promise<tflayers.LayersModel> {
  const model = tfl.sequential();
  m.hidden.forEach((h, i) => {
    model.add(
      tfl.layers.dense({
        units: h.units,
        activation: h.activation,
        ...(i === 0 ? { inputShape: [FEATURES] } : {}),
      }),
    );
    if (m.batchNorm) model.add(tfl.layers.batchNormalization());
    if (m.dropout > 0) model.add(tfl.layers.dropout({ rate: m.dropout }));
  });
  model.add(tfl.layers.dense({ units: CLASSES, activation: 'softmax' }));
  if (optimizer)
    model.compile({
      optimizer: optimizer === 'adam' ? tf.train.adam(1e-3) : tf.train.sgd(0.01),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
    });
  // Layer by layer (TF.js's model.getWeights() lists trainable weights before the others).
  const groups = new Map<string, { name: string; shape: number[]; data: Float32Array }[]>();
  for (const w of await ours.getWeights()) {
    const layer = w.name.slice(0, w.name.lastIndexOf('/'));
    groups.set(layer, [...(groups.get(layer) ?? []), w]);
  }
  const tfLayers = model.layers.filter((l) => l.getWeights().length > 0);
  if (tfLayers.length !== groups.size) {
    throw new Error(
      `internal: ours has ${groups.size} layers with weights, the TF.js model ${tfLayers.length}`,
    );
  }
  [...groups.values()].forEach((ws, li) => {
    const layer = tfLayers[li] as tflayers.layers.Layer;
    const theirs = layer.getWeights();
    const values = ws.map((w, i) => {
      const shape = theirs[i]?.shape ?? [];
      if (shape.join(',') !== w.shape.join(',')) {
        throw new Error(
          `internal: "${w.name}" is [${w.shape.join(', ')}] here, [${shape.join(', ')}] in TF.js`,
        );
      }
      return tf.tensor(w.data, w.shape);
    });
    layer.setWeights(values); // copies into the layer's variables
    for (const t of values) t.dispose();
  });
  return model;
}

// ------------------------------------------------------------------ timing

/** The median (the mean of the middle two for an even count). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** `reps` repetitions of each engine, alternating which goes first. */
async function alternate(
  reps: number,
  ours: () => Promise<number>,
  theirs: (() => Promise<number>) | undefined,
): Promise<{ ours: number[]; theirs: number[] }> {
  const o: number[] = [];
  const t: number[] = [];
  for (let r = 0; r < reps; r++) {
    if (r % 2 === 0 || !theirs) {
      o.push(await ours());
      if (theirs) t.push(await theirs());
    } else {
      t.push(await theirs());
      o.push(await ours());
    }
  }
  return { ours: o, theirs: t };
}

/** Calls `call` (one batch) until `minMs` have passed; samples/s. */
async function repeatFor(minMs: number, batch: number, call: () => Promise<void>): Promise<number> {
  let calls = 0;
  const t0 = performance.now();
  let ms: number;
  do {
    await call();
    calls++;
    ms = performance.now() - t0;
  } while (ms < minMs);
  return (calls * batch) / (ms / 1000);
}

const lastLoss = (h: { history: Record<string, unknown[]> }): number => {
  const l = h.history.loss ?? [];
  return Number(l[l.length - 1]);
};

/**
 * Runs `fn` under tf.profile and returns the peak bytes of live tensors it saw (all of
 * TF.js's tensors, not only fn's). tf.profile times every kernel with the backend's timer;
 * where that fails, `fn` runs again unprofiled (once: a failure comes at the first kernel)
 * and the peak is unknown.
 */
async function tfPeakBytes(
  tf: typeof tfc,
  env: BenchEnv,
  fn: () => Promise<void>,
): Promise<number | undefined> {
  try {
    const info = await tf.profile(async () => {
      await fn();
      return [];
    });
    return info.peakBytes;
  } catch (e) {
    env.log(`  TF.js memory profile unavailable (${(e as Error).message}); running unprofiled`);
    await fn();
    return undefined;
  }
}

/** Both engines' figures from the timed repetitions. */
function compare(timed: { ours: number[]; theirs: number[] }): Pick<ScenarioResult, 'ratio' | 'ratioRange'> {
  if (timed.theirs.length === 0) return {};
  const pairs = timed.ours.map((o, i) => o / (timed.theirs[i] as number));
  return {
    ratio: median(timed.ours) / median(timed.theirs),
    ratioRange: [Math.min(...pairs), Math.max(...pairs)],
  };
}

// ------------------------------------------------------------------ the run

export async function runTrainBench(options: BenchOptions, env: BenchEnv): Promise<BenchRun> {
  const engine = currentEngine();
  const { tf, tfl: layersApi } = env;
  const withTf = options.tfjs && tf !== undefined && layersApi !== undefined;
  const host = syntheticData(options.rows, options.seed);
  const ourData = new GpuData(engine, {
    inputs: [{ data: host.x, width: FEATURES }],
    targets: [{ data: host.y, width: CLASSES }],
    label: 'bench rows',
  });
  const tfX = withTf ? tf.tensor2d(host.x, [host.rows, FEATURES]) : undefined;
  const tfY = withTf ? tf.tensor2d(host.y, [host.rows, CLASSES]) : undefined;
  const run: BenchRun = {
    runtime: env.runtime,
    adapter: engine.adapter,
    tfjsVersion: withTf ? tf.version_core : 'not run',
    versions: { 'webgpu-mlp': pkg.version, ...env.versions },
    date: new Date().toISOString().slice(0, 10),
    options,
    features: [...engine.features].sort(),
    results: [],
  };
  const shared: Shared = { ours: ourData.bytes, tfjs: host.x.byteLength + host.y.byteLength };
  try {
    for (const s of scenarios(options)) {
      env.log(`${s.id}: ${s.title} (${s.model.name})`);
      const r =
        s.kind === 'train'
          ? await trainScenario(
              s,
              options,
              env,
              engine,
              ourData,
              shared,
              withTf ? { tf, tfl: layersApi, x: tfX as tfc.Tensor2D, y: tfY as tfc.Tensor2D } : undefined,
            )
          : await predictScenario(
              s,
              options,
              env,
              engine,
              host,
              shared,
              withTf ? { tf, tfl: layersApi, x: tfX as tfc.Tensor2D } : undefined,
            );
      run.results.push(r);
      env.log(summaryLine(r));
      env.onScenario?.(run);
    }
  } finally {
    ourData.dispose();
    tfX?.dispose();
    tfY?.dispose();
  }
  return run;
}

export function summaryLine(r: ScenarioResult): string {
  const f = (x: number): string => x.toFixed(0);
  return (
    `  ours ${f(r.ours.samplesPerS)} samples/s (${r.ours.all.map(f).join(', ')})` +
    (r.tfjs
      ? `, TF.js ${f(r.tfjs.samplesPerS)} (${r.tfjs.all.map(f).join(', ')}), ratio ${r.ratio?.toFixed(2)}× ` +
        `(pairs ${r.ratioRange?.map((x) => x.toFixed(2)).join('–')})`
      : '') +
    `; ${r.ours.dispatchesPerStep} dispatches/step, encode ${r.ours.encodeUsPerStep.toFixed(0)} µs/step`
  );
}

interface TfTrain {
  tf: typeof tfc;
  tfl: typeof tflayers;
  x: tfc.Tensor2D;
  y: tfc.Tensor2D;
}

/** Bytes of the rows every scenario shares, left out of both engines' memory figures. */
interface Shared {
  ours: number;
  tfjs: number;
}

async function trainScenario(
  s: Scenario,
  o: BenchOptions,
  env: BenchEnv,
  engine: Engine,
  data: GpuData,
  shared: Shared,
  tfSide: TfTrain | undefined,
): Promise<ScenarioResult> {
  engine.resetPeak();
  const ours = buildOurs(s.model, o.seed, o.optimizer);
  const theirs = tfSide ? await buildTfjs(tfSide.tf, tfSide.tfl, s.model, ours, o.optimizer) : undefined;
  try {
    // Warm-up: one epoch each, no shuffling, from the same weights.
    let t0 = performance.now();
    const oursWarm = lastLoss(
      await ours.fit(data, undefined, { batchSize: s.batch, epochs: 1, shuffle: false, verbose: 0 }),
    );
    const oursWarmS = (performance.now() - t0) / 1000;
    let theirsWarm = NaN;
    let theirsWarmS = NaN;
    let theirsPeak: number | undefined;
    if (theirs && tfSide) {
      t0 = performance.now();
      // tf.profile: the peak of live tensor bytes over the epoch (the warm-up is not timed).
      const peak = await tfPeakBytes(tfSide.tf, env, async () => {
        theirsWarm = lastLoss(
          await theirs.fit(tfSide.x, tfSide.y, {
            batchSize: s.batch,
            epochs: 1,
            shuffle: false,
            yieldEvery: 'never',
          }),
        );
      });
      theirsWarmS = (performance.now() - t0) / 1000;
      if (peak !== undefined) theirsPeak = peak - shared.tfjs;
      if (!s.model.dropout && Math.abs(oursWarm - theirsWarm) > 0.01 * Math.abs(theirsWarm)) {
        env.log(
          `  warning: warm-up losses ${oursWarm} (ours) and ${theirsWarm} (TF.js) differ by more than 1%: ` +
            `the two engines may not be training the same model`,
        );
      }
    }
    let oursLoss = NaN;
    let theirsLoss = NaN;
    let rep = 0;
    let readbacks = NaN;
    const samples = o.rows * o.epochs;
    const timed = await alternate(
      o.reps,
      async () => {
        const before = engine.stats().readbacks;
        const t = performance.now();
        const h = await ours.fit(data, undefined, {
          batchSize: s.batch,
          epochs: o.epochs,
          verbose: 0,
          seed: o.seed + 1000 + rep++,
        });
        const sps = samples / ((performance.now() - t) / 1000);
        readbacks = (engine.stats().readbacks - before) / o.epochs;
        oursLoss = lastLoss(h);
        return sps;
      },
      theirs && tfSide
        ? async () => {
            const t = performance.now();
            const h = await theirs.fit(tfSide.x, tfSide.y, {
              batchSize: s.batch,
              epochs: o.epochs,
              yieldEvery: 'never',
            });
            const sps = samples / ((performance.now() - t) / 1000);
            theirsLoss = lastLoss(h);
            return sps;
          }
        : undefined,
    );
    const detail = await oursDetail(engine, ours, 'train', s.batch, data, o, readbacks, shared.ours);
    const result: ScenarioResult = {
      ...header(s),
      ours: {
        samplesPerS: median(timed.ours),
        all: timed.ours,
        warmupS: oursWarmS,
        warmupLoss: oursWarm,
        loss: oursLoss,
        ...detail,
      },
      stepMs: (1000 * s.batch) / median(timed.ours),
      ...compare(timed),
    };
    if (theirs) {
      result.tfjs = {
        samplesPerS: median(timed.theirs),
        all: timed.theirs,
        warmupS: theirsWarmS,
        warmupLoss: theirsWarm,
        loss: theirsLoss,
        ...(theirsPeak !== undefined ? { peakBytes: theirsPeak } : {}),
      };
    }
    return result;
  } finally {
    await ours.dispose();
    // A TF.js model disposes only an optimizer it made from a name: ours is an object.
    theirs?.optimizer.dispose();
    theirs?.dispose();
  }
}

async function predictScenario(
  s: Scenario,
  o: BenchOptions,
  env: BenchEnv,
  engine: Engine,
  host: HostData,
  shared: Shared,
  tfSide: { tf: typeof tfc; tfl: typeof tflayers; x: tfc.Tensor2D } | undefined,
): Promise<ScenarioResult> {
  engine.resetPeak();
  // Not compiled: inference needs no optimizer state (TF.js allocates none before fit either).
  const ours = buildOurs(s.model, o.seed, undefined);
  const theirs = tfSide ? await buildTfjs(tfSide.tf, tfSide.tfl, s.model, ours, undefined) : undefined;
  // Batch 1: a host row per call (upload, forward, read back), as an app predicting one
  // input. Larger batches: rows already on the GPU for both, read back each call.
  const single = s.batch === 1;
  const row = host.x.subarray(0, FEATURES);
  const ourRows = single
    ? undefined
    : new GpuData(engine, {
        inputs: [{ data: host.x.subarray(0, s.batch * FEATURES), width: FEATURES }],
        label: 'bench predict rows',
      });
  const tfRows = tfSide && !single ? tfSide.tf.slice(tfSide.x, [0, 0], [s.batch, FEATURES]) : undefined;
  let check = NaN;
  const oursCall = async (): Promise<void> => {
    const p = await ours.predict(ourRows ?? { data: row, shape: [1, FEATURES] }, { batchSize: s.batch });
    check = (Array.isArray(p) ? p[0] : p)?.data[0] ?? NaN;
  };
  let theirsCheck = NaN;
  let theirsPeak: number | undefined;
  const theirsCall =
    theirs && tfSide
      ? async (): Promise<void> => {
          const t = tfSide.tf;
          const input = tfRows ?? t.tensor2d(row, [1, FEATURES]);
          // The scenario's batch size (tfjs-layers would cut the rows into batches of 32).
          const out = theirs.predict(input, { batchSize: s.batch }) as tfc.Tensor;
          const values = await out.data();
          theirsCheck = values[0] ?? NaN;
          out.dispose();
          if (!tfRows) input.dispose();
        }
      : undefined;
  try {
    // Warm-up: two untimed calls each (the first compiles; ours keeps its predict dataset).
    let t0 = performance.now();
    await oursCall();
    const oursWarmS = (performance.now() - t0) / 1000;
    const before = engine.stats().readbacks;
    await oursCall();
    const readbacks = engine.stats().readbacks - before;
    let theirsWarmS = NaN;
    if (theirsCall && tfSide) {
      t0 = performance.now();
      const peak = await tfPeakBytes(tfSide.tf, env, theirsCall);
      theirsWarmS = (performance.now() - t0) / 1000;
      if (peak !== undefined) theirsPeak = peak - shared.tfjs;
      await theirsCall();
      if (!(Math.abs(check - theirsCheck) <= 1e-4 + 1e-3 * Math.abs(theirsCheck))) {
        env.log(`  warning: first output ${check} (ours) vs ${theirsCheck} (TF.js): the models differ`);
      }
    }
    const timed = await alternate(
      o.reps,
      () => repeatFor(o.predictMs, s.batch, oursCall),
      theirsCall ? () => repeatFor(o.predictMs, s.batch, theirsCall) : undefined,
    );
    const detailData =
      ourRows ??
      new GpuData(engine, { inputs: [{ data: row, width: FEATURES }], label: 'bench predict row' });
    const detail = await oursDetail(engine, ours, 'predict', s.batch, detailData, o, readbacks, shared.ours);
    if (!ourRows) detailData.dispose();
    const result: ScenarioResult = {
      ...header(s),
      ours: { samplesPerS: median(timed.ours), all: timed.ours, warmupS: oursWarmS, ...detail },
      ...compare(timed),
    };
    if (theirs) {
      result.tfjs = {
        samplesPerS: median(timed.theirs),
        all: timed.theirs,
        warmupS: theirsWarmS,
        ...(theirsPeak !== undefined ? { peakBytes: theirsPeak } : {}),
      };
    }
    return result;
  } finally {
    ourRows?.dispose();
    tfRows?.dispose();
    await ours.dispose();
    theirs?.dispose();
  }
}

function header(
  s: Scenario,
): Pick<ScenarioResult, 'id' | 'kind' | 'title' | 'model' | 'batch' | 'params' | 'flopsPerSample'> {
  return {
    id: s.id,
    kind: s.kind,
    title: s.title,
    model: s.model.name,
    batch: s.batch,
    params: paramCount(s.model),
    flopsPerSample: flopsPerSample(s.model, s.kind),
  };
}

/** Dispatches, host encoding cost, memory and the per-dispatch profile of our compiled step. */
async function oursDetail(
  engine: Engine,
  model: LayersModel,
  mode: 'train' | 'predict',
  batch: number,
  data: GpuData,
  o: BenchOptions,
  readbacksPerEpoch: number,
  sharedBytes: number,
): Promise<OursDetail> {
  const step = await model.compiledStep(mode, batch, data);
  const stats = step.stats();
  // Host cost: n steps into one encoder, the fastest of 5 (other processes only add time);
  // the steps run on the GPU before the next measurement. The rewind (a queue write) is
  // outside the timed region.
  const encodeSteps = Math.max(1, Math.min(16, Math.floor(data.rows / batch)));
  const enc: number[] = [];
  const sub: number[] = [];
  for (let r = 0; r < 5; r++) {
    step.rewind();
    await engine.flush();
    const t0 = performance.now();
    step.encode(encodeSteps);
    const t1 = performance.now();
    engine.submitPending();
    const t2 = performance.now();
    enc.push(t1 - t0);
    sub.push(t2 - t0);
    await engine.flush();
  }
  let profile: OursDetail['profile'];
  if (o.profile && engine.features.has('timestamp-query')) {
    const runs: { dispatches: ProfiledDispatch[] }[] = [];
    for (let r = 0; r < 3; r++) runs.push(await step.profile());
    const first = runs[0]?.dispatches ?? [];
    const dispatches = first.map((d, i) => ({
      ...d,
      ms: median(runs.map((p) => p.dispatches[i]?.ms ?? NaN)),
    }));
    profile = { dispatches, totalMs: dispatches.reduce((a, d) => a + d.ms, 0) };
  }
  return {
    dispatchesPerStep: stats.dispatchesPerStep,
    encodeUsPerStep: (Math.min(...enc) * 1000) / encodeSteps,
    encodeSubmitUsPerStep: (Math.min(...sub) * 1000) / encodeSteps,
    encodeSteps,
    readbacksPerEpoch,
    peakBytes: engine.stats().peakBytes - sharedBytes,
    planBytes: stats.bytes,
    ...(profile ? { profile } : {}),
  };
}
