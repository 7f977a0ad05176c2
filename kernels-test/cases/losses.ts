/**
 * Losses and the fused softmax + cross-entropy against their float64 references, the
 * references' gradients against central finite differences, Keras's documented values,
 * the stability rows, NaN propagation and the out-of-range label flag.
 *
 * Tolerances (|a − e| ≤ atol + rtol·|e|):
 * - Row losses: rtol 2e-5. Each term is a few f32 operations with WGSL's log/exp (log: 3 ULP,
 *   or 2^-21 absolute for arguments in [0.5, 2]; exp: 3 + 2|x| ULP), then a sum of at most
 *   257 terms (≤ 9 per lane, then a 5-level tree over ≤ 32 lanes: ~14 roundings of 2^-24
 *   of the partial sums). All terms are ≥ 0 except KL's, whose rows are normalised
 *   distributions here so Σ|terms| stays within a few times the result. atol 2e-6 covers
 *   the 2^-21 absolute error of log near 1 (−log p for p ≈ 1, log s for s ≈ 1 in
 *   softmax-CE), which has no relative bound; losses of 1e4 (the ±1e4 logits) fall under rtol.
 * - Gradients: rtol 2e-5 (one division or a log/exp and a few roundings per element), and
 *   atol 2e-6 × max(largest |expected| of the array, unit), unit = |gradScale| · (1/cols
 *   for the mean losses, else 1): softmax − y and (dq + Σy)/S cancel operands of up to
 *   about one unit, and err by a few ULP of those rather than of the (possibly tiny)
 *   result. (The BCE gradients are formed without such cancellation: see shaders/losses.ts.)
 *   Observed on lavapipe and SwiftShader: under 1/15 of these bounds.
 * - Finite differences of the float64 references: central, eps 1e-6, atol 1e-5, rtol 1e-3
 *   (PyTorch gradcheck), at points at least 1e-3 away from every kink and clip edge.
 * - Tiny binary CE losses (down to 1.8e-35): relative only, no atol, so an absolute error of
 *   log near 1 cannot hide: logits (3 + 2|x|) ULP (WGSL's exp) + 8 ULP; probabilities 8 ULP
 *   (log1p's series and a few roundings).
 * - Keras's documented example values: to the digits Keras prints (half a unit of the last).
 * - NaN/flag/finiteness checks are exact.
 */
import type { Engine } from '../../src/index.js';
import {
  clipBounds,
  encodeLoss,
  encodeSoftmaxCrossEntropy,
  hingeTargetsAreBinary,
  LOSS_NAMES,
  lossIsMean,
  lossReference,
  lossRowReference,
  rowLayout,
  softmaxCrossEntropyReference,
  softmaxCrossEntropyRow,
  type LossName,
  type LossSpec,
  type RowReduction,
  type SoftmaxCrossEntropySpec,
} from '../../src/kernels/losses.js';
import {
  EXACT,
  expectClose,
  expectEqual,
  expectError,
  KernelMismatchError,
  rng,
  type Tolerance,
} from '../harness.js';
import { correctCountReference } from '../../src/kernels/reduce.js';
import type { KernelCase } from './types.js';

const LOSS_TOL: Tolerance = { atol: 2e-6, rtol: 2e-5 };
const GRAD_RTOL = 2e-5;
const GRAD_ATOL_SCALE = 2e-6;
const FD_TOL: Tolerance = { atol: 1e-5, rtol: 1e-3 };
const FD_EPS = 1e-6;
/** Finite-difference points keep at least this distance from kinks and clip edges. */
const KINK_MARGIN = 1e-3;

const ROWS = [1, 7, 300];
const COLS = [1, 3, 10, 257];
const SHAPES: [number, number][] = ROWS.flatMap((r) => COLS.map((c): [number, number] => [r, c]));

/**
 * `unit`: |gradScale| times the loss's 1/cols (mean losses) or 1, the scale of the O(1)
 * operands that cancel in softmax − y and dq + Σy.
 */
function gradTolerance(expected: ArrayLike<number>, unit: number): Tolerance {
  let max = Math.abs(unit);
  for (let i = 0; i < expected.length; i++) {
    const v = Math.abs(expected[i] ?? 0);
    if (Number.isFinite(v)) max = Math.max(max, v);
  }
  return { atol: GRAD_ATOL_SCALE * max, rtol: GRAD_RTOL };
}

function lossUnit(spec: LossSpec): number {
  return Math.abs(spec.gradScale) * (lossIsMean(spec.name) ? 1 / spec.cols : 1);
}

// ------------------------------------------------------------ running the kernels

// Functions: the GPUBufferUsage global exists only once WebGPU is set up (Dawn in Node).
const IN = (): GPUBufferUsageFlags => GPUBufferUsage.STORAGE;
const OUT = (): GPUBufferUsageFlags =>
  GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

async function readF32(engine: Engine, buffer: GPUBuffer, n: number, label: string): Promise<Float32Array> {
  return new Float32Array(await engine.read(buffer, n * 4, label));
}

async function runLoss(
  engine: Engine,
  spec: LossSpec,
  pred: Float32Array,
  target: Float32Array,
  flag?: GPUBuffer,
): Promise<{ loss: Float32Array; dpred: Float32Array }> {
  const n = spec.rows * spec.cols;
  const predBuf = engine.createBufferWithData(pred, IN(), `losses test ${spec.name} pred`);
  const targetBuf = engine.createBufferWithData(target, IN(), `losses test ${spec.name} target`);
  const lossBuf = engine.createBuffer({
    size: spec.rows * 4,
    usage: OUT(),
    label: `losses test ${spec.name} loss`,
  });
  const dpredBuf = engine.createBuffer({
    size: n * 4,
    usage: OUT(),
    label: `losses test ${spec.name} dpred`,
  });
  encodeLoss(engine, spec, { pred: predBuf, target: targetBuf, loss: lossBuf, dpred: dpredBuf, flag });
  const loss = await readF32(engine, lossBuf, spec.rows, 'losses test loss');
  const dpred = await readF32(engine, dpredBuf, n, 'losses test dpred');
  for (const b of [predBuf, targetBuf, lossBuf, dpredBuf]) engine.releaseBuffer(b);
  return { loss, dpred };
}

async function runSoftmaxXent(
  engine: Engine,
  spec: SoftmaxCrossEntropySpec,
  logits: Float32Array,
  labels: Float32Array | Uint32Array,
  flagsBefore = 0,
): Promise<{ loss: Float32Array; dlogits: Float32Array; flags: number }> {
  const n = spec.rows * spec.classes;
  const logitsBuf = engine.createBufferWithData(logits, IN(), 'losses test softmax logits');
  const labelsBuf = engine.createBufferWithData(labels, IN(), 'losses test softmax labels');
  const lossBuf = engine.createBuffer({
    size: spec.rows * 4,
    usage: OUT(),
    label: 'losses test softmax loss',
  });
  const dBuf = engine.createBuffer({ size: n * 4, usage: OUT(), label: 'losses test softmax dlogits' });
  const flagsBuf = engine.createBufferWithData(
    new Uint32Array([flagsBefore]),
    OUT(),
    'losses test softmax flags',
  );
  encodeSoftmaxCrossEntropy(engine, spec, {
    logits: logitsBuf,
    labels: labelsBuf,
    loss: lossBuf,
    dlogits: dBuf,
    flags: flagsBuf,
  });
  const loss = await readF32(engine, lossBuf, spec.rows, 'losses test softmax loss');
  const dlogits = await readF32(engine, dBuf, n, 'losses test softmax dlogits');
  const flags = new Uint32Array(await engine.read(flagsBuf, 4, 'losses test softmax flags'))[0] ?? 0;
  for (const b of [logitsBuf, labelsBuf, lossBuf, dBuf, flagsBuf]) engine.releaseBuffer(b);
  return { loss, dlogits, flags };
}

