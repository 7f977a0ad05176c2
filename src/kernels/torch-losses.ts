/**
 * PyTorch 1.13's losses on the GPU (torch.nn's BCELoss, BCEWithLogitsLoss, CrossEntropyLoss,
 * NLLLoss, MSELoss, L1Loss, each with its reduction): value and gradient as PyTorch's backward
 * gives it, their dispatch and validation, and their float64 references. The Keras losses are
 * losses.ts; the WGSL of both lives in shaders/losses.ts.
 */
import { WORKGROUP_1D } from '../../shaders/common.js';
import {
  TORCH_LOSS_KINDS,
  TORCH_REDUCTIONS,
  torchLossIsClassIndexed,
  torchLossShader,
  torchReduceShader,
  torchWeightTotalShader,
  type TorchLossKind,
  type TorchReduction,
} from '../../shaders/losses.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { MAX_COUNT, packParams, rowLayout, type RowReduction } from './losses.js';
import { checkCount, checkF32, checkFinite, checkSize } from './validate.js';

export { TORCH_LOSS_KINDS, TORCH_REDUCTIONS, torchLossIsClassIndexed };
export type { TorchLossKind, TorchReduction };

/** PyTorch's default ignore_index of CrossEntropyLoss and NLLLoss. */
export const TORCH_IGNORE_INDEX = -100;

/**
 * A PyTorch 1.13 loss (torch.nn: BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss,
 * MSELoss, L1Loss) over input [rows, cols]: formulas in shaders/losses.ts.
 */
export interface TorchLossSpec {
  kind: TorchLossKind;
  /** The batch N. */
  rows: number;
  /** The features (element-wise kinds) or classes C (torch_cross_entropy, torch_nll). */
  cols: number;
  /** PyTorch's reduction, default 'mean'. */
  reduction?: TorchReduction;
  /**
   * The upstream gradient: d(final)/d(output) for 'mean'/'sum' (what backward() starts
   * from, default 1); for 'none' a factor on grad_output (or, without that buffer, the
   * upstream gradient of every output value). Multiplies the gradient, not the loss.
   */
  gradScale?: number;
  /** torch_cross_entropy / torch_nll only: the class id whose rows count nothing, default −100. */
  ignoreIndex?: number;
  /** Pins how a row is reduced (tests); by default rowLayout's choice for the engine. */
  rowReduction?: RowReduction;
}

export interface TorchLossBuffers {
  /** f32 [rows, cols]: probabilities (bce), logits (bce_with_logits, cross_entropy), log-probabilities (nll), or predictions. */
  input: Bindable;
  /** f32 [rows, cols], or for torch_cross_entropy / torch_nll u32 [rows] class ids (i32 bits). */
  target: Bindable;
  /**
   * 'none': f32 [rows, cols] element losses, or [rows] for torch_cross_entropy / torch_nll;
   * 'mean' / 'sum': f32 [1].
   */
  output: Bindable;
  /** f32 [rows, cols]: d(loss)/d(input) as PyTorch's backward gives it. */
  gradInput: Bindable;
  /** torch_cross_entropy / torch_nll only: the class weights f32 [cols] (PyTorch's `weight`). */
  weight?: Bindable;
  /** 'none' only: the upstream gradient, the shape of output (grad_output of backward()). */
  gradOutput?: Bindable;
  /**
   * 'mean' / 'sum': f32 [rows + 1] scratch (row partial sums, and the divisor of CE/NLL
   * 'mean'), owned by the caller; without it each call creates and frees a temporary one.
   */
  scratch?: GPUBuffer;
}

interface ResolvedTorchLoss {
  kind: TorchLossKind;
  rows: number;
  cols: number;
  reduction: TorchReduction;
  gradScale: number;
  ignoreIndex: number;
}

