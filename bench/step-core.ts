/**
 * The measurement behind `npm run bench:step` and the step stage of `npm run bench:gpu`: the
 * compiled training step of an MNIST-shaped MLP at one batch size (see bench/step.ts for
 * what is measured and how).
 */
import type { DispatchTiming } from '../src/gpu/profiler.js';
import type { Engine } from '../src/gpu/engine.js';
import { GpuData } from '../src/graph/dataset.js';
import { Executor } from '../src/graph/executor.js';
import { Graph } from '../src/graph/ir.js';
import * as ops from '../src/graph/ops/index.js';
import type { PlanStats } from '../src/graph/compile.js';
import { median } from './train/core.js';
import { rng } from '../kernels-test/harness.js';

export interface StepOptions {
  rows: number;
  epochs: number;
  reps: number;
  stepsPerSubmit: number;
  withProfile: boolean;
}

export const SIZES = [784, 512, 512, 10] as const;
const CLASSES = 10;
/** Multiply-adds of one sample's forward pass through the three kernels. */
const MACS = SIZES.slice(1).reduce((s, n, i) => s + n * (SIZES[i] as number), 0);
/** Forward, dX and dW products: 3 matmuls of 2 FLOP per multiply-add. */
export const TRAIN_FLOP_PER_SAMPLE = 6 * MACS;

export function buildModel(seed: number): Graph {
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

function syntheticData(seed: number, rows: number): { pixels: Uint8Array; labels: Uint8Array } {
  const r = rng(seed);
  const pixels = new Uint8Array(rows * SIZES[0]);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(r() * 256);
  const labels = Uint8Array.from({ length: rows }, () => Math.floor(r() * CLASSES));
  return { pixels, labels };
}

export interface BatchResult {
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

/** The synthetic MNIST-shaped rows, resident on the GPU. */
export function stepData(engine: Engine, rows: number): GpuData {
  const { pixels, labels } = syntheticData(7, rows);
  return new GpuData(engine, {
    inputs: [{ data: pixels, width: SIZES[0], scale: 1 / 255 }],
    targets: [{ data: labels, width: 1 }],
    label: 'synthetic mnist',
  });
}

/** One batch size: samples/s, host encode µs, plan stats and (optionally) the GPU profile. */
export async function measureStep(
  engine: Engine,
  data: GpuData,
  batch: number,
  o: StepOptions,
  log: (line: string) => void,
): Promise<BatchResult> {
  const { rows, epochs, reps, stepsPerSubmit } = o;
  const withProfile = o.withProfile && engine.features.has('timestamp-query');
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
    if (withProfile) {
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
    log(
      `batch ${batch}: ${samplesPerS.toFixed(0)} samples/s (reps ${perRep.map((s) => s.toFixed(0)).join(', ')}), ` +
        `encode ${encodeTimes.map((ms) => ((ms * 1000) / encodeSteps).toFixed(0)).join('/')} µs/step, ` +
        `with submit ${submitTimes.map((ms) => ((ms * 1000) / encodeSteps).toFixed(0)).join('/')}, plan ${compileMs.toFixed(0)} ms, warm-up epoch ${warmupS.toFixed(1)} s`,
    );
    return result;
  } finally {
    executor.dispose();
  }
}
