/**
 * Reductions: dispatch geometry, bindings, validation and the float64/integer references.
 * The WGSL lives in shaders/reduce.ts.
 */
import {
  argmaxShader,
  correctCountShader,
  partialSumShader,
  rowCorrectShader,
  type CorrectCountKind,
} from '../../shaders/reduce.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import type { Bindable, DispatchWork, Engine } from '../gpu/engine.js';
import { checkCount, checkF32, checkFinite, checkSize } from './validate.js';

export type { CorrectCountKind };

/**
 * Terms one thread adds in an intermediate sum pass: such a pass cuts the summed axis n into
 * about n / 64 parts, and the next pass sums those.
 */
export const SUM_TERMS_PER_THREAD = 64;

/**
 * Up to this many terms are summed in one pass, one thread per output (a bias gradient
 * over a batch of up to 256 rows is one dispatch). 16M values: 3 passes of 64, then 64.
 */
export const SUM_SINGLE_PASS_MAX = 256;

/** A [outer, n, inner] row-major view reduced over its middle axis. */
export interface SumView {
  outer: number;
  n: number;
  inner: number;
}

/**
 * Sums an [outer, n, inner] row-major f32 view over its middle axis into y[outer * inner],
 * multiplying by `scale` (1/n for a mean). A full sum is outer = inner = 1, row sums
 * inner = 1, column sums (a bias gradient) outer = 1.
 */
export function encodeSum(
  engine: Engine,
  x: Bindable,
  y: Bindable,
  view: SumView,
  scale: number,
  label = 'sum',
): void {
  const { outer, n, inner } = view;
  checkCount('sum', 'outer', outer);
  checkCount('sum', 'n', n);
  checkCount('sum', 'inner', inner);
  checkF32('sum', 'x', x, outer * n * inner, `[${outer}, ${n}, ${inner}]`);
  checkF32('sum', 'y', y, outer * inner, `[${outer * inner}]`);
  sumPasses(engine, x, view, scale, { buffer: y, offset: 0, accumulate: false }, label);
}

/**
 * acc[slot] += Σ x[0..n) (f32), entirely on the GPU: e.g. the loss sum of a step
 * accumulated over an epoch. The order of additions depends on n alone (no float atomics),
 * so equal inputs give equal bits. The final add to acc[slot] is one f32 rounding.
 */
export function encodeAccumulateSum(
  engine: Engine,
  x: Bindable,
  n: number,
  acc: Bindable,
  slot: number,
  label = 'accumulate_sum',
): void {
  checkCount('accumulateSum', 'n', n);
  checkCount('accumulateSum', 'slot', slot);
  checkF32('accumulateSum', 'x', x, n, `[${n}]`);
  checkSize('accumulateSum', 'acc', acc, (slot + 1) * 4, `slot ${slot} (f32)`);
  if (n === 0) return;
  const view = { outer: 1, n, inner: 1 };
  sumPasses(engine, x, view, 1, { buffer: acc, offset: slot, accumulate: true }, label);
}

/**
 * acc[slot + o] += Σ_k x[o·n + k] for o < outer: encodeAccumulateSum of `outer` consecutive
 * [n] vectors of x [outer, n] into consecutive slots, in the same dispatches (the four
 * weighted confusion cells of a batch, for one).
 */
export function encodeAccumulateSums(
  engine: Engine,
  x: Bindable,
  view: { outer: number; n: number },
  acc: Bindable,
  slot: number,
  label = 'accumulate_sums',
): void {
  const { outer, n } = view;
  checkCount('accumulateSums', 'outer', outer);
  checkCount('accumulateSums', 'n', n);
  checkCount('accumulateSums', 'slot', slot);
  checkF32('accumulateSums', 'x', x, outer * n, `[${outer}, ${n}]`);
  checkSize('accumulateSums', 'acc', acc, (slot + outer) * 4, `slots ${slot}..${slot + outer - 1} (f32)`);
  if (n === 0 || outer === 0) return;
  sumPasses(engine, x, { outer, n, inner: 1 }, 1, { buffer: acc, offset: slot, accumulate: true }, label);
}

/**
 * The longest chain of f32 roundings between an input and the output of a sum over n terms:
 * per pass, the terms of one thread's longest chain (it keeps four) plus 2 adds joining the
 * chains; plus 1 for the scale (or for encodeAccumulateSum's add into the slot). The error
 * of each output is at most depth · 2^-24 · Σ|x| (to first order), whatever the signs.
 */
export function sumRoundingDepth(n: number): number {
  let depth = 1;
  let m = n;
  while (m > SUM_SINGLE_PASS_MAX) {
    const g = passGeometry(m);
    depth += Math.ceil(Math.ceil(Math.min(m, g.span) / g.lanes) / 4) + 2;
    m = g.parts;
  }
  return depth + Math.ceil(m / 4) + 2;
}