// ------------------------------------------------------------ test data

type HingeTargets = 'binary' | 'pm1' | 'real';

interface LossData {
  pred: Float32Array;
  target: Float32Array;
}

/**
 * Inputs for one loss and shape: predictions spread over the formula's regimes (both sides
 * of huber's δ and hinge's margin, inside and outside the clip ranges), each at least
 * KINK_MARGIN from a kink or clip edge so finite differences are valid there.
 */
function lossData(spec: LossSpec, seed: number, hinge: HingeTargets = 'binary'): LossData {
  const { name, rows, cols } = spec;
  const r = rng(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * r();
  const n = rows * cols;
  const pred = new Float32Array(n);
  const target = new Float32Array(n);
  const oneHot = seed % 2 === 0;
  for (let row = 0; row < rows; row++) {
    const hot = Math.floor(r() * cols);
    let predSum = 0;
    let targetSum = 0;
    for (let j = 0; j < cols; j++) {
      const i = row * cols + j;
      switch (name) {
        case 'mse':
        case 'mae':
        case 'huber':
          pred[i] = u(-3, 3);
          target[i] = u(-3, 3);
          break;
        case 'msle':
          pred[i] = u(-0.5, 4);
          target[i] = u(-0.2, 4);
          break;
        case 'hinge':
        case 'squared_hinge':
          pred[i] = u(-2, 2);
          target[i] =
            hinge === 'binary' ? (r() < 0.5 ? 0 : 1) : hinge === 'pm1' ? (r() < 0.5 ? -1 : 1) : u(-1.5, 1.5);
          break;
        case 'kl_divergence':
          // Distributions with some zero targets (clipped to ε) and some predictions
          // outside [0, 1] (clipped, zero gradient).
          target[i] = r() < 0.1 ? 0 : u(0.05, 1);
          pred[i] = r() < 0.1 ? u(-0.3, -0.01) : u(0.05, 1);
          targetSum += target[i] ?? 0;
          predSum += Math.max(pred[i] ?? 0, 0);
          break;
        case 'categorical_crossentropy':
          pred[i] = u(0.05, 1);
          target[i] = oneHot ? (j === hot ? 1 : 0) : u(0, 1);
          targetSum += target[i] ?? 0;
          break;
        case 'binary_crossentropy':
          pred[i] = r() < 0.1 ? u(-0.2, 1.2) : u(0.01, 0.99);
          target[i] = oneHot ? (r() < 0.5 ? 0 : 1) : u(0, 1);
          break;
        case 'binary_crossentropy_logits':
          pred[i] = u(-12, 12);
          target[i] = oneHot ? (r() < 0.5 ? 0 : 1) : u(0, 1);
          break;
      }
    }
    // Normalise the distributions (KL targets and predictions, soft categorical targets).
    for (let j = 0; j < cols; j++) {
      const i = row * cols + j;
      if (name === 'kl_divergence') {
        if (targetSum > 0) target[i] = (target[i] ?? 0) / targetSum;
        if ((pred[i] ?? 0) > 0 && predSum > 0) pred[i] = Math.min((pred[i] ?? 0) / predSum, 0.999);
      }
      if (name === 'categorical_crossentropy' && !oneHot && targetSum > 0) {
        target[i] = (target[i] ?? 0) / targetSum;
      }
    }
  }
  const convert = (name === 'hinge' || name === 'squared_hinge') && hingeTargetsAreBinary(target);
  for (let i = 0; i < n; i++) {
    const y = convert ? 2 * (target[i] ?? 0) - 1 : (target[i] ?? 0);
    pred[i] = awayFromKinks(pred[i] ?? 0, kinksOf(spec, y));
  }
  return { pred, target };
}

/** Prediction values where the loss of a target y is not smooth (kinks and clip edges). */
function kinksOf(spec: LossSpec, y: number): number[] {
  const { lo, hi } = clipBounds(spec.epsilon);
  const delta = spec.delta ?? 1;
  switch (spec.name) {
    case 'mae':
      return [y];
    case 'huber':
      return [y - delta, y + delta];
    case 'msle':
      return [lo];
    case 'hinge':
    case 'squared_hinge':
      return y === 0 ? [] : [1 / y];
    case 'kl_divergence':
      return [lo, 1];
    case 'binary_crossentropy':
      return [lo, hi];
    default:
      // mse and the logits form are smooth; categorical CE's edges are on p / Σp, and its
      // data (p in [0.05, 1], ≥ 3 columns or a single column) stays clear of them.
      return [];
  }
}

function awayFromKinks(p: number, kinks: number[]): number {
  let v = p;
  for (const k of kinks) {
    if (Math.abs(v - k) < KINK_MARGIN) v = k + (v >= k ? 3 : -3) * KINK_MARGIN;
  }
  return Math.fround(v);
}

// ------------------------------------------------------------ finite differences

/** Central differences of f at x[i] for each i in `indices` (x is restored). */
function centralDifferences(f: (x: number[]) => number, x: number[], indices: number[]): Float64Array {
  const out = new Float64Array(indices.length);
  for (const [k, i] of indices.entries()) {
    const x0 = x[i] ?? NaN;
    x[i] = x0 + FD_EPS;
    const up = f(x);
    x[i] = x0 - FD_EPS;
    const down = f(x);
    x[i] = x0;
    out[k] = (up - down) / (2 * FD_EPS);
  }
  return out;
}

/** Up to `count` column indices of a row, spread over it. */
function sampleColumns(cols: number, count: number): number[] {
  if (cols <= count) return Array.from({ length: cols }, (_, j) => j);
  return Array.from({ length: count }, (_, k) => Math.floor((k * (cols - 1)) / (count - 1)));
}

// ------------------------------------------------------------ cases

const sweepCases: KernelCase[] = LOSS_NAMES.map((name) => ({
  name: `losses ${name}: value and gradient, rows 1/7/300 x cols 1/3/10/257, against float64`,
  async run(engine: Engine) {
    for (const [s, [rows, cols]] of SHAPES.entries()) {
      // Alternate gradScale between 1/rows (a batch mean) and an arbitrary factor.
      const gradScale = s % 2 === 0 ? 1 / rows : -0.37;
      const spec: LossSpec = { name, rows, cols, gradScale, ...(name === 'huber' ? { delta: 0.8 } : {}) };
      const hinge: HingeTargets = (['binary', 'pm1', 'real'] as const)[s % 3] ?? 'binary';
      const { pred, target } = lossData(spec, 1000 + 17 * s, hinge);
      const got = await runLoss(engine, spec, pred, target);
      const ref = lossReference(spec, pred, target);
      const what = `${name} [${rows}, ${cols}] gradScale ${gradScale.toFixed(4)}`;
      expectClose(got.loss, ref.loss, LOSS_TOL, `${what} loss`);
      expectClose(got.dpred, ref.dpred, gradTolerance(ref.dpred, lossUnit(spec)), `${what} dpred`);
    }
  },
}));

const finiteDifferenceCase: KernelCase = {
  name: 'losses: float64 reference gradients match central finite differences',
  run() {
    const shapes: [number, number][] = [
      [1, 1],
      [7, 3],
      [7, 10],
      [2, 257],
      [300, 10],
    ];
    for (const name of LOSS_NAMES) {
      for (const [s, [rows, cols]] of shapes.entries()) {
        const spec: LossSpec = {
          name,
          rows,
          cols,
          gradScale: 1,
          ...(name === 'huber' ? { delta: 1.7 } : {}),
        };
        const hinge: HingeTargets = (['binary', 'pm1', 'real'] as const)[s % 3] ?? 'binary';
        const { pred, target } = lossData(spec, 2000 + 31 * s, hinge);
        const convert = hingeTargetsAreBinary(target);
        // Every row of small shapes; a spread of rows of the large one.
        const rowList = rows <= 7 ? Array.from({ length: rows }, (_, r) => r) : [0, 1, 150, 299];
        for (const row of rowList) {
          const p = Array.from(pred.subarray(row * cols, (row + 1) * cols));
          const y = Array.from(target.subarray(row * cols, (row + 1) * cols));
          const cols64 = sampleColumns(cols, 40);
          const analytic = lossRowReference(spec, p, y, convert).grad;
          const numeric = centralDifferences((x) => lossRowReference(spec, x, y, convert).loss, p, cols64);
          expectClose(
            cols64.map((j) => analytic[j] ?? NaN),
            numeric,
            FD_TOL,
            `${name} [${rows}, ${cols}] row ${row}: analytic vs finite differences`,
          );
        }
      }
    }
    // Softmax-CE: soft dense targets (Σy ≠ 1 too) and one-hot rows.
    const r = rng(77);
    for (const classes of [1, 3, 10, 257]) {
      for (const kind of ['one-hot', 'soft', 'unnormalised'] as const) {
        const x = Array.from({ length: classes }, () => -6 + 12 * r());
        const hot = Math.floor(r() * classes);
        const y = Array.from({ length: classes }, (_, j) =>
          kind === 'one-hot' ? (j === hot ? 1 : 0) : kind === 'soft' ? r() : 2 * r(),
        );
        if (kind === 'soft') {
          const t = y.reduce((a, b) => a + b, 0);
          for (let j = 0; j < classes; j++) y[j] = (y[j] ?? 0) / t;
        }
        const cols64 = sampleColumns(classes, 40);
        const analytic = softmaxCrossEntropyRow(x, y).grad;
        const numeric = centralDifferences((v) => softmaxCrossEntropyRow(v, y).loss, x, cols64);
        expectClose(
          cols64.map((j) => analytic[j] ?? NaN),
          numeric,
          FD_TOL,
          `softmax-CE ${classes} classes, ${kind} targets: analytic vs finite differences`,
        );
      }
    }
    return Promise.resolve();
  },
};

/**
 * Keras's docstring examples, as flat [rows, cols] data; values as Keras prints them
 * (rounded), atol half a unit of the last printed digit (0 where the value is exact).
 */
interface KerasExample {
  name: LossName;
  rows: number;
  target: number[];
  pred: number[];
  expected: number[];
  atol: number;
}
/** The two-row inputs most Keras loss docstrings share. */
const Y2 = [0, 1, 0, 0];
const P2 = [0.6, 0.4, 0.4, 0.6];
const P2_REGRESSION = [1, 1, 1, 0];
const KERAS_EXAMPLES: KerasExample[] = [
  // CategoricalCrossentropy (TF backend docstring): [0.10536, 0.11653, 0.06188].
  {
    name: 'categorical_crossentropy',
    rows: 3,
    target: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    pred: [0.9, 0.05, 0.05, 0.05, 0.89, 0.06, 0.05, 0.01, 0.94],
    expected: [0.10536, 0.11653, 0.06188],
    atol: 5e-6,
  },
  // binary_crossentropy: [0.916, 0.714].
  { name: 'binary_crossentropy', rows: 2, target: Y2, pred: P2, expected: [0.916, 0.714], atol: 5e-4 },
  // BinaryCrossentropy(from_logits=True): 0.865 for one row of four.
  {
    name: 'binary_crossentropy_logits',
    rows: 1,
    target: [0, 1, 0, 0],
    pred: [-18.6, 0.51, 2.94, -12.8],
    expected: [0.865],
    atol: 5e-4,
  },
  // Huber: mean 0.155 of rows (0.18 + 0.18)/2 and (0.08 + 0.18)/2 (½e², every |e| ≤ δ = 1).
  { name: 'huber', rows: 2, target: Y2, pred: P2, expected: [0.18, 0.13], atol: 0 },
  // Hinge: mean 1.3; {0,1} targets become {−1,1}: rows (1.6 + 0.6)/2, (1.4 + 1.6)/2.
  { name: 'hinge', rows: 2, target: Y2, pred: P2, expected: [1.1, 1.5], atol: 0 },
  // SquaredHinge: mean 1.86: rows (2.56 + 0.36)/2, (1.96 + 2.56)/2.
  { name: 'squared_hinge', rows: 2, target: Y2, pred: P2, expected: [1.46, 2.26], atol: 0 },
  // KLDivergence: mean 0.458 (row 0 ≈ log(1/0.4), row 1 ≈ 0).
  { name: 'kl_divergence', rows: 2, target: Y2, pred: P2, expected: [0.916, 0], atol: 5e-4 },
  // MeanSquaredLogarithmicError: 0.240 (each row (log 2)²/2).
  { name: 'msle', rows: 2, target: Y2, pred: P2_REGRESSION, expected: [0.24, 0.24], atol: 5e-4 },
  // MeanSquaredError and MeanAbsoluteError: 0.5.
  { name: 'mse', rows: 2, target: Y2, pred: P2_REGRESSION, expected: [0.5, 0.5], atol: 0 },
  { name: 'mae', rows: 2, target: Y2, pred: P2_REGRESSION, expected: [0.5, 0.5], atol: 0 },
];

const kerasExamplesCase: KernelCase = {
  name: "losses: Keras's documented example values",
  async run(engine: Engine) {
    for (const ex of KERAS_EXAMPLES) {
      const spec: LossSpec = { name: ex.name, rows: ex.rows, cols: ex.pred.length / ex.rows, gradScale: 1 };
      const got = await runLoss(engine, spec, Float32Array.from(ex.pred), Float32Array.from(ex.target));
      // + LOSS_TOL: the f32 evaluation of the exact value.
      const tol = { atol: ex.atol + LOSS_TOL.atol, rtol: LOSS_TOL.rtol };
      expectClose(got.loss, ex.expected, tol, `${ex.name}: Keras example`);
    }
  },
};

const clipCase: KernelCase = {
  name: 'losses: exact 0/1 probabilities and out-of-range values take the clipped branch',
  async run(engine: Engine) {
    // Predictions a sigmoid/softmax really produces in f32 (exact 0 and 1), and some outside
    // [0, 1]; clipped elements have zero gradient.
    const pred = Float32Array.from([0, 1, 0.5, 1e-9, -0.1, 1.2, 0.3, 0]);
    const target = Float32Array.from([1, 0, 1, 1, 0, 1, 0.5, 0]);
    for (const name of ['binary_crossentropy', 'kl_divergence', 'msle'] as const) {
      const spec: LossSpec = { name, rows: 2, cols: 4, gradScale: 0.5 };
      const got = await runLoss(engine, spec, pred, target);
      const ref = lossReference(spec, pred, target);
      expectClose(got.loss, ref.loss, LOSS_TOL, `${name} with clipped predictions: loss`);
      expectClose(
        got.dpred,
        ref.dpred,
        gradTolerance(ref.dpred, lossUnit(spec)),
        `${name} with clipped predictions: dpred`,
      );
    }
    // BCE at p = 0 with y = 1 is −log ε; at p = 1 with y = 0, −log(1 − (1 − ε)) in f32.
    const { lo, hi } = clipBounds();
    const bce = await runLoss(
      engine,
      { name: 'binary_crossentropy', rows: 2, cols: 1, gradScale: 1 },
      Float32Array.from([0, 1]),
      Float32Array.from([1, 0]),
    );
    expectClose(bce.loss, [-Math.log(lo), -Math.log(1 - hi)], LOSS_TOL, 'BCE at exact 0 and 1');
    expectClose(bce.dpred, [0, 0], EXACT, 'BCE gradient at exact 0 and 1 (clipped)');
    // Categorical CE: rows with exact zeros (clipped to ε), a one-hot prediction, a single
    // column (always 1 after normalisation) and an unnormalised row.
    const cPred = Float32Array.from([0.7, 0, 0.3, 0, 1, 0, 2, 6, 2, 0.25, 0.25, 0.5]);
    const cTarget = Float32Array.from([0, 1, 0, 0, 1, 0, 0.2, 0.5, 0.3, 1, 0, 0]);
    const spec: LossSpec = { name: 'categorical_crossentropy', rows: 4, cols: 3, gradScale: 0.25 };
    const got = await runLoss(engine, spec, cPred, cTarget);
    const ref = lossReference(spec, cPred, cTarget);
    expectClose(got.loss, ref.loss, LOSS_TOL, 'categorical CE with zeros and a one-hot prediction: loss');
    expectClose(
      got.dpred,
      ref.dpred,
      gradTolerance(ref.dpred, lossUnit(spec)),
      'categorical CE with zeros: dpred',
    );
    expectClose(
      [got.loss[0] ?? NaN],
      [-Math.log(lo)],
      LOSS_TOL,
      'categorical CE: target on a zero prediction is −log ε',
    );
    const single = await runLoss(
      engine,
      { name: 'categorical_crossentropy', rows: 1, cols: 1, gradScale: 1 },
      Float32Array.from([0.3]),
      Float32Array.from([1]),
    );
    expectClose(single.loss, [-Math.log(hi)], LOSS_TOL, 'categorical CE, one class: −log(1 − ε)');
    expectClose(single.dpred, [0], EXACT, 'categorical CE, one class: gradient 0');
  },
};

const hingeCase: KernelCase = {
  name: 'losses hinge: {0,1} targets become {-1,1} only when the whole tensor is binary',
  async run(engine: Engine) {
    const rows = 3;
    const cols = 4;
    const pred = Float32Array.from([0.3, -0.7, 1.4, -2, 0.1, 0.9, -0.4, 2.5, 0.6, -1.2, 0.2, 0.05]);
    const binary = Float32Array.from([0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1]);
    const pm1 = Float32Array.from(binary, (y) => 2 * y - 1);
    for (const name of ['hinge', 'squared_hinge'] as const) {
      const spec: LossSpec = { name, rows, cols, gradScale: 1 };
      const a = await runLoss(engine, spec, pred, binary);
      const b = await runLoss(engine, spec, pred, pm1);
      expectClose(a.loss, b.loss, EXACT, `${name}: {0,1} targets give the {-1,1} loss`);
      expectClose(a.dpred, b.dpred, EXACT, `${name}: {0,1} targets give the {-1,1} gradient`);
      // One non-binary target in the last row keeps every 0 as 0 (Keras tests the whole
      // tensor): row 0's loss then uses y = 0, i.e. max(1 − 0·p, 0) = 1 per zero target.
      const mixed = binary.slice();
      mixed[11] = 0.5;
      const c = await runLoss(engine, spec, pred, mixed);
      const ref = lossReference(spec, pred, mixed);
      expectClose(c.loss, ref.loss, LOSS_TOL, `${name}: a non-binary target disables the conversion`);
      expectClose(
        c.dpred,
        ref.dpred,
        gradTolerance(ref.dpred, lossUnit(spec)),
        `${name}: gradient without conversion`,
      );
      const row0 = [0, 1, 2, 3].map((j) => {
        const y = binary[j] ?? 0;
        const m = Math.max(1 - y * (pred[j] ?? 0), 0);
        return name === 'hinge' ? m : m * m;
      });
      expectClose(
        [c.loss[0] ?? NaN],
        [row0.reduce((s, v) => s + v, 0) / cols],
        LOSS_TOL,
        `${name}: row 0 by hand`,
      );
    }
  },
};

const nanCase: KernelCase = {
  name: 'losses: a NaN prediction or target gives NaN for its row loss and its gradient',
  async run(engine: Engine) {
    const rows = 4;
    const cols = 5;
    for (const name of LOSS_NAMES) {
      const spec: LossSpec = { name, rows, cols, gradScale: 1 / rows };
      const { pred, target } = lossData(spec, 4242);
      pred[1 * cols + 2] = NaN;
      target[2 * cols + 0] = NaN;
      const got = await runLoss(engine, spec, pred, target);
      const ref = lossReference(spec, pred, target);
      // The NaN pattern must be exactly the reference's; the rest within tolerance.
      for (let i = 0; i < rows * cols; i++) {
        if (Number.isNaN(got.dpred[i]) !== Number.isNaN(ref.dpred[i])) {
          throw new KernelMismatchError(
            `${name}: dpred[${i}] NaN mismatch: got ${got.dpred[i]}, expected ${ref.dpred[i]}`,
          );
        }
      }
      expectEqual(
        Number.isNaN(ref.loss[1]) && Number.isNaN(ref.loss[2]),
        true,
        `${name}: reference rows 1 and 2 are NaN`,
      );
      expectEqual(
        Number.isNaN(ref.loss[0]) || Number.isNaN(ref.loss[3]),
        false,
        `${name}: rows 0 and 3 are finite`,
      );
      expectClose(got.loss, ref.loss, LOSS_TOL, `${name} with NaN inputs: loss`);
      expectClose(
        got.dpred,
        ref.dpred,
        gradTolerance(ref.dpred, lossUnit(spec)),
        `${name} with NaN inputs: dpred`,
      );
    }
  },
};

const zeroSumCase: KernelCase = {
  name: 'losses categorical CE: a row with Σp = 0 or an infinite Σp gives NaN loss and gradient',
  async run(engine: Engine) {
    const cols = 3;
    // Row 0: all-zero prediction (Keras: 0/0). Row 1: Σp = 0 with mixed signs (±∞ and 0/0
    // after normalising). Row 2: an infinite prediction (∞/∞). Row 3: an ordinary row.
    const pred = Float32Array.from([0, 0, 0, 0.5, -0.5, 0, Infinity, 0.2, 0.3, 0.2, 0.3, 0.5]);
    const target = Float32Array.from([0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0]);
    const spec: LossSpec = { name: 'categorical_crossentropy', rows: 4, cols, gradScale: 0.25 };
    const got = await runLoss(engine, spec, pred, target);
    const ref = lossReference(spec, pred, target);
    for (let r = 0; r < 4; r++) {
      const nan = r < 3;
      expectEqual(Number.isNaN(ref.loss[r]), nan, `reference row ${r} loss NaN`);
      expectEqual(Number.isNaN(got.loss[r]), nan, `row ${r} loss NaN (got ${got.loss[r]})`);
      for (let j = 0; j < cols; j++) {
        expectEqual(Number.isNaN(got.dpred[r * cols + j]), nan, `row ${r} dpred[${j}] NaN`);
      }
    }
    expectClose(got.loss, ref.loss, LOSS_TOL, 'categorical CE zero-sum rows: loss');
    expectClose(got.dpred, ref.dpred, gradTolerance(ref.dpred, lossUnit(spec)), 'zero-sum rows: dpred');
    expectClose([got.loss[3] ?? NaN], [-Math.log(0.3)], LOSS_TOL, 'categorical CE ordinary row by hand');
  },
};

/** Relative error of WGSL's exp(x): (3 + 2|x|) ULP. */
const expRel = (x: number) => (3 + 2 * Math.abs(x)) * 2 ** -23;

const tinyLossCase: KernelCase = {
  name: 'losses binary CE: tiny losses (p near 0 or 1, |logit| up to 80) to a relative tolerance',
  async run(engine: Engine) {
    // Logits: loss = log1p(exp(−|x|)) where the target agrees with the sign, down to 1.8e-35
    // at |x| = 80; exp's relative error (3 + 2|x| ULP) plus a few roundings, no absolute
    // slack (the old log(1 + z) gave 0 for x = 20 and 6% off at x = 16).
    const logits = [8, 16, 20, 30, 80, -8, -16, -20, -30, -80, 0.5, -3];
    const logitTargets = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0];
    const lspec: LossSpec = {
      name: 'binary_crossentropy_logits',
      rows: logits.length,
      cols: 1,
      gradScale: 1,
    };
    const lx = Float32Array.from(logits);
    const ly = Float32Array.from(logitTargets);
    const lgot = await runLoss(engine, lspec, lx, ly);
    const lref = lossReference(lspec, lx, ly);
    for (const [i, x] of logits.entries()) {
      expectClose(
        [lgot.loss[i] ?? NaN],
        [lref.loss[i] ?? NaN],
        { atol: 0, rtol: expRel(x) + 8 * 2 ** -23 },
        `BCE logits x = ${x}, y = ${logitTargets[i]}: loss ${lref.loss[i]}`,
      );
    }
    expectClose(lgot.dpred, lref.dpred, gradTolerance(lref.dpred, 1), 'BCE logits tiny losses: dpred');

    // Probabilities: −log p for p near 1 and −log(1 − p) for p near 0 go through log1p of
    // an exact pc − 1 or −pc; 8 ULP (the old log near 1 erred by 2^-21 absolute: 3.4e-4 of
    // the loss at p = 0.9999).
    const probs = [0.9999, 0.99999, 0.999, 0.6, 1e-4, 1e-5, 1e-3, 0.4, 0.5, 0.5];
    const probTargets = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0];
    const pspec: LossSpec = { name: 'binary_crossentropy', rows: probs.length, cols: 1, gradScale: 1 };
    const px = Float32Array.from(probs);
    const py = Float32Array.from(probTargets);
    const pgot = await runLoss(engine, pspec, px, py);
    const pref = lossReference(pspec, px, py);
    expectClose(pgot.loss, pref.loss, { atol: 0, rtol: 8 * 2 ** -23 }, 'BCE tiny losses near p = 0 and 1');
    expectClose(pgot.dpred, pref.dpred, gradTolerance(pref.dpred, 1), 'BCE tiny losses: dpred');
  },
};