/** Checks a TorchLossSpec (a RangeError naming the bad field) and fills in its defaults. */
export function resolveTorchLossSpec(spec: TorchLossSpec): ResolvedTorchLoss {
  const { kind, rows, cols } = spec;
  const reduction = spec.reduction ?? 'mean';
  const what = `torch loss ${kind} [${rows}, ${cols}]`;
  if (!(TORCH_LOSS_KINDS as readonly string[]).includes(kind)) {
    throw new RangeError(`${what}: unknown kind; expected one of ${TORCH_LOSS_KINDS.join(', ')}`);
  }
  if (!(TORCH_REDUCTIONS as readonly string[]).includes(reduction)) {
    throw new RangeError(
      `${what}: reduction must be one of ${TORCH_REDUCTIONS.join(', ')}, got '${reduction}'`,
    );
  }
  checkCount(what, 'rows', rows, 1, MAX_COUNT);
  checkCount(what, 'cols', cols, 1, MAX_COUNT);
  if (rows * cols > MAX_COUNT) {
    throw new RangeError(`${what}: rows·cols ${rows * cols} exceeds ${MAX_COUNT}`);
  }
  const gradScale = spec.gradScale ?? 1;
  checkFinite(what, 'gradScale', gradScale);
  const classIds = torchLossIsClassIndexed(kind);
  if (spec.ignoreIndex !== undefined && !classIds) {
    throw new RangeError(`${what}: ignoreIndex applies to torch_cross_entropy and torch_nll only`);
  }
  const ignoreIndex = spec.ignoreIndex ?? TORCH_IGNORE_INDEX;
  checkCount(what, 'ignoreIndex', ignoreIndex, -(2 ** 31), 2 ** 31 - 1);
  return { kind, rows, cols, reduction, gradScale, ignoreIndex };
}

/**
 * A PyTorch loss and its input gradient (shaders/losses.ts, torchLossShader): 'none' writes
 * the element (CE/NLL: row) losses; 'mean'/'sum' write the one reduced loss into output[0].
 * gradInput is what PyTorch's backward gives for the upstream gradient gradScale (times
 * gradOutput for 'none'; without gradOutput, the gradient of the sum of the 'none' values).
 * Dispatches: CE/NLL 'mean' first sums the kept rows' weights (one workgroup); the row pass;
 * 'mean'/'sum' end with a one-workgroup sum of the row partials.
 */