interface SumDestination {
  buffer: Bindable;
  /** Element index of output 0 in `buffer`. */
  offset: number;
  /** Add to the value there instead of overwriting it. */
  accumulate: boolean;
}

function sumPasses(
  engine: Engine,
  x: Bindable,
  view: SumView,
  scale: number,
  dest: SumDestination,
  label: string,
): void {
  const { outer, inner } = view;
  const pipeline = engine.pipeline(partialSumShader(), 'partial_sum');
  const temps: GPUBuffer[] = [];
  let input = x;
  let n = view.n;
  while (n > SUM_SINGLE_PASS_MAX) {
    const g = passGeometry(n);
    const partial = engine.createBuffer({
      size: outer * g.parts * inner * 4,
      usage: GPUBufferUsage.STORAGE,
      label: `${label} partials [${outer}, ${g.parts}, ${inner}]`,
    });
    temps.push(partial);
    const params = sumParams({ outer, n, inner, ...g }, 0, false, 1);
    engine.dispatch(
      pipeline,
      [input, partial, engine.tempUniform(params, `${label} params`)],
      engine.dispatchGrid(outer * g.parts * inner, WORKGROUP_1D),
      `${label} (pass ${temps.length})`,
      sumPassWork(outer * n * inner, outer * g.parts * inner, false),
    );
    input = partial;
    n = g.parts;
  }
  const params = sumParams(
    { outer, n, inner, parts: 1, lanes: 1, span: n },
    dest.offset,
    dest.accumulate,
    scale,
  );
  engine.dispatch(
    pipeline,
    [input, dest.buffer, engine.tempUniform(params, `${label} params`)],
    engine.dispatchGrid(outer * inner, WORKGROUP_1D),
    label,
    sumPassWork(outer * n * inner, outer * inner, dest.accumulate),
  );
  for (const t of temps) engine.releaseBuffer(t);
}

/**
 * One pass of `terms` inputs into `outputs` sums: an add per term, and per output the 3 adds
 * joining its four chains and the scale (+ the add into the old value when accumulating).
 * The terms read and the outputs written once (and read when accumulating).
 */
function sumPassWork(terms: number, outputs: number, accumulate: boolean): DispatchWork {
  const acc = accumulate ? 1 : 0;
  return { flops: terms + outputs * (4 + acc), bytes: 4 * (terms + outputs * (1 + acc)) };
}

/**
 * How a pass splits n > 64 terms: blocks of `lanes` parts, each block covering span =
 * lanes · 64 consecutive terms (lanes = 256, a workgroup, unless n is smaller).
 */
function passGeometry(n: number): { parts: number; lanes: number; span: number } {
  const lanes = Math.min(WORKGROUP_1D, Math.ceil(n / SUM_TERMS_PER_THREAD));
  const span = lanes * SUM_TERMS_PER_THREAD;
  return { parts: Math.ceil(n / span) * lanes, lanes, span };
}

/** The partial-sum shader's Params: u32 words with the f32 scale at word 8. */
function sumParams(
  g: SumView & { parts: number; lanes: number; span: number },
  offset: number,
  accumulate: boolean,
  scale: number,
): Uint32Array {
  const words = new Uint32Array(12);
  words.set([g.outer, g.n, g.inner, g.parts, g.lanes, g.span, offset, accumulate ? 1 : 0]);
  new Float32Array(words.buffer)[8] = scale;
  return words;
}

/**
 * Row-wise argmax of x [rows, cols] (f32) into out [rows] (u32): the first index of the
 * maximum (ties go to the lowest index). A row holding a NaN gives the index of its first
 * NaN, as numpy does, so a diverged model is not scored as if its NaNs were absent.
 */
export function encodeArgmax(engine: Engine, x: Bindable, out: Bindable, rows: number, cols: number): void {
  checkCount('argmax', 'rows', rows);
  checkCount('argmax', 'cols', cols, 1);
  checkF32('argmax', 'x', x, rows * cols, `[${rows}, ${cols}]`);
  checkSize('argmax', 'out', out, rows * 4, `[${rows}] u32`);
  const pipeline = engine.pipeline(argmaxShader(), 'argmax');
  const params = engine.tempUniform(new Uint32Array([rows, cols, 0, 0]), 'argmax params');
  // One comparison per element; x read, the [rows] u32 indices written.
  const work = { flops: rows * cols, bytes: 4 * (rows * cols + rows) };
  engine.dispatch(pipeline, [x, out, params], engine.dispatchGrid(rows, WORKGROUP_1D), 'argmax', work);
}

