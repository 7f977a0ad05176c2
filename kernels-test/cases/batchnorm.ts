/**
 * Batch normalisation against the float64 reference, and the reference's backward against
 * central finite differences.
 *
 * Tolerances. Every output is a short f32 computation on top of per-feature sums over the N
 * rows. A chain of N f32 additions errs by at most N·2^-24 of the sum of absolute terms; the
 * kernels add ⌈N/16⌉ terms per lane and then 4 tree levels, so N ≤ 1000 gives at most
 * ~70·2^-24 ≈ 4e-6 relative to the absolute-value sums, a few times 1e-7 in practice.
 * - Forward y: atol 2e-5·max|y| + rtol 1e-5. x̂ carries the relative error of invStd
 *   (variance error ≤ 4e-6 over 2, plus inverseSqrt's 2 ULP) and of the centred value.
 * - Saved mean: atol 1e-6·max|x| (an f32 mean of values of size |x|); invStd and the running
 *   statistics: rtol 1e-5 (variance error as above, then one f32 rounding per operation).
 * - Inference: no sums, a handful of correctly rounded operations and inverseSqrt (2 ULP):
 *   rtol 2e-6 with atol 2e-6·max|y| for results that cancel towards 0.
 * - Backward: dβ and dγ are sums of N terms: atol (⌈N/16⌉ + 8)·2^-24·Σ|term| (the bound
 *   above, rigorous). dx = γ·invStd/N·(N·dy − dβ − x̂·dγ) cancels, and the errors of dβ and
 *   dγ divided by N give at most ~70·2^-24·γ·invStd·max|dy|·(1 + max x̂²) ≈ 2e-5 of
 *   γ·invStd·max|dy| for |x̂| ≤ 2: that is its atol.
 * - Finite differences of the float64 reference (eps 1e-6): atol 1e-5, rtol 1e-3 (gradcheck).
 * - |mean| ≫ std (1000 ± 0.01, ε 1e-5 so that the variance matters): forward atol 1e-4 on
 *   |x̂| ≤ 1.7. The shifted sums make the kernel's error ~1e-7; the same kernel without the
 *   shift (tried on lavapipe) errs by up to 1.3e-2, and E[x²] − E[x]² would lose the
 *   variance entirely (ulp(1e6) ≫ 1e-4).
 */
import type { Engine } from '../../src/index.js';
import {
  BATCH_NORM_DEFAULTS,
  batchNormReference,
  encodeBatchNormBackward,
  encodeBatchNormInference,
  encodeBatchNormTrain,
  type BatchNormSpec,
} from '../../src/kernels/batchnorm.js';
import {
  EXACT,
  expectClose,
  expectError,
  KernelMismatchError,
  rng,
  uniformF32,
  type Tolerance,
} from '../harness.js';
import { CaseBuffers } from '../buffers.js';
import type { KernelCase } from './types.js';

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i] ?? 0);
    if (Number.isFinite(v) && v > m) m = v;
  }
  return m;
}

/** atol as a fraction of the largest finite |expected|, plus an rtol. */
const scaled = (expected: ArrayLike<number>, a: number, rtol: number): Tolerance => ({
  atol: a * maxAbs(expected),
  rtol,
});

interface TrainInputs {
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
}

function randomInputs(rows: number, features: number, seed: number): TrainInputs {
  return {
    x: uniformF32(rows * features, -3, 5, seed),
    gamma: uniformF32(features, 0.5, 2, seed + 1),
    beta: uniformF32(features, -1, 1, seed + 2),
    runningMean: uniformF32(features, -1, 1, seed + 3),
    runningVar: uniformF32(features, 0.5, 2, seed + 4),
  };
}

interface TrainOutputs {
  y: Float32Array;
  mean: Float32Array;
  invStd: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
}