export function encodeTorchLoss(engine: Engine, spec: TorchLossSpec, buffers: TorchLossBuffers): void {
  const r = resolveTorchLossSpec(spec);
  const { kind, rows, cols, reduction } = r;
  const what = `torch loss ${kind} [${rows}, ${cols}] (${reduction})`;
  const classIds = torchLossIsClassIndexed(kind);
  const n = rows * cols;
  const shape = `[${rows}, ${cols}]`;
  if (buffers.weight && !classIds) {
    throw new RangeError(`${what}: class weights apply to torch_cross_entropy and torch_nll only`);
  }
  if (buffers.gradOutput && reduction !== 'none') {
    throw new RangeError(`${what}: gradOutput applies to reduction 'none' only (use gradScale)`);
  }
  checkF32(what, 'input', buffers.input, n, shape);
  if (classIds) checkSize(what, 'target', buffers.target, rows * 4, `[${rows}] u32`);
  else checkF32(what, 'target', buffers.target, n, shape);
  const outCount = reduction !== 'none' ? 1 : classIds ? rows : n;
  const outShape = reduction !== 'none' ? '[1]' : classIds ? `[${rows}]` : shape;
  checkF32(what, 'output', buffers.output, outCount, outShape);
  checkF32(what, 'gradInput', buffers.gradInput, n, shape);
  if (buffers.weight) checkF32(what, 'weight', buffers.weight, cols, `[${cols}]`);
  if (buffers.gradOutput) checkF32(what, 'gradOutput', buffers.gradOutput, outCount, outShape);
  const reduced = reduction !== 'none';
  if (reduced && buffers.scratch) checkF32(what, 'scratch', buffers.scratch, rows + 1, `[${rows + 1}]`);

  const weighted = buffers.weight !== undefined;
  const meanOfWeights = classIds && reduction === 'mean';
  const divisor = !classIds && reduction === 'mean' ? Math.fround(n) : 1;
  const row = rowLayout(engine, cols, spec.rowReduction, what);
  const tpr = row.tpr;
  const label = `loss_${kind}_${reduction}${row.suffix}`;
  const words = packParams([rows, cols, tpr, r.ignoreIndex >>> 0], [r.gradScale, divisor]);
  const params = engine.tempUniform(words, `${label} params`);

  let temporary: GPUBuffer | undefined;
  let scratch: Bindable | undefined;
  if (reduced) {
    scratch = buffers.scratch;
    if (!scratch) {
      temporary = engine.createBuffer({
        size: (rows + 1) * 4,
        usage: GPUBufferUsage.STORAGE,
        label: `${label} scratch`,
      });
      scratch = temporary;
    }
  }
  if (meanOfWeights && scratch) {
    const totalLabel = `loss_torch_weight_total${weighted ? '_weighted' : ''}`;
    const bound = [buffers.target, scratch, params];
    if (buffers.weight) bound.push(buffers.weight);
    // One add per row; the ids read (and a weight each), the total written.
    engine.dispatch(engine.pipeline(torchWeightTotalShader(weighted), totalLabel), bound, [1], totalLabel, {
      flops: rows,
      bytes: 4 * (rows * (weighted ? 2 : 1) + 1),
    });
  }

  const variant = { kind, reduction, weighted, gradOutput: buffers.gradOutput !== undefined };
  const pipeline = engine.pipeline(
    torchLossShader(variant, row.reduction),
    `${label}${weighted ? '_weighted' : ''}${variant.gradOutput ? '_grad_output' : ''}`,
  );
  const bound: Bindable[] = [
    buffers.input,
    buffers.target,
    scratch ?? buffers.output,
    buffers.gradInput,
    params,
  ];
  if (buffers.weight) bound.push(buffers.weight);
  if (buffers.gradOutput) bound.push(buffers.gradOutput);
  // TORCH_LOSS_FLOPS per element; input read, the gradient written, the targets read
  // ([rows, cols] f32 or [rows] ids), the outputs written (and grad_output read).
  const targetWords = classIds ? rows : n;
  const outWords = reduced ? rows : outCount;
  const work = {
    flops: TORCH_LOSS_FLOPS[kind] * n,
    bytes: 4 * (2 * n + targetWords + outWords + (buffers.gradOutput ? outCount : 0)),
  };
  engine.dispatch(pipeline, bound, engine.dispatchGrid(rows, WORKGROUP_1D / tpr), label, work);

  if (reduced && scratch) {
    const reduceLabel = `loss_torch_reduce${meanOfWeights ? '_weights' : ''}`;
    engine.dispatch(
      engine.pipeline(torchReduceShader(meanOfWeights), reduceLabel),
      [scratch, buffers.output, params],
      [1],
      reduceLabel,
      // One add per row and the division; the partials read, the loss written.
      { flops: rows + 1, bytes: 4 * (rows + 2) },
    );
  }
  if (temporary) engine.releaseBuffer(temporary);
}

/**
 * Floating-point operations per input element of the row pass, as shaders/losses.ts forms
 * them (both sides of each select, which WGSL evaluates), with the upstream scaling (2).
 * cross_entropy: the max 1, exp and its sum 3, the gradient 5; nll: the select and scale.
 */
const TORCH_LOSS_FLOPS: Record<TorchLossKind, number> = {
  torch_bce: 24,
  torch_bce_with_logits: 17,
  torch_cross_entropy: 9,
  torch_nll: 2,
  torch_mse: 6,
  torch_l1: 6,
};

/**
 * Float64 reference of encodeTorchLoss: output ('none': [rows, cols] or [rows] for CE/NLL;
 * 'mean'/'sum': [1]) and gradInput [rows, cols]. target: f32 values or class ids; weight:
 * the class weights [cols]; gradOutput: 'none''s upstream gradient (ones without it).
 * PyTorch's formulas in float64 (the −100 log clamp and the 1e-12 BCE denominator floor
 * included); a bad input (a BCE probability outside [0, 1], a class id outside [0, cols)
 * that is not ignoreIndex) gives NaN where PyTorch raises.
 */