const hingeFlagCase: KernelCase = {
  name: 'losses hinge: the flag is cleared by a dispatch each call (and each replay); nothing else is allocated',
  async run(engine: Engine) {
    const rows = 3;
    const cols = 4;
    const pred = Float32Array.from([0.3, -0.7, 1.4, -2, 0.1, 0.9, -0.4, 2.5, 0.6, -1.2, 0.2, 0.05]);
    const binary = Float32Array.from([0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1]);
    const mixed = binary.slice();
    mixed[11] = 0.5;
    const flag = engine.createBuffer({
      size: 4,
      usage: GPUBufferUsage.STORAGE,
      label: 'losses test hinge flag',
    });
    for (const name of ['hinge', 'squared_hinge'] as const) {
      const spec: LossSpec = { name, rows, cols, gradScale: 1 };
      // Non-binary targets set the flag; the next call on binary targets must see it cleared.
      for (const target of [mixed, binary, mixed, binary]) {
        const got = await runLoss(engine, spec, pred, target, flag);
        const ref = lossReference(spec, pred, target);
        const kind = target === binary ? 'binary' : 'mixed';
        expectClose(got.loss, ref.loss, LOSS_TOL, `${name} with a reused flag, ${kind} targets: loss`);
        expectClose(
          got.dpred,
          ref.dpred,
          gradTolerance(ref.dpred, lossUnit(spec)),
          `${name} with a reused flag, ${kind} targets: dpred`,
        );
      }
    }
    // Allocation count over repeated calls on fixed buffers. Each call still makes two
    // uniform parameter buffers through engine.tempUniform (the check pass's and the loss's):
    // those are counted as such; everything beyond them is the flag.
    const [predBuf, targetBuf, lossBuf, dpredBuf] = ['pred', 'target', 'loss', 'dpred'].map((what) =>
      engine.createBuffer({ size: rows * cols * 4, usage: OUT(), label: `losses test hinge ${what}` }),
    ) as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
    const io = { pred: predBuf, target: targetBuf, loss: lossBuf, dpred: dpredBuf };
    const spec: LossSpec = { name: 'hinge', rows, cols, gradScale: 1 };
    const calls = 3;
    const created = (): number => engine.stats().buffersCreated;
    encodeLoss(engine, spec, { ...io, flag }); // pipelines compiled
    await engine.flush();
    const before = created();
    for (let i = 0; i < calls; i++) encodeLoss(engine, spec, { ...io, flag });
    await engine.flush();
    expectEqual(created() - before, 2 * calls, 'buffers created by hinge with a caller flag (uniforms only)');
    const beforeTemp = created();
    for (let i = 0; i < calls; i++) encodeLoss(engine, spec, io);
    await engine.flush();
    expectEqual(
      created() - beforeTemp,
      3 * calls,
      'buffers created by hinge without a flag (uniforms + flag)',
    );
    // Recorded once and replayed (as a compiled training step does), the flag is cleared by
    // the recorded clear dispatch on every replay: mixed targets, then binary ones again.
    const recorded = engine.record('hinge step', () => encodeLoss(engine, spec, io));
    const refMixed = lossReference(spec, pred, mixed);
    const refBinary = lossReference(spec, pred, binary);
    engine.writeBuffer(predBuf, 0, pred);
    for (const [target, ref, kind] of [
      [mixed, refMixed, 'mixed'],
      [binary, refBinary, 'binary'],
    ] as const) {
      engine.writeBuffer(targetBuf, 0, target);
      engine.replay(recorded);
      const loss = new Float32Array(await engine.read(lossBuf, rows * 4, 'hinge replay loss'));
      expectClose(loss, ref.loss, LOSS_TOL, `hinge replayed on ${kind} targets: loss`);
    }
    recorded.release();
    for (const b of [flag, predBuf, targetBuf, lossBuf, dpredBuf]) engine.releaseBuffer(b);
  },
};