async function runTrain(engine: Engine, spec: BatchNormSpec, inp: TrainInputs): Promise<TrainOutputs> {
  const { rows, features } = spec;
  const bufs = new CaseBuffers(engine);
  try {
    const b = {
      x: bufs.data(inp.x, 'bn test x'),
      gamma: bufs.data(inp.gamma, 'bn test gamma'),
      beta: bufs.data(inp.beta, 'bn test beta'),
      y: bufs.empty(rows * features, 'bn test y'),
      mean: bufs.empty(features, 'bn test mean'),
      invStd: bufs.empty(features, 'bn test invStd'),
      runningMean: bufs.data(inp.runningMean, 'bn test running mean'),
      runningVar: bufs.data(inp.runningVar, 'bn test running var'),
    };
    encodeBatchNormTrain(engine, spec, b);
    return {
      y: await bufs.read(b.y, rows * features, 'bn test y'),
      mean: await bufs.read(b.mean, features, 'bn test mean'),
      invStd: await bufs.read(b.invStd, features, 'bn test invStd'),
      runningMean: await bufs.read(b.runningMean, features, 'bn test running mean'),
      runningVar: await bufs.read(b.runningVar, features, 'bn test running var'),
    };
  } finally {
    bufs.release();
  }
}

async function runInference(engine: Engine, spec: BatchNormSpec, inp: TrainInputs): Promise<Float32Array> {
  const bufs = new CaseBuffers(engine);
  try {
    const y = bufs.empty(spec.rows * spec.features, 'bn test y');
    encodeBatchNormInference(engine, spec, {
      x: bufs.data(inp.x, 'bn test x'),
      gamma: bufs.data(inp.gamma, 'bn test gamma'),
      beta: bufs.data(inp.beta, 'bn test beta'),
      runningMean: bufs.data(inp.runningMean, 'bn test running mean'),
      runningVar: bufs.data(inp.runningVar, 'bn test running var'),
      y,
    });
    return await bufs.read(y, spec.rows * spec.features, 'bn test y');
  } finally {
    bufs.release();
  }
}

interface BackwardInputs {
  x: ArrayLike<number>;
  dy: ArrayLike<number>;
  gamma: ArrayLike<number>;
  mean: ArrayLike<number>;
  invStd: ArrayLike<number>;
}

async function runBackward(engine: Engine, spec: BatchNormSpec, inp: BackwardInputs) {
  const { rows, features } = spec;
  const bufs = new CaseBuffers(engine);
  try {
    const b = {
      x: bufs.data(inp.x, 'bn test x'),
      dy: bufs.data(inp.dy, 'bn test dy'),
      gamma: bufs.data(inp.gamma, 'bn test gamma'),
      mean: bufs.data(inp.mean, 'bn test mean'),
      invStd: bufs.data(inp.invStd, 'bn test invStd'),
      dx: bufs.empty(rows * features, 'bn test dx'),
      dgamma: bufs.empty(features, 'bn test dgamma'),
      dbeta: bufs.empty(features, 'bn test dbeta'),
    };
    encodeBatchNormBackward(engine, spec, b);
    return {
      dx: await bufs.read(b.dx, rows * features, 'bn test dx'),
      dgamma: await bufs.read(b.dgamma, features, 'bn test dgamma'),
      dbeta: await bufs.read(b.dbeta, features, 'bn test dbeta'),
    };
  } finally {
    bufs.release();
  }
}

/** Compares a training forward with the reference at the tolerances stated above. */
function checkTrain(got: TrainOutputs, spec: BatchNormSpec, inp: TrainInputs, what: string): void {
  const ref = batchNormReference(spec, 'train', inp);
  expectClose(got.y, ref.y, scaled(ref.y, 2e-5, 1e-5), `${what}: y`);
  expectClose(got.mean, ref.mean, scaled(inp.x, 1e-6, 0), `${what}: mean`);
  expectClose(got.invStd, ref.invStd, { atol: 0, rtol: 1e-5 }, `${what}: invStd`);
  expectClose(got.runningMean, ref.runningMean, scaled(ref.runningMean, 1e-6, 1e-6), `${what}: running mean`);
  expectClose(got.runningVar, ref.runningVar, { atol: 0, rtol: 1e-5 }, `${what}: running var`);
}