export interface CorrectCountSpec {
  kind: CorrectCountKind;
  rows: number;
  cols: number;
  /** 'binary': a prediction is positive when > threshold (default 0.5, as Keras). */
  threshold?: number;
  /** Only the first rowsValid rows count (a partial last batch); default rows. */
  rowsValid?: number;
}

/**
 * counts[slot] += the number of right predictions among the first rowsValid rows (u32,
 * added atomically, so several batches can share a slot):
 *  - 'sparse': argmax(pred row) == labels[row], labels u32 [rows]. A label ≥ cols is never
 *    matched, so it counts as wrong.
 *  - 'dense': argmax(pred row) == argmax(label row), labels f32 [rows, cols].
 *  - 'binary': label == (pred > threshold ? 1 : 0) element-wise over rows × cols (it counts
 *    elements, not rows), with exact equality as Keras 3's binary_accuracy: a soft label
 *    (0.9, 0.1, ...) is never right, −0 equals 0. A NaN prediction is "not above" (0); a
 *    NaN label is never right.
 * Argmax follows encodeArgmax (ties to the lowest index, a NaN row to its first NaN).
 */
export function encodeCorrectCount(
  engine: Engine,
  spec: CorrectCountSpec,
  b: { pred: Bindable; labels: Bindable; counts: Bindable; slot?: number },
): void {
  const { kind, rows, cols } = spec;
  const what = `correctCount(${kind})`;
  if (!['sparse', 'dense', 'binary'].includes(kind)) {
    throw new TypeError(`correctCount: unknown kind '${kind}'; expected sparse, dense or binary`);
  }
  checkCount(what, 'rows', rows);
  checkCount(what, 'cols', cols, 1);
  const rowsValid = spec.rowsValid ?? rows;
  checkCount(what, 'rowsValid', rowsValid);
  if (rowsValid > rows) {
    throw new RangeError(`${what}: rowsValid ${rowsValid} is more than rows ${rows}`);
  }
  const threshold = spec.threshold ?? 0.5;
  checkFinite(what, 'threshold', threshold);
  const slot = b.slot ?? 0;
  checkCount(what, 'slot', slot);
  checkF32(what, 'pred', b.pred, rows * cols, `[${rows}, ${cols}]`);
  if (kind === 'sparse') checkSize(what, 'labels', b.labels, rows * 4, `[${rows}] u32`);
  else checkF32(what, 'labels', b.labels, rows * cols, `[${rows}, ${cols}]`);
  checkSize(what, 'counts', b.counts, (slot + 1) * 4, `slot ${slot} (u32)`);

  const words = new Uint32Array([rowsValid, cols, slot, 0]);
  new Float32Array(words.buffer)[3] = threshold;
  const label = `correct_count_${kind}`;
  const pipeline = engine.pipeline(correctCountShader(kind), label);
  const threads = kind === 'binary' ? rowsValid * cols : rowsValid;
  // Comparisons: the argmax of each valid pred row (sparse), and of each label row too
  // (dense); binary: 2 per element. The valid rows of pred and labels read, the count read
  // and written once (the kernel adds each workgroup's total atomically).
  const values = rowsValid * cols;
  const work = {
    flops: kind === 'sparse' ? values : 2 * values,
    bytes: 4 * (values + (kind === 'sparse' ? rowsValid : values)) + 8,
  };
  engine.dispatch(
    pipeline,
    [b.pred, b.labels, b.counts, engine.tempUniform(words, `${label} params`)],
    engine.dispatchGrid(threads, WORKGROUP_1D),
    label,
    work,
  );
}

/**
 * out[r] = w[r] · (row r's per-sample accuracy) for a weighted accuracy metric: 'sparse' and
 * 'dense' 1 or 0 by the rules of encodeCorrectCount, 'binary' the fraction of the row's
 * units right (Keras 3's binary_accuracy, a mean over the last axis). pred f32 [rows, cols],
 * labels as encodeCorrectCount's, out f32 [rows], `weights` f32 [rows] (else w = 1).
 */