const validationCase: KernelCase = {
  name: 'losses: invalid specs and short buffers are refused, naming the shapes',
  async run(engine: Engine) {
    const small = engine.createBuffer({ size: 8, usage: IN(), label: 'losses test small' });
    const big = engine.createBuffer({ size: 4096, usage: OUT(), label: 'losses test big' });
    const all = { pred: big, target: big, loss: big, dpred: big };
    await expectError(
      () => encodeLoss(engine, { name: 'nope' as LossName, rows: 1, cols: 1, gradScale: 1 }, all),
      RangeError,
      [/unknown loss/, /mse/],
      'unknown loss name',
    );
    await expectError(
      () => encodeLoss(engine, { name: 'mse', rows: 7, cols: 3, gradScale: 1 }, { ...all, target: small }),
      RangeError,
      [/buffer target \("losses test small"\) has 8 bytes; \[7, 3\] f32 needs 84/],
      'short target buffer',
    );
    await expectError(
      () => encodeLoss(engine, { name: 'huber', rows: 2, cols: 2, gradScale: 1, delta: 0 }, all),
      RangeError,
      [/delta/],
      'huber delta 0',
    );
    await expectError(
      () => encodeLoss(engine, { name: 'mse', rows: 0, cols: 2, gradScale: 1 }, all),
      RangeError,
      [/rows must be a positive integer/],
      'zero rows',
    );
    const sm = { logits: big, labels: big, loss: big, dlogits: big, flags: big };
    await expectError(
      () => encodeSoftmaxCrossEntropy(engine, { rows: 4, classes: 0, labels: 'sparse', gradScale: 1 }, sm),
      RangeError,
      [/\[4, 0\]/, /classes must be a positive integer/],
      'zero classes',
    );
    await expectError(
      () =>
        encodeSoftmaxCrossEntropy(
          engine,
          { rows: 4, classes: 10, labels: 'dense', gradScale: 1 },
          { ...sm, labels: small },
        ),
      RangeError,
      [/buffer labels \("losses test small"\) has 8 bytes; \[4, 10\] f32 needs 160/],
      'short dense labels',
    );
    await expectError(
      () => encodeSoftmaxCrossEntropy(engine, { rows: 4, classes: 10, labels: 'sparse', gradScale: NaN }, sm),
      RangeError,
      [/gradScale must be finite/],
      'NaN gradScale',
    );
    engine.releaseBuffer(small);
    engine.releaseBuffer(big);
  },
};