/** Compares a backward with the reference given the same saved statistics. */
function checkBackward(
  got: { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array },
  spec: BatchNormSpec,
  inp: BackwardInputs,
  what: string,
): void {
  const ref = batchNormReference(spec, 'backward', inp);
  const dxScale = maxAbs(inp.gamma) * maxAbs(inp.invStd) * maxAbs(inp.dy);
  expectClose(got.dx, ref.dx, { atol: 2e-5 * dxScale, rtol: 1e-5 }, `${what}: dx`);
  // dβ and dγ: the worst-case f32 summation bound from the absolute terms of each feature.
  const { rows, features } = spec;
  let absDy = 0;
  let absDyXhat = 0;
  for (let f = 0; f < features; f++) {
    let a = 0;
    let b = 0;
    for (let r = 0; r < rows; r++) {
      const i = r * features + f;
      const dy = Math.abs(inp.dy[i] ?? NaN);
      a += dy;
      b += dy * Math.abs(((inp.x[i] ?? NaN) - (inp.mean[f] ?? NaN)) * (inp.invStd[f] ?? NaN));
    }
    if (a > absDy) absDy = a;
    if (b > absDyXhat) absDyXhat = b;
  }
  const chain = SUM_CHAIN(rows) * 2 ** -24;
  expectClose(got.dgamma, ref.dgamma, { atol: chain * absDyXhat, rtol: 0 }, `${what}: dgamma`);
  expectClose(got.dbeta, ref.dbeta, { atol: chain * absDy, rtol: 0 }, `${what}: dbeta`);
}

/**
 * Roundings on the longest path of a per-feature sum: ⌈N/16⌉ additions in a lane, 4 tree
 * levels, and a few for forming the terms and scaling the total.
 */
const SUM_CHAIN = (rows: number): number => Math.ceil(rows / 16) + 4 + 4;

const SHAPES: [rows: number, features: number][] = [
  [4, 3],
  [2, 1],
  [32, 257],
  [1000, 10],
  [7, 16],
  [33, 17],
];

const SPECS = (rows: number, features: number): BatchNormSpec[] => [
  { rows, features, ...BATCH_NORM_DEFAULTS },
  { rows, features, epsilon: 1e-5, momentum: 0.9 },
];

