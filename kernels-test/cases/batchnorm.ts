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
 *   Saved shift: exactly x[0, f]. Saved shifted mean m̃ = mean(x − k): the f32 sum bound,
 *   atol SUM_CHAIN(N)·2^-24·max|x − k|, and k + m̃ (in float64) against the exact mean with
 *   the same atol: far below ulp(|mean|) when |mean| ≫ std.
 * - Inference: no sums, a handful of correctly rounded operations and inverseSqrt (2 ULP):
 *   rtol 2e-6 with atol 2e-6·max|y| for results that cancel towards 0.
 * - Backward: always against the float64 reference at the EXACT float64 statistics of the
 *   original x (never at the GPU's rounded ones), with a first-order bound per feature
 *   (u = 2^-24, C = SUM_CHAIN(N)·u, s = invStd; see checkBackward):
 *     x̂ error ≤ c + (ρ + 2u)|x̂|, c = s·(u·max|x − k| + Δm), where ρ bounds the relative
 *       error of the saved invStd and Δm that of the saved centre k + m̃;
 *     dβ: C·Σ|dy|;  dγ: (C + ρ)·Σ|dy·x̂| + c·Σ|dy|;
 *     dx: |γ·s/N|·((ρ + 6u)·(N·max|dy| + |dβ| + max|x̂|·|dγ|) + tol(dβ) + max|x̂|·tol(dγ)
 *       + |dγ|·(c + (ρ + 2u)·max|x̂|)).
 *   Given statistics (the exact ones rounded to f32): ρ = u, Δm = u·|m̃|. GPU-saved ones:
 *   ρ = 1e-5 (the forward's invStd tolerance), Δm = C·mean|x − k| + u·|m̃| (its f32 sum).
 * - Finite differences of the float64 reference (eps 1e-6): atol 1e-5, rtol 1e-3 (gradcheck).
 * - |mean| ≫ std (1000 ± 0.01, ε 1e-5 so that the variance matters): forward atol 1e-4 on
 *   |x̂| ≤ 1.7. The shifted sums make the kernel's error ~1e-7; the same kernel without the
 *   shift (tried on lavapipe) errs by up to 1.3e-2, and E[x²] − E[x]² would lose the
 *   variance entirely (ulp(1e6) ≫ 1e-4). The backward is held to the bound above; an
 *   earlier backward that centred with the f32-rounded mean, x − fl(mean), was off by
 *   s·|fl(mean) − mean|·Σdy: on lavapipe (this case's data) dγ 18.7439 vs 18.8206 and
 *   0.1959 vs 0.1801 (9%), dx off by 0.107, about ten times the bound; rebuilding x̂ from
 *   the saved shift and shifted mean brings dγ within 1.1e-5 and dx within 4.3e-5.
 */
import type { Engine } from '../../src/index.js';
import {
  BATCH_NORM_DEFAULTS,
  BN_SAVED,
  BN_SAVED_ROWS,
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
  /** The whole saved buffer [BN_SAVED_ROWS, features], then its rows. */
  saved: Float32Array;
  mean: Float32Array;
  invStd: Float32Array;
  shift: Float32Array;
  shiftedMean: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
}

const u = 2 ** -24;

/** Row `row` of a [BN_SAVED_ROWS, features] saved buffer. */
const savedRow = (saved: Float32Array, features: number, row: number): Float32Array =>
  saved.subarray(row * features, (row + 1) * features);

/** The exact float64 batch statistics of x (mean, invStd). */
function exactStats(spec: BatchNormSpec, x: ArrayLike<number>) {
  const zeros = new Float64Array(spec.features);
  return batchNormReference(spec, 'train', {
    x,
    gamma: zeros,
    beta: zeros,
    runningMean: zeros,
    runningVar: zeros,
  });
}

/**
 * The saved buffer built on the host: the exact float64 statistics of x, each rounded once
 * to f32 (the shift x[0, f] is exact already).
 */
function savedFromReference(spec: BatchNormSpec, x: ArrayLike<number>): Float32Array {
  const { features } = spec;
  const stats = exactStats(spec, x);
  const saved = new Float32Array(BN_SAVED_ROWS * features);
  for (let f = 0; f < features; f++) {
    const m = stats.mean[f] ?? NaN;
    const k = x[f] ?? NaN;
    saved[BN_SAVED.mean * features + f] = m;
    saved[BN_SAVED.invStd * features + f] = stats.invStd[f] ?? NaN;
    saved[BN_SAVED.shift * features + f] = k;
    saved[BN_SAVED.shiftedMean * features + f] = m - k;
  }
  return saved;
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
      saved: bufs.empty(BN_SAVED_ROWS * features, 'bn test saved'),
      runningMean: bufs.data(inp.runningMean, 'bn test running mean'),
      runningVar: bufs.data(inp.runningVar, 'bn test running var'),
    };
    encodeBatchNormTrain(engine, spec, b);
    const saved = await bufs.read(b.saved, BN_SAVED_ROWS * features, 'bn test saved');
    return {
      y: await bufs.read(b.y, rows * features, 'bn test y'),
      saved,
      mean: savedRow(saved, features, BN_SAVED.mean),
      invStd: savedRow(saved, features, BN_SAVED.invStd),
      shift: savedRow(saved, features, BN_SAVED.shift),
      shiftedMean: savedRow(saved, features, BN_SAVED.shiftedMean),
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
  /** [BN_SAVED_ROWS, features], from the GPU forward or savedFromReference. */
  saved: ArrayLike<number>;
}

async function runBackward(engine: Engine, spec: BatchNormSpec, inp: BackwardInputs) {
  const { rows, features } = spec;
  const bufs = new CaseBuffers(engine);
  try {
    const b = {
      x: bufs.data(inp.x, 'bn test x'),
      dy: bufs.data(inp.dy, 'bn test dy'),
      gamma: bufs.data(inp.gamma, 'bn test gamma'),
      saved: bufs.data(inp.saved, 'bn test saved'),
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
  const { rows, features } = spec;
  const x0 = inp.x.subarray(0, features);
  expectClose(got.shift, x0, EXACT, `${what}: shift = x[0, f]`);
  let spread = 0;
  for (let i = 0; i < rows * features; i++) {
    const d = Math.abs((inp.x[i] ?? 0) - (x0[i % features] ?? 0));
    if (d > spread) spread = d; // skips NaN
  }
  const centreTol = { atol: SUM_CHAIN(rows) * u * spread, rtol: 0 };
  const refShifted = Float64Array.from(ref.mean, (m, f) => m - (x0[f] ?? NaN));
  expectClose(got.shiftedMean, refShifted, centreTol, `${what}: shifted mean`);
  const centre = Float64Array.from(got.shiftedMean, (m, f) => m + (got.shift[f] ?? NaN));
  expectClose(centre, ref.mean, centreTol, `${what}: shift + shifted mean (float64) = mean`);
}

/** What a backward's error bound assumes of its saved statistics (see the header). */
interface SavedAccuracy {
  /** Relative error of the saved invStd. */
  rho: number;
  /** Per feature: a bound on |shift + shiftedMean − exact mean|. */
  centre: Float64Array;
}

/** Given statistics: the exact ones rounded once to f32. */
function roundedAccuracy(features: number, saved: ArrayLike<number>): SavedAccuracy {
  const centre = Float64Array.from({ length: features }, (_, f) =>
    Math.abs(u * (saved[BN_SAVED.shiftedMean * features + f] ?? NaN)),
  );
  return { rho: u, centre };
}

/** GPU-saved statistics: invStd to the forward's rtol 1e-5, the centre to its f32 sum bound. */
function forwardAccuracy(spec: BatchNormSpec, x: ArrayLike<number>, saved: ArrayLike<number>): SavedAccuracy {
  const { rows, features } = spec;
  const centre = new Float64Array(features);
  for (let f = 0; f < features; f++) {
    let abs = 0;
    for (let r = 0; r < rows; r++) abs += Math.abs((x[r * features + f] ?? NaN) - (x[f] ?? NaN));
    const m = Math.abs(saved[BN_SAVED.shiftedMean * features + f] ?? NaN);
    centre[f] = (SUM_CHAIN(rows) * u * abs) / rows + u * m;
  }
  return { rho: 1e-5, centre };
}

/**
 * Compares a GPU backward with the float64 reference at the exact statistics of the original
 * x, feature by feature, at the first-order bound stated in the header.
 */
function checkBackward(
  got: { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array },
  spec: BatchNormSpec,
  inp: { x: ArrayLike<number>; dy: ArrayLike<number>; gamma: ArrayLike<number> },
  acc: SavedAccuracy,
  what: string,
): void {
  const { rows, features } = spec;
  const { x, dy, gamma } = inp;
  const stats = exactStats(spec, x);
  const ref = batchNormReference(spec, 'backward', { x, dy, gamma, mean: stats.mean, invStd: stats.invStd });
  const C = SUM_CHAIN(rows) * u;
  const { rho } = acc;
  for (let f = 0; f < features; f++) {
    const s = stats.invStd[f] ?? NaN;
    const m = stats.mean[f] ?? NaN;
    const k = x[f] ?? NaN;
    let absDy = 0;
    let absDyXhat = 0;
    let maxDy = 0;
    let maxXhat = 0;
    let spread = 0;
    for (let r = 0; r < rows; r++) {
      const i = r * features + f;
      const d = Math.abs(dy[i] ?? NaN);
      const xhat = Math.abs(((x[i] ?? NaN) - m) * s);
      absDy += d;
      absDyXhat += d * xhat;
      maxDy = Math.max(maxDy, d);
      maxXhat = Math.max(maxXhat, xhat);
      spread = Math.max(spread, Math.abs((x[i] ?? NaN) - k));
    }
    const c = s * (u * spread + (acc.centre[f] ?? NaN));
    const db = Math.abs(ref.dbeta[f] ?? NaN);
    const dg = Math.abs(ref.dgamma[f] ?? NaN);
    const tolDb = C * absDy;
    const tolDg = (C + rho) * absDyXhat + c * absDy;
    const k0 = Math.abs(((gamma[f] ?? NaN) * s) / rows);
    const tolDx =
      k0 *
      ((rho + 6 * u) * (rows * maxDy + db + maxXhat * dg) +
        tolDb +
        maxXhat * tolDg +
        dg * (c + (rho + 2 * u) * maxXhat));
    const column = (a: ArrayLike<number>): number[] =>
      Array.from({ length: rows }, (_, r) => a[r * features + f] ?? NaN);
    const at = `${what}, feature ${f}`;
    expectClose([got.dbeta[f] ?? NaN], [ref.dbeta[f] ?? NaN], { atol: tolDb, rtol: 0 }, `${at}: dbeta`);
    expectClose([got.dgamma[f] ?? NaN], [ref.dgamma[f] ?? NaN], { atol: tolDg, rtol: 0 }, `${at}: dgamma`);
    expectClose(column(got.dx), column(ref.dx), { atol: tolDx, rtol: 0 }, `${at}: dx`);
  }
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
  // PyTorch's BatchNorm1d: the moving variance takes the unbiased batch variance.
  { rows, features, epsilon: 1e-5, momentum: 0.9, unbiasedMovingVariance: true },
];

export const cases: KernelCase[] = [
  {
    name: 'batchnorm: training forward, saved statistics and running-stat update against float64',
    async run(engine: Engine) {
      for (const [k, [rows, features]] of SHAPES.entries()) {
        for (const spec of SPECS(rows, features)) {
          const inp = randomInputs(rows, features, 1300 + 10 * k);
          const what = `[${rows}, ${features}] eps ${spec.epsilon} momentum ${spec.momentum}${spec.unbiasedMovingVariance ? ' unbiased' : ''}`;
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
        const what = `[${rows}, ${features}]`;
        // The exact statistics rounded to f32, as the forward would save them at best.
        const given = { x: inp.x, dy, gamma: inp.gamma, saved: savedFromReference(spec, inp.x) };
        const acc = roundedAccuracy(features, given.saved);
        checkBackward(await runBackward(engine, spec, given), spec, given, acc, what);
        // Chained: the GPU forward's saved buffer into the GPU backward.
        const fwd = await runTrain(engine, spec, inp);
        checkTrain(fwd, spec, inp, `${what} forward`);
        const chained = await runBackward(engine, spec, { ...given, saved: fwd.saved });
        checkBackward(chained, spec, given, forwardAccuracy(spec, inp.x, fwd.saved), `${what} chained`);
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
    name: 'batchnorm: |mean| ≫ std (1000 ± 0.01): variance, saved centre and backward accurate',
    async run(engine: Engine) {
      const rows = 1000;
      const features = 4;
      const spec = { rows, features, epsilon: 1e-5, momentum: 0.99 };
      const r = rng(1710);
      const inp: TrainInputs = {
        x: Float32Array.from({ length: rows * features }, () => 1000 + 0.02 * (r() - 0.5)),
        gamma: uniformF32(features, 0.5, 2, 1711),
        beta: uniformF32(features, -1, 1, 1712),
        runningMean: new Float32Array(features),
        runningVar: new Float32Array(features).fill(1),
      };
      const got = await runTrain(engine, spec, inp);
      const ref = batchNormReference(spec, 'train', inp);
      expectClose(got.y, ref.y, { atol: 1e-4, rtol: 0 }, 'y');
      expectClose(got.invStd, ref.invStd, { atol: 0, rtol: 1e-5 }, 'invStd');
      expectClose(got.mean, ref.mean, { atol: 0, rtol: 2 ** -23 }, 'mean (one f32 rounding)');
      expectClose(got.runningVar, ref.runningVar, { atol: 0, rtol: 1e-5 }, 'running var');
      checkTrain(got, spec, inp, '1000 ± 0.01');
      // The saved centre k + m̃ carries the mean far below ulp(1000)/2 ≈ 3e-5, the error of
      // the f32 mean alone; x − k is exact in f32 here (Sterbenz).
      const centre = Float64Array.from(got.shiftedMean, (m, f) => m + (got.shift[f] ?? NaN));
      expectClose(centre, ref.mean, { atol: 1e-8, rtol: 0 }, 'shift + shifted mean');
      // GPU forward → GPU backward, against float64 at the exact statistics of x.
      const dy = uniformF32(rows * features, -1, 1, 1713);
      const grads = await runBackward(engine, spec, { x: inp.x, dy, gamma: inp.gamma, saved: got.saved });
      const acc = forwardAccuracy(spec, inp.x, got.saved);
      checkBackward(grads, spec, { x: inp.x, dy, gamma: inp.gamma }, acc, 'backward');
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
        const grads = await runBackward(engine, spec, { x: inp.x, dy, gamma: inp.gamma, saved: got.saved });
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
      expectNanFeature1(got.shiftedMean, false, 'shifted mean');
      expectNanFeature1(got.runningMean, false, 'running mean');
      expectNanFeature1(got.runningVar, false, 'running var');
      const dy = uniformF32(rows * features, -1, 1, 2001);
      const given = { x: inp.x, dy, gamma: inp.gamma, saved: got.saved };
      const grads = await runBackward(engine, spec, given);
      const acc = forwardAccuracy(spec, inp.x, got.saved);
      checkBackward(grads, spec, given, acc, 'backward with NaN at [2, 1]');
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
            saved: big,
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
          [/buffer gamma \("bn test small"\) has 8 bytes; \[3\] f32 needs 12/],
          'gamma too short',
        );
        await expectError(
          () =>
            encodeBatchNormBackward(engine, ok, {
              x: big,
              dy: big,
              gamma: big,
              saved: bufs.empty(11, 'bn test saved short'),
              dx: bufs.empty(12, 'bn test dx'),
              dgamma: big,
              dbeta: big,
            }),
          RangeError,
          [/buffer saved \("bn test saved short"\) has 44 bytes; \[4, 3\] f32 needs 48/],
          'saved too short',
        );
        await expectError(
          () =>
            encodeBatchNormInference(
              engine,
              { ...ok, rows: 5 },
              { x: big, gamma: big, beta: big, runningMean: big, runningVar: big, y: big },
            ),
          RangeError,
          [/buffer x \("bn test big"\) has 48 bytes; \[5, 3\] f32 needs 60/],
          'x too short',
        );
        await engine.flush(); // nothing invalid reached the device
      } finally {
        bufs.release();
      }
    },
  },
];