// ------------------------------------------------------------ softmax + cross-entropy

/** Dense targets: one-hot, soft (rows summing to 1), or unnormalised (Σy ≠ 1: the gradient is Σy·softmax − y). */
function softmaxData(
  rows: number,
  classes: number,
  seed: number,
  dense: 'one-hot' | 'soft' | 'unnormalised',
) {
  const r = rng(seed);
  const logits = Float32Array.from({ length: rows * classes }, () => -8 + 16 * r());
  const ids = Uint32Array.from({ length: rows }, () => Math.floor(r() * classes));
  const targets = new Float32Array(rows * classes);
  for (let row = 0; row < rows; row++) {
    if (dense === 'one-hot') {
      targets[row * classes + (ids[row] ?? 0)] = 1;
      continue;
    }
    let total = 0;
    for (let j = 0; j < classes; j++) total += targets[row * classes + j] = r();
    if (dense === 'unnormalised') continue;
    for (let j = 0; j < classes; j++) targets[row * classes + j] = (targets[row * classes + j] ?? 0) / total;
  }
  return { logits, ids, targets };
}

const DENSE_KINDS = ['one-hot', 'soft', 'unnormalised'] as const;

const softmaxSweepCase: KernelCase = {
  name: 'losses softmax-CE: dense and sparse, rows 1/7/300 x classes 1/3/10/257, against float64',
  async run(engine: Engine) {
    for (const [s, [rows, classes]] of SHAPES.entries()) {
      const gradScale = s % 2 === 0 ? 1 / rows : 0.61;
      const { logits, ids, targets } = softmaxData(rows, classes, 3000 + s, DENSE_KINDS[s % 3] ?? 'one-hot');
      for (const labels of ['dense', 'sparse'] as const) {
        const spec: SoftmaxCrossEntropySpec = { rows, classes, labels, gradScale };
        const input = labels === 'dense' ? targets : ids;
        const got = await runSoftmaxXent(engine, spec, logits, input);
        const ref = softmaxCrossEntropyReference(spec, logits, input);
        const what = `softmax-CE ${labels} [${rows}, ${classes}]`;
        expectClose(got.loss, ref.loss, LOSS_TOL, `${what} loss`);
        expectClose(got.dlogits, ref.dlogits, gradTolerance(ref.dlogits, spec.gradScale), `${what} dlogits`);
        expectEqual(got.flags, 0, `${what}: flags with in-range labels`);
      }
    }
  },
};