export function torchLossReference(
  spec: TorchLossSpec,
  input: ArrayLike<number>,
  target: ArrayLike<number>,
  options: { weight?: ArrayLike<number>; gradOutput?: ArrayLike<number> } = {},
): { output: Float64Array; gradInput: Float64Array } {
  const { kind, rows, cols, reduction, gradScale, ignoreIndex } = resolveTorchLossSpec(spec);
  const n = rows * cols;
  const at = (a: ArrayLike<number>, i: number): number => a[i] ?? NaN;
  const up = (i: number): number => gradScale * (options.gradOutput ? at(options.gradOutput, i) : 1);
  const grad = new Float64Array(n);
  if (!torchLossIsClassIndexed(kind)) {
    const values = new Float64Array(n);
    const slopes = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      [values[i], slopes[i]] = torchElementReference(kind, at(input, i), at(target, i));
    }
    const divisor = reduction === 'mean' ? n : 1;
    for (let i = 0; i < n; i++)
      grad[i] = (at(slopes, i) * (reduction === 'none' ? up(i) : gradScale)) / divisor;
    if (reduction === 'none') return { output: values, gradInput: grad };
    let sum = 0;
    for (let i = 0; i < n; i++) sum += at(values, i);
    return { output: Float64Array.of(sum / divisor), gradInput: grad };
  }

  const losses = new Float64Array(rows);
  const weights = new Float64Array(rows);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const id = at(target, r);
    const x = Array.from({ length: cols }, (_, j) => at(input, r * cols + j));
    if (id === ignoreIndex) {
      // Loss 0; the gradient 0 (NaN through log_softmax's backward for a NaN row).
      if (kind === 'torch_cross_entropy' && x.some(Number.isNaN)) grad.fill(NaN, r * cols, (r + 1) * cols);
      continue;
    }
    if (!(Number.isInteger(id) && id >= 0 && id < cols)) {
      losses[r] = NaN;
      weights[r] = NaN;
      total = NaN;
      grad.fill(NaN, r * cols, (r + 1) * cols);
      continue;
    }
    const w = options.weight ? at(options.weight, id) : 1;
    weights[r] = w;
    total += w;
    if (kind === 'torch_nll') {
      losses[r] = -w * at(x, id);
      continue;
    }
    if (x.some(Number.isNaN)) {
      losses[r] = NaN;
      grad.fill(NaN, r * cols, (r + 1) * cols);
      continue;
    }
    const m = Math.max(...x);
    let s = 0;
    for (const v of x) s += Math.exp(v - m);
    losses[r] = w * (m - at(x, id) + Math.log(s));
  }
  const divisor = reduction === 'mean' ? total : 1;
  for (let r = 0; r < rows; r++) {
    const id = at(target, r);
    if (id === ignoreIndex || !(Number.isInteger(id) && id >= 0 && id < cols)) continue;
    const factor = (at(weights, r) * (reduction === 'none' ? up(r) : gradScale)) / divisor;
    const base = r * cols;
    if (kind === 'torch_nll') {
      grad[base + id] = -factor;
      continue;
    }
    if (Number.isNaN(at(losses, r))) continue;
    const x = Array.from({ length: cols }, (_, j) => at(input, base + j));
    const m = Math.max(...x);
    let s = 0;
    for (const v of x) s += Math.exp(v - m);
    for (let j = 0; j < cols; j++)
      grad[base + j] = (Math.exp(at(x, j) - m) / s - (j === id ? 1 : 0)) * factor;
  }
  if (reduction === 'none') return { output: losses, gradInput: grad };
  let sum = 0;
  for (let r = 0; r < rows; r++) sum += at(losses, r);
  return { output: Float64Array.of(sum / divisor), gradInput: grad };
}

/** [value, d value / d x] of one element of an element-wise PyTorch loss. */
function torchElementReference(kind: TorchLossKind, x: number, y: number): [number, number] {
  if (Number.isNaN(x) || Number.isNaN(y)) return [NaN, NaN];
  const e = x - y;
  switch (kind) {
    case 'torch_bce': {
      if (x < 0 || x > 1) return [NaN, NaN];
      const logX = Math.max(Math.log(x), -100);
      const log1mX = Math.max(Math.log1p(-x), -100);
      return [(y - 1) * log1mX - y * logX, e / Math.max(x * (1 - x), 1e-12)];
    }
    case 'torch_bce_with_logits': {
      const sigmoid = x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
      return [Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x))), sigmoid - y];
    }
    case 'torch_mse':
      return [e * e, 2 * e];
    case 'torch_l1':
      return [Math.abs(e), e > 0 ? 1 : e < 0 ? -1 : 0];
    default:
      throw new RangeError(`${kind} is not an element-wise loss`);
  }
}