export const cases: KernelCase[] = [
  {
    name: 'batchnorm: training forward, saved statistics and running-stat update against float64',
    async run(engine: Engine) {
      for (const [k, [rows, features]] of SHAPES.entries()) {
        for (const spec of SPECS(rows, features)) {
          const inp = randomInputs(rows, features, 1300 + 10 * k);
          const what = `[${rows}, ${features}] eps ${spec.epsilon} momentum ${spec.momentum}`;
          checkTrain(await runTrain(engine, spec, inp), spec, inp, what);
        }
      }
    },
  },
  {
    name: 'batchnorm: inference forward from the running statistics against float64',
    async run(engine: Engine) {
      for (const [k, [rows, features]] of SHAPES.entries()) {
        const spec = { rows, features, ...BATCH_NORM_DEFAULTS };
        const inp = randomInputs(rows, features, 1400 + 10 * k);
        const ref = batchNormReference(spec, 'inference', inp);
        const y = await runInference(engine, spec, inp);
        expectClose(y, ref.y, scaled(ref.y, 2e-6, 2e-6), `inference [${rows}, ${features}]`);
      }
    },
  },
  {
    name: 'batchnorm: backward against the float64 reference (given and GPU-saved statistics)',
    async run(engine: Engine) {
      for (const [k, [rows, features]] of SHAPES.entries()) {
        const spec = { rows, features, ...BATCH_NORM_DEFAULTS };
        const inp = randomInputs(rows, features, 1500 + 10 * k);
        const dy = uniformF32(rows * features, -1, 1, 1505 + 10 * k);
        // The statistics the forward would save, rounded to f32 as the GPU stores them.
        const stats = batchNormReference(spec, 'train', inp);
        const given = {
          x: inp.x,
          dy,
          gamma: inp.gamma,
          mean: Float32Array.from(stats.mean),
          invStd: Float32Array.from(stats.invStd),
        };
        checkBackward(await runBackward(engine, spec, given), spec, given, `[${rows}, ${features}]`);
        // Chained: the GPU forward's saved statistics into the GPU backward, against the
        // reference with exact statistics (the tolerance above covers the f32 rounding of
        // the saved mean: ≤ 2^-24·|mean|·invStd ≈ 2e-7 here, relative to x̂).
        const fwd = await runTrain(engine, spec, inp);
        const chained = await runBackward(engine, spec, { ...given, mean: fwd.mean, invStd: fwd.invStd });
        checkBackward(
          chained,
          spec,
          { ...given, mean: stats.mean, invStd: stats.invStd },
          `[${rows}, ${features}] chained`,
        );
      }
    },
  },
  {
    name: 'batchnorm: float64 backward matches central finite differences of Σ w⊙y',
    run() {
      const h = 1e-6;
      const tol: Tolerance = { atol: 1e-5, rtol: 1e-3 };
      const shapes: [rows: number, features: number][] = [
        [5, 3],
        [1, 2],
        [2, 4],
        [9, 1],
      ];
      for (const [k, [rows, features]] of shapes.entries()) {
        for (const spec of SPECS(rows, features)) {
          const inp = randomInputs(rows, features, 1600 + 10 * k);
          const w = uniformF32(rows * features, -1, 1, 1605 + 10 * k);
          // Float64 copies so the perturbation is not rounded to f32.
          const base = {
            x: Float64Array.from(inp.x),
            gamma: Float64Array.from(inp.gamma),
            beta: Float64Array.from(inp.beta),
            runningMean: inp.runningMean,
            runningVar: inp.runningVar,
          };
          const loss = (): number => {
            const { y } = batchNormReference(spec, 'train', base);
            return y.reduce((s, yi, i) => s + yi * (w[i] ?? NaN), 0);
          };
          const stats = batchNormReference(spec, 'train', base);
          const grad = batchNormReference(spec, 'backward', {
            x: base.x,
            dy: w,
            gamma: base.gamma,
            mean: stats.mean,
            invStd: stats.invStd,
          });
          for (const [param, analytic] of [
            ['x', grad.dx],
            ['gamma', grad.dgamma],
            ['beta', grad.dbeta],
          ] as const) {
            const arr = base[param];
            const numeric = Float64Array.from(arr, (v0, i) => {
              arr[i] = v0 + h;
              const up = loss();
              arr[i] = v0 - h;
              const down = loss();
              arr[i] = v0;
              return (up - down) / (2 * h);
            });
            expectClose(analytic, numeric, tol, `d/d${param} [${rows}, ${features}] eps ${spec.epsilon}`);
          }
        }
      }
      return Promise.resolve();
    },
  },
  {
    name: 'batchnorm: |mean| ≫ std (1000 ± 0.01) keeps the variance accurate',
    async run(engine: Engine) {
      const rows = 1000;
      const features = 5;
      const spec = { rows, features, epsilon: 1e-5, momentum: 0.99 };
      const r = rng(1700);
      const inp: TrainInputs = {
        x: Float32Array.from({ length: rows * features }, () => 1000 + 0.02 * (r() - 0.5)),
        gamma: uniformF32(features, 0.5, 2, 1701),
        beta: uniformF32(features, -1, 1, 1702),
        runningMean: new Float32Array(features),
        runningVar: new Float32Array(features).fill(1),
      };
      const got = await runTrain(engine, spec, inp);
      const ref = batchNormReference(spec, 'train', inp);
      expectClose(got.y, ref.y, { atol: 1e-4, rtol: 0 }, 'y');
      expectClose(got.invStd, ref.invStd, { atol: 0, rtol: 1e-5 }, 'invStd');
      expectClose(got.mean, ref.mean, { atol: 0, rtol: 2 ** -23 }, 'mean (one f32 rounding)');
      expectClose(got.runningVar, ref.runningVar, { atol: 0, rtol: 1e-5 }, 'running var');
      // The backward with the saved statistics: x − mean is exact in f32 here (Sterbenz).
      const dy = uniformF32(rows * features, -1, 1, 1703);
      const given = { x: inp.x, dy, gamma: inp.gamma, mean: got.mean, invStd: got.invStd };
      checkBackward(await runBackward(engine, spec, given), spec, given, 'backward');
    },
  },
  {
    name: 'batchnorm: rows = 1 gives y = β exactly and zero input gradients',
    async run(engine: Engine) {
      for (const features of [1, 3, 257]) {
        const spec = { rows: 1, features, ...BATCH_NORM_DEFAULTS };
        const inp = randomInputs(1, features, 1800 + features);
        const got = await runTrain(engine, spec, inp);
        expectClose(got.y, inp.beta, EXACT, `[1, ${features}] y = β`);
        checkTrain(got, spec, inp, `[1, ${features}]`);
        const dy = uniformF32(features, -1, 1, 1900 + features);
        const grads = await runBackward(engine, spec, {
          x: inp.x,
          dy,
          gamma: inp.gamma,
          mean: got.mean,
          invStd: got.invStd,
        });
        expectClose(grads.dx, new Float64Array(features), EXACT, `[1, ${features}] dx = 0`);
        expectClose(grads.dgamma, new Float64Array(features), EXACT, `[1, ${features}] dγ = 0`);
        expectClose(grads.dbeta, dy, EXACT, `[1, ${features}] dβ = dy`);
      }
    },
  },
  {
    name: 'batchnorm: a NaN in one feature gives NaN in that feature only',
    async run(engine: Engine) {
      const rows = 6;
      const features = 5;
      const spec = { rows, features, ...BATCH_NORM_DEFAULTS };
      const inp = randomInputs(rows, features, 2000);
      inp.x[2 * features + 1] = NaN; // row 2, feature 1
      const got = await runTrain(engine, spec, inp);
      checkTrain(got, spec, inp, 'train with NaN at [2, 1]');
      // Beyond matching the reference: the NaN features are exactly {1}, and all of feature 1.
      const expectNanFeature1 = (a: ArrayLike<number>, perRow: boolean, what: string): void => {
        const width = perRow ? features : a.length;
        const nan = Array.from(a, (v) => Number.isNaN(v));
        const bad = nan.findIndex((isNan, i) => isNan !== (i % width === 1));
        if (bad >= 0)
          throw new KernelMismatchError(`${what}: NaN ${nan[bad] ? 'at' : 'missing at'} index ${bad}`);
      };
      expectNanFeature1(got.y, true, 'y');
      expectNanFeature1(got.mean, false, 'mean');
      expectNanFeature1(got.invStd, false, 'invStd');
      expectNanFeature1(got.runningMean, false, 'running mean');
      expectNanFeature1(got.runningVar, false, 'running var');
      const dy = uniformF32(rows * features, -1, 1, 2001);
      const given = { x: inp.x, dy, gamma: inp.gamma, mean: got.mean, invStd: got.invStd };
      const grads = await runBackward(engine, spec, given);
      checkBackward(grads, spec, given, 'backward with NaN at [2, 1]');
      expectNanFeature1(grads.dx, true, 'dx');
      expectNanFeature1(grads.dgamma, false, 'dgamma');
      // Inference: a NaN input spoils one element; a NaN moving variance its feature.
      const inf = { ...inp, runningVar: Float32Array.from(inp.runningVar) };
      inf.runningVar[3] = NaN;
      const y = await runInference(engine, spec, inf);
      const refY = batchNormReference(spec, 'inference', inf).y;
      expectClose(y, refY, scaled(refY, 2e-6, 2e-6), 'inference with NaNs');
      const nanAt = Array.from(y).flatMap((v, i) => (Number.isNaN(v) ? [i] : []));
      const expected = [...Array.from({ length: rows }, (_, r) => r * features + 3), 2 * features + 1].sort(
        (a, b) => a - b,
      );
      expectClose(nanAt, expected, EXACT, 'inference NaN positions');
    },
  },
  {
    name: 'batchnorm: invalid specs and short buffers throw, naming the problem',
    async run(engine: Engine) {
      const bufs = new CaseBuffers(engine);
      try {
        const big = bufs.empty(12, 'bn test big');
        const small = bufs.empty(2, 'bn test small');
        const train = (spec: BatchNormSpec, gamma = big) =>
          encodeBatchNormTrain(engine, spec, {
            x: big,
            gamma,
            beta: big,
            y: bufs.empty(12, 'bn test y'),
            mean: big,
            invStd: big,
            runningMean: big,
            runningVar: big,
          });
        const ok = { rows: 4, features: 3, ...BATCH_NORM_DEFAULTS };
        await expectError(() => train({ ...ok, rows: 0 }), RangeError, [/rows/], 'rows 0');
        await expectError(() => train({ ...ok, features: 2.5 }), RangeError, [/features/], 'features 2.5');
        await expectError(() => train({ ...ok, epsilon: 0 }), RangeError, [/epsilon/], 'epsilon 0');
        await expectError(() => train({ ...ok, momentum: 1.5 }), RangeError, [/momentum/], 'momentum 1.5');
        await expectError(
          () => train(ok, small),
          RangeError,
          [/"gamma"/, /\[3\]/, /needs 12/],
          'gamma too short',
        );
        await expectError(
          () =>
            encodeBatchNormInference(
              engine,
              { ...ok, rows: 5 },
              { x: big, gamma: big, beta: big, runningMean: big, runningVar: big, y: big },
            ),
          RangeError,
          [/"x"/, /\[5, 3\]/],
          'x too short',
        );
        await engine.flush(); // nothing invalid reached the device
      } finally {
        bufs.release();
      }
    },
  },
];