const softmaxStabilityCase: KernelCase = {
  name: 'losses softmax-CE: logits of ±1e4, -inf rows and constant rows stay finite and exact',
  async run(engine: Engine) {
    const classes = 5;
    const inf = Infinity;
    const rowsWithLabel: [number[], number][] = [
      [[1e4, -1e4, 0, 1e4, -5e3], 1], // loss 2e4 + log 2
      [[1e4, -1e4, 0, 1e4, -5e3], 0], // log 2
      [[-1e4, 1e4, -1e4, -1e4, -1e4], 0], // 2e4
      [[-inf, -inf, 3, -inf, -inf], 2], // exactly 0
      [[-inf, 7e3, -inf, -inf, -inf], 1],
      [[2.5, 2.5, 2.5, 2.5, 2.5], 4], // log 5
      [[-1e4, -1e4, -1e4, -1e4, -1e4], 0],
      [[1e4, 1e4, 1e4, 1e4, 1e4], 3],
      [[-inf, 0, 1, -inf, 2], 4],
    ];
    const rows = rowsWithLabel.length;
    const logits = Float32Array.from(rowsWithLabel.flatMap(([x]) => x));
    const ids = Uint32Array.from(rowsWithLabel.map(([, l]) => l));
    const oneHot = new Float32Array(rows * classes);
    for (const [r, l] of ids.entries()) oneHot[r * classes + l] = 1;
    // Soft targets that are zero wherever the logit is −inf.
    const soft = Float32Array.from(logits, (x, i) => (x === -inf ? 0 : 0.1 + 0.05 * (i % 3)));
    for (let r = 0; r < rows; r++) {
      let t = 0;
      for (let j = 0; j < classes; j++) t += soft[r * classes + j] ?? 0;
      for (let j = 0; j < classes; j++) soft[r * classes + j] = (soft[r * classes + j] ?? 0) / t;
    }
    const closed = [2e4 + Math.log(2), Math.log(2), 2e4, 0, 0, Math.log(5), Math.log(5), Math.log(5)];
    for (const [labels, input] of [
      ['sparse', ids],
      ['dense', oneHot],
      ['dense', soft],
    ] as const) {
      const spec: SoftmaxCrossEntropySpec = { rows, classes, labels, gradScale: 1 / rows };
      const got = await runSoftmaxXent(engine, spec, logits, input);
      const ref = softmaxCrossEntropyReference(spec, logits, input);
      const what = `softmax-CE ${labels}${input === soft ? ' (soft)' : ''} stability rows`;
      for (const [i, v] of [...got.loss, ...got.dlogits].entries()) {
        if (!Number.isFinite(v))
          throw new KernelMismatchError(`${what}: value ${i} is ${v}, expected finite`);
      }
      expectClose(got.loss, ref.loss, LOSS_TOL, `${what}: loss`);
      expectClose(got.dlogits, ref.dlogits, gradTolerance(ref.dlogits, spec.gradScale), `${what}: dlogits`);
      if (input !== soft) {
        expectClose(got.loss.subarray(0, closed.length), closed, LOSS_TOL, `${what}: closed-form losses`);
      }
    }
  },
};