export function encodeRowCorrect(
  engine: Engine,
  spec: { kind: CorrectCountKind; rows: number; cols: number; threshold?: number },
  b: { pred: Bindable; labels: Bindable; out: Bindable; weights?: Bindable },
): void {
  const { kind, rows, cols } = spec;
  const what = `rowCorrect(${kind})`;
  if (!['sparse', 'dense', 'binary'].includes(kind)) {
    throw new TypeError(`rowCorrect: unknown kind '${kind}'; expected sparse, dense or binary`);
  }
  checkCount(what, 'rows', rows, 1);
  checkCount(what, 'cols', cols, 1);
  const threshold = spec.threshold ?? 0.5;
  checkFinite(what, 'threshold', threshold);
  checkF32(what, 'pred', b.pred, rows * cols, `[${rows}, ${cols}]`);
  if (kind === 'sparse') checkSize(what, 'labels', b.labels, rows * 4, `[${rows}] u32`);
  else checkF32(what, 'labels', b.labels, rows * cols, `[${rows}, ${cols}]`);
  checkF32(what, 'out', b.out, rows, `[${rows}]`);
  if (b.weights) checkF32(what, 'weights', b.weights, rows, `[${rows}]`);
  const weighted = b.weights !== undefined;
  const words = new Uint32Array([rows, cols, 0, 0]);
  new Float32Array(words.buffer)[2] = threshold;
  const label = `row_correct_${kind}${weighted ? '_weighted' : ''}`;
  const values = rows * cols;
  // As encodeCorrectCount's comparisons, plus the binary mean's divide and the weight's
  // multiply per row; pred, labels (and weights) read, out written.
  const work = {
    flops: (kind === 'sparse' ? values : 2 * values) + (kind === 'binary' ? rows : 0) + (weighted ? rows : 0),
    bytes: 4 * (values + (kind === 'sparse' ? rows : values) + rows + (weighted ? rows : 0)),
  };
  engine.dispatch(
    engine.pipeline(rowCorrectShader(kind, weighted), label),
    [
      b.pred,
      b.labels,
      b.out,
      ...(b.weights ? [b.weights] : []),
      engine.tempUniform(words, `${label} params`),
    ],
    engine.dispatchGrid(rows, WORKGROUP_1D),
    label,
    work,
  );
}

// ------------------------------------------------------------ references

/** Float64 reference: sum over the middle axis of [outer, n, inner], times scale. */
export function sumReference(x: ArrayLike<number>, view: SumView, scale: number): Float64Array {
  const { outer, n, inner } = view;
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += x[(o * n + k) * inner + j] ?? NaN;
      out[o * inner + j] = acc * scale;
    }
  }
  return out;
}

/** Reference argmax of one row: first index of the maximum, or of the first NaN. */
function argmaxOf(x: ArrayLike<number>, base: number, cols: number): number {
  let best = -Infinity;
  let bestJ = 0;
  for (let j = 0; j < cols; j++) {
    const v = x[base + j] ?? NaN;
    if (Number.isNaN(v)) return j;
    if (v > best) {
      best = v;
      bestJ = j;
    }
  }
  return bestJ;
}

/** Reference: row-wise argmax of x [rows, cols] (see encodeArgmax for ties and NaN). */
export function argmaxReference(x: ArrayLike<number>, rows: number, cols: number): Uint32Array {
  return Uint32Array.from({ length: rows }, (_, r) => argmaxOf(x, r * cols, cols));
}

/** Reference: the count encodeCorrectCount adds (see there for each kind's rule). */
export function correctCountReference(
  spec: CorrectCountSpec,
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
): number {
  const { kind, cols } = spec;
  const rowsValid = spec.rowsValid ?? spec.rows;
  // The kernel compares against the threshold rounded to f32.
  const threshold = Math.fround(spec.threshold ?? 0.5);
  let count = 0;
  if (kind === 'binary') {
    for (let i = 0; i < rowsValid * cols; i++) {
      const p = pred[i] ?? NaN;
      const l = labels[i] ?? NaN;
      if (l === (p > threshold ? 1 : 0)) count++;
    }
    return count;
  }
  for (let r = 0; r < rowsValid; r++) {
    const predicted = argmaxOf(pred, r * cols, cols);
    const expected = kind === 'sparse' ? (labels[r] ?? NaN) : argmaxOf(labels, r * cols, cols);
    if (predicted === expected) count++;
  }
  return count;
}

/** Reference of encodeRowCorrect: each row's accuracy (see there) times its weight. */
export function rowCorrectReference(
  spec: { kind: CorrectCountKind; rows: number; cols: number; threshold?: number },
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
  weights?: ArrayLike<number>,
): Float64Array {
  const { kind, rows, cols } = spec;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const rowPred = Array.from({ length: cols }, (_, j) => pred[r * cols + j] ?? NaN);
    const rowLabels =
      kind === 'sparse'
        ? [labels[r] ?? NaN]
        : Array.from({ length: cols }, (_, j) => labels[r * cols + j] ?? NaN);
    const one = {
      kind,
      rows: 1,
      cols,
      ...(spec.threshold !== undefined ? { threshold: spec.threshold } : {}),
    };
    const right = correctCountReference(one, rowPred, rowLabels);
    const v = kind === 'binary' ? right / cols : right;
    out[r] = (weights ? (weights[r] ?? NaN) : 1) * v;
  }
  return out;
}