const softmaxFlagCase: KernelCase = {
  name: 'losses softmax-CE: out-of-range sparse labels set the flag and give NaN rows; NaN logits give NaN rows',
  async run(engine: Engine) {
    const classes = 3;
    const { logits } = softmaxData(5, classes, 4000, 'one-hot');
    const ids = Uint32Array.from([0, 3, 0xffffffff, 2, 1]); // 3 and 2^32−1 (−1 as i32) are out of range
    const spec: SoftmaxCrossEntropySpec = { rows: 5, classes, labels: 'sparse', gradScale: 0.2 };
    // Bit 2 set beforehand must survive (the kernel ORs bit 0 in).
    const got = await runSoftmaxXent(engine, spec, logits, ids, 0b100);
    expectEqual(got.flags, 0b101, 'flags after out-of-range labels');
    const ref = softmaxCrossEntropyReference(spec, logits, ids);
    expectEqual(ref.outOfRange, true, 'reference sees the out-of-range labels');
    expectClose(got.loss, ref.loss, LOSS_TOL, 'loss with out-of-range rows');
    expectClose(
      got.dlogits,
      ref.dlogits,
      gradTolerance(ref.dlogits, spec.gradScale),
      'dlogits with out-of-range rows',
    );
    for (const r of [1, 2]) {
      expectEqual(Number.isNaN(got.loss[r]), true, `row ${r} loss is NaN`);
      for (let j = 0; j < classes; j++) {
        expectEqual(Number.isNaN(got.dlogits[r * classes + j]), true, `row ${r} dlogits[${j}] is NaN`);
      }
    }
    // In range: the flag stays clear.
    const ok = await runSoftmaxXent(engine, spec, logits, Uint32Array.from([0, 1, 2, 2, 1]));
    expectEqual(ok.flags, 0, 'flags after in-range labels');

    // A NaN logit (sparse and dense) and a NaN dense target poison only their own row.
    const withNan = logits.slice();
    withNan[1 * classes + 1] = NaN;
    const inRange = Uint32Array.from([0, 1, 2, 2, 1]);
    const targets = new Float32Array(5 * classes);
    for (const [r, l] of inRange.entries()) targets[r * classes + l] = 1;
    targets[3 * classes + 0] = NaN;
    for (const [labels, input] of [
      ['sparse', inRange],
      ['dense', targets],
    ] as const) {
      const s: SoftmaxCrossEntropySpec = { rows: 5, classes, labels, gradScale: 0.2 };
      const g = await runSoftmaxXent(engine, s, withNan, input);
      const e = softmaxCrossEntropyReference(s, withNan, input);
      const nanRows = labels === 'dense' ? [1, 3] : [1];
      for (let r = 0; r < 5; r++) {
        expectEqual(Number.isNaN(g.loss[r]), nanRows.includes(r), `${labels}: row ${r} loss NaN`);
      }
      expectClose(g.loss, e.loss, LOSS_TOL, `${labels} with NaN inputs: loss`);
      expectClose(
        g.dlogits,
        e.dlogits,
        gradTolerance(e.dlogits, s.gradScale),
        `${labels} with NaN inputs: dlogits`,
      );
      expectEqual(g.flags, 0, `${labels} with NaN inputs: flags untouched`);
    }
  },
};

/**
 * The accuracy count in the loss's pass (spec.countCorrect): the same count as
 * correctCountReference (the accuracy kernel's rules) on hand-made rows and random ones, the
 * loss and gradient bit for bit those of the kernel without counting, added into its slot.
 */
const softmaxCountCase: KernelCase = {
  name: 'losses softmax_xent countCorrect: the accuracy count of ties, NaN, ±Inf and bad labels, loss unchanged',
  async run(engine: Engine) {
    const cols = 4;
    // [logits, sparse label, dense target row]: ties to the first index, NaN rows to their
    // first NaN, all −inf (argmax 0), a label out of range, soft targets with ties and NaN.
    const rows: [number[], number, number[]][] = [
      [[1, 3, 3, 2], 1, [0, 0.5, 0.5, 0]],
      [[1, 3, 3, 2], 2, [0, 0, 1, 0]],
      [[5, 5, 5, 5], 0, [0.25, 0.25, 0.25, 0.25]],
      [[-Infinity, -Infinity, -Infinity, -Infinity], 0, [1, 0, 0, 0]],
      [[-Infinity, -3e38, -Infinity, -3.4e38], 1, [0, 1, 0, 0]],
      [[1, NaN, 5, NaN], 1, [0, 0, 1, 0]],
      [[NaN, 1, 2, 3], 3, [0, 0, 0, 1]],
      [[Infinity, 2, 1, Infinity], 0, [0.5, 0, 0, 0.5]],
      [[0.1, 0.2, 0.3, 0.4], 7, [0, NaN, 1, 0]],
      [[0.4, 0.3, 0.2, 0.1], 0, [0.7, 0.1, 0.1, 0.1]],
      [[-0, 0, -1, -2], 0, [0, 0, 0, 0]],
    ];
    const hand = {
      logits: Float32Array.from(rows.flatMap((r) => r[0])),
      sparse: Uint32Array.from(rows.map((r) => r[1])),
      dense: Float32Array.from(rows.flatMap((r) => r[2])),
      classes: cols,
    };
    const r = rng(7100);
    const random = [3, 10, 257].map((classes, i) => {
      const n = 37 + 100 * i;
      // Few distinct values, so ties and right answers are common.
      const logits = Float32Array.from({ length: n * classes }, () => Math.floor(r() * 4) - 2);
      const sparse = Uint32Array.from({ length: n }, () => Math.floor(r() * classes));
      const dense = Float32Array.from({ length: n * classes }, () => Math.floor(r() * 3) / 2);
      return { logits, sparse, dense, classes };
    });
    for (const [pi, p] of [hand, ...random].entries()) {
      const rowCount = p.logits.length / p.classes;
      for (const [labels, rowReduction] of (['sparse', 'dense'] as const).flatMap((l) =>
        rowPaths(engine).map((r) => [l, r] as const),
      )) {
        const target = labels === 'sparse' ? p.sparse : p.dense;
        const slot = 1 + pi;
        const before = 5;
        const spec: SoftmaxCrossEntropySpec = {
          rows: rowCount,
          classes: p.classes,
          labels,
          gradScale: 0.5,
          rowReduction,
        };
        const what = `${labels} [${rowCount}, ${p.classes}] (${rowReduction} reduction)`;
        const counts = engine.createBufferWithData(
          new Uint32Array(slot + 2).fill(before),
          OUT(),
          'losses test counts',
        );
        const logitsBuf = engine.createBufferWithData(p.logits, IN(), 'losses test logits');
        const labelsBuf = engine.createBufferWithData(target, IN(), 'losses test labels');
        const lossBuf = engine.createBuffer({ size: rowCount * 4, usage: OUT(), label: 'losses test loss' });
        const dBuf = engine.createBuffer({ size: p.logits.length * 4, usage: OUT(), label: 'losses test d' });
        const flagsBuf = engine.createBufferWithData(new Uint32Array([0]), OUT(), 'losses test flags');
        const made = [counts, logitsBuf, labelsBuf, lossBuf, dBuf, flagsBuf];
        try {
          const dispatches = engine.stats().dispatches;
          encodeSoftmaxCrossEntropy(
            engine,
            { ...spec, countCorrect: { slot } },
            { logits: logitsBuf, labels: labelsBuf, loss: lossBuf, dlogits: dBuf, flags: flagsBuf, counts },
          );
          expectEqual(engine.stats().dispatches - dispatches, 1, `${what}: dispatches`);
          const got = new Uint32Array(await engine.read(counts, 4 * (slot + 2), 'losses test counts'));
          const expected = correctCountReference(
            { kind: labels, rows: rowCount, cols: p.classes },
            p.logits,
            target,
          );
          expectEqual(got[slot], before + expected, `${what}: count in slot ${slot}`);
          expectEqual(got[slot - 1], before, `${what}: slot ${slot - 1} untouched`);
          expectEqual(got[slot + 1], before, `${what}: slot ${slot + 1} untouched`);
          const loss = await readF32(engine, lossBuf, rowCount, 'losses test loss');
          const dlogits = await readF32(engine, dBuf, p.logits.length, 'losses test d');
          const plain = await runSoftmaxXent(engine, spec, p.logits, target);
          expectClose(loss, plain.loss, EXACT, `${what}: loss as without counting`);
          expectClose(dlogits, plain.dlogits, EXACT, `${what}: dlogits as without counting`);
        } finally {
          for (const b of made) engine.releaseBuffer(b);
        }
      }
    }
    // The hand-made rows' counts, independently of the reference: sparse rows 0 (label 1),
    // 2, 3 (all −inf: 0), 4, 5 (NaN at 1), 7, 9 and 10 (−0 and 0 tie: 0); dense rows 0 and 2
    // (ties to the first), 3, 4, 7, 9 and 10 (an all-zero target: 0), not row 8 (NaN
    // target: 1, against 3).
    expectEqual(
      correctCountReference({ kind: 'sparse', rows: rows.length, cols }, hand.logits, hand.sparse),
      8,
      'sparse reference on the hand-made rows',
    );
    expectEqual(
      correctCountReference({ kind: 'dense', rows: rows.length, cols }, hand.logits, hand.dense),
      7,
      'dense reference on the hand-made rows',
    );
    const big = engine.createBuffer({ size: 64, usage: OUT(), label: 'losses test big' });
    const sm = { logits: big, labels: big, loss: big, dlogits: big, flags: big };
    await expectError(
      () =>
        encodeSoftmaxCrossEntropy(
          engine,
          { rows: 2, classes: 2, labels: 'sparse', gradScale: 1, countCorrect: { slot: 0 } },
          sm,
        ),
      TypeError,
      [/countCorrect is set but no counts buffer/],
      'countCorrect without counts',
    );
    await expectError(
      () =>
        encodeSoftmaxCrossEntropy(
          engine,
          { rows: 2, classes: 2, labels: 'sparse', gradScale: 1, countCorrect: { slot: 16 } },
          { ...sm, counts: big },
        ),
      RangeError,
      [/counts/, /slot 16/],
      'slot past the counts',
    );
    engine.releaseBuffer(big);
  },
};

/** The row reductions this engine can run: the workgroup tree, and subgroups where it has them. */
function rowPaths(engine: Engine): RowReduction[] {
  return engine.profile.subgroupLanes > 0 ? ['workgroup', 'subgroup'] : ['workgroup'];
}

/**
 * The two row reductions (shaders/softmax_xent.ts, rowSegmentsWgsl): the workgroup tree and,
 * where the engine has subgroups, the subgroup butterfly, for softmax-CE and every Keras
 * loss, rows of 1 to 257 values (tpr 1 to 32; a subgroup path caps it at the subgroup size)
 * and 300 rows (a partial last workgroup). Each against float64; where both paths give a row
 * the same lanes, bit for bit the same (the butterfly adds the tree's pairs in its order).
 * Without subgroups, asking for them is refused, naming the adapter.
 */
const rowReductionCase: KernelCase = {
  name: 'losses row reductions: subgroup and workgroup paths against float64, bit for bit where lanes agree',
  async run(engine: Engine) {
    const lanes = engine.profile.subgroupLanes;
    const rows = 300;
    // Row lengths and the tree's lanes for them: the row rounded up to a power of two, at
    // most 32; the butterfly's are that, at most the subgroup size.
    const tree: [number, number][] = [
      [1, 1],
      [3, 4],
      [4, 4],
      [8, 8],
      [10, 16],
      [33, 32],
      [257, 32],
    ];
    for (const [s, [cols, treeLanes]] of tree.entries()) {
      const same = lanes > 0 && treeLanes <= lanes;
      const layouts = rowPaths(engine).map((r) => rowLayout(engine, cols, r, 'test'));
      expectEqual(
        layouts.map((l) => `${l.reduction} ${l.tpr}`).join(', '),
        rowPaths(engine)
          .map((r) => `${r} ${r === 'subgroup' ? Math.min(treeLanes, lanes) : treeLanes}`)
          .join(', '),
        `lanes per row of ${cols} values`,
      );
      const { logits, ids, targets } = softmaxData(rows, cols, 5200 + s, 'soft');
      for (const labels of ['dense', 'sparse'] as const) {
        const input = labels === 'dense' ? targets : ids;
        const outputs: Float32Array[][] = [];
        for (const rowReduction of rowPaths(engine)) {
          const spec: SoftmaxCrossEntropySpec = {
            rows,
            classes: cols,
            labels,
            gradScale: 1 / rows,
            rowReduction,
          };
          const got = await runSoftmaxXent(engine, spec, logits, input);
          const ref = softmaxCrossEntropyReference(spec, logits, input);
          const what = `softmax-CE ${labels} [${rows}, ${cols}] (${rowReduction})`;
          expectClose(got.loss, ref.loss, LOSS_TOL, `${what} loss`);
          expectClose(
            got.dlogits,
            ref.dlogits,
            gradTolerance(ref.dlogits, spec.gradScale),
            `${what} dlogits`,
          );
          outputs.push([got.loss, got.dlogits]);
        }
        if (same) expectSamePaths(outputs, `softmax-CE ${labels} [${rows}, ${cols}]`);
      }
      for (const name of LOSS_NAMES) {
        const outputs: Float32Array[][] = [];
        for (const rowReduction of rowPaths(engine)) {
          const spec: LossSpec = { name, rows, cols, gradScale: 0.5, rowReduction };
          const { pred, target } = lossData(spec, 5300 + s, 'real');
          const got = await runLoss(engine, spec, pred, target);
          const ref = lossReference(spec, pred, target);
          const what = `${name} [${rows}, ${cols}] (${rowReduction})`;
          expectClose(got.loss, ref.loss, LOSS_TOL, `${what} loss`);
          expectClose(got.dpred, ref.dpred, gradTolerance(ref.dpred, lossUnit(spec)), `${what} dpred`);
          outputs.push([got.loss, got.dpred]);
        }
        if (same) expectSamePaths(outputs, `${name} [${rows}, ${cols}]`);
      }
    }
    if (lanes === 0) {
      const big = engine.createBuffer({ size: 64, usage: OUT(), label: 'losses test big' });
      await expectError(
        () =>
          encodeSoftmaxCrossEntropy(
            engine,
            { rows: 2, classes: 2, labels: 'sparse', gradScale: 1, rowReduction: 'subgroup' },
            { logits: big, labels: big, loss: big, dlogits: big, flags: big },
          ),
        RangeError,
        [/rowReduction 'subgroup'/, new RegExp(`adapter "${escapeRegExp(engine.adapter.name)}"`)],
        'subgroup reduction on an engine without subgroups',
      );
      engine.releaseBuffer(big);
    }
    await expectError(
      () => rowLayout(engine, 3, 'warp' as RowReduction, 'softmax test'),
      RangeError,
      [/softmax test: rowReduction must be 'subgroup' or 'workgroup', got 'warp'/],
      'an unknown row reduction',
    );
  },
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Both paths' outputs (workgroup first), bit for bit. */
function expectSamePaths(outputs: Float32Array[][], what: string): void {
  const [tree, butterfly] = outputs;
  if (!tree || !butterfly) throw new KernelMismatchError(`${what}: expected the outputs of two paths`);
  for (const [i, t] of tree.entries()) {
    expectClose(butterfly[i] ?? new Float32Array(0), t, EXACT, `${what}: output ${i}, subgroup as workgroup`);
  }
}

export const cases: KernelCase[] = [
  ...sweepCases,
  finiteDifferenceCase,
  kerasExamplesCase,
  clipCase,
  hingeCase,
  hingeFlagCase,
  zeroSumCase,
  tinyLossCase,
  nanCase,
  validationCase,
  softmaxSweepCase,
  softmaxStabilityCase,
  softmaxFlagCase,
  softmaxCountCase,
  rowReductionCase,
];
