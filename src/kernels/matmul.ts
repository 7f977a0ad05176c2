/**
 * Matrix products C = op(A)·op(B) with a fused epilogue (bias, activation, pre-activation
 * store; or the activation-gradient product C = op(A)·op(B) ⊙ f'(S)) or accumulation into C:
 * validation, kernel and tile choice, dispatch, and the float64 reference. The WGSL lives in
 * shaders/matmul.ts (the tiled kernel) and shaders/matmul-thin.ts (the barrier-free one, in
 * row blocks of at most THIN_MAX_M rows: C of at most that many rows, and on a CPU adapter
 * taller products; see matmulKernelFor).
 */
import {
  activationFromY,
  defaultAlpha,
  SELU_ALPHA,
  SELU_SCALE,
  type Activation,
  type ActivationSpec,
} from '../../shaders/activations.js';
import {
  matmulParams,
  matmulShader,
  matmulSplitReduceShader,
  matmulWorkgroupBytes,
  type MatmulTiling,
  type MatmulVariant,
} from '../../shaders/matmul.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import {
  MATMUL_THIN_MAX_M,
  matmulThinShader,
  matmulThinWorkgroupBytes,
  type MatmulThinTiling,
} from '../../shaders/matmul-thin.js';
import { bufferOf, type Bindable, type DispatchWork, type Engine } from '../gpu/engine.js';
import { WEIGHT_GRADIENT_MIN_M, type KernelProfile } from '../gpu/profile.js';
import { lookupTiling } from './tune-table.js';
import { activationReference } from './activations.js';
import { checkCount, checkF32 } from './validate.js';
import { suggest } from '../util/suggest.js';

export type { MatmulThinTiling, MatmulTiling };

export interface MatmulSpec {
  /** C is [m, n] row-major; the product runs over k. */
  m: number;
  n: number;
  k: number;
  /** false: A stored [m, k]; true: A stored [k, m] (C = Aᵀ·B, e.g. dW = Xᵀ·dY). */
  transA?: boolean;
  /** false: B stored [k, n]; true: B stored [n, k] (C = A·Bᵀ, e.g. dX = dY·Wᵀ). */
  transB?: boolean;
  /** + bias[n], broadcast over rows. */
  bias?: boolean;
  /** Applied after the bias; default linear. */
  activation?: ActivationSpec;
  /** Also store z = A·B (+ bias) into buffers.preActivation. */
  writePreActivation?: boolean;
  /** C += A·B (gradient accumulation); only without bias, activation or pre-activation. */
  accumulate?: boolean;
  /**
   * C = op(A)·op(B) ⊙ f'(S), S = buffers.gradSource [m, n]: the backward dX = (dY·Wᵀ) ⊙ f'
   * of the activation f of the layer below, in the same pass. from 'y': S holds f's output
   * (only where activationFromY(activation)); from 'x': S holds f's input. Not with bias,
   * activation, writePreActivation or accumulate; f must not be linear.
   */
  gradActivation?: { activation: ActivationSpec; from: 'x' | 'y' };
  /**
   * Also write buffers.columnSums[j] = Σ_p op(B)[p, j] (added to it with accumulate): the
   * bias gradient Σ_rows dY in the pass of the weight gradient Xᵀ·dY, one dispatch fewer.
   * Only with transA and without transB, bias, activation, writePreActivation or
   * gradActivation; runs the tiled kernel.
   */
  columnSums?: boolean;
}

export interface MatmulBuffers {
  a: Bindable;
  b: Bindable;
  c: Bindable;
  bias?: Bindable;
  preActivation?: Bindable;
  /** S for spec.gradActivation: [m, n] f32, read only. */
  gradSource?: Bindable;
  /** The column sums of op(B) for spec.columnSums: [n] f32. */
  columnSums?: Bindable;
}

/**
 * 8×8 threads, each computing 2×2 blocks of 4×4 outputs: a 64×64 tile of C per workgroup,
 * k in steps of 8, 4 KiB of workgroup memory. Measured on lavapipe and SwiftShader (512³ and
 * 256³): 2×2 blocks per thread run about 2x faster than one block (each value read from
 * workgroup memory feeds twice the multiply-adds), and larger k-steps gain little on lavapipe
 * and nothing on SwiftShader, whose shader compile time grows with the workgroup memory
 * declared (about 0.1 s per KiB). No row padding: with 8 threads along n, each group of 8
 * neighbouring threads reads one broadcast vec4 of the A window and 8 consecutive vec4s of
 * the B window, which no padding improves.
 */
export const DEFAULT_TILING: MatmulTiling = { wgX: 8, wgY: 8, bm: 2, bn: 2, tk: 8, pad: false };

/**
 * "matmul 8x784·784x64", with the operands in their stored shapes and a ᵀ on transposed ones,
 * and " ⊙ relu'(y)" for a gradient epilogue.
 */
export function describeMatmul(spec: MatmulSpec): string {
  const { m, n, k } = spec;
  const a = spec.transA ? `(${k}x${m})ᵀ` : `${m}x${k}`;
  const b = spec.transB ? `(${n}x${k})ᵀ` : `${k}x${n}`;
  const g = spec.gradActivation;
  return `matmul ${a}·${b}${g ? ` ⊙ ${g.activation.name}'(${g.from})` : ''}${spec.columnSums ? ' + Σ rows' : ''}`;
}

/** "NT", and "NT_dact_relu" with a gradient epilogue (pipeline and dispatch labels). */
function variantName(spec: MatmulSpec): string {
  const g = spec.gradActivation;
  const t = `${spec.transA ? 'T' : 'N'}${spec.transB ? 'T' : 'N'}`;
  return `${t}${g ? `_dact_${g.activation.name}` : ''}${spec.columnSums ? '_sums' : ''}`;
}

/**
 * Throws on a spec no kernel can run: bad sizes, accumulate mixed with an epilogue, or a
 * gradient epilogue mixed with another or with no gradient from its source.
 */
export function validateMatmulSpec(spec: MatmulSpec): void {
  const what = describeMatmul(spec);
  const { m, n, k } = spec;
  for (const dim of ['m', 'n', 'k'] as const) checkCount(what, dim, spec[dim], 1);
  // The elements of each operand are indexed by u32.
  checkCount(what, 'm × k (A)', m * k, 1);
  checkCount(what, 'k × n (B)', k * n, 1);
  checkCount(what, 'm × n (C)', m * n, 1);
  const linear = spec.activation === undefined || spec.activation.name === 'linear';
  if (spec.accumulate && (spec.bias || !linear || spec.writePreActivation)) {
    const epilogue = [
      spec.bias ? 'bias' : '',
      linear ? '' : `activation '${spec.activation?.name}'`,
      spec.writePreActivation ? 'writePreActivation' : '',
    ].filter((s) => s);
    throw new TypeError(
      `${what}: accumulate (C += A·B) cannot be combined with ${epilogue.join(', ')}; ` +
        'apply the epilogue in a separate pass',
    );
  }
  /** Throws when `others` (the parts of the spec a fused feature excludes) is not empty. */
  const refuse = (feature: string, others: string[]): void => {
    const set = others.filter((s) => s);
    if (set.length > 0) throw new TypeError(`${what}: ${feature} cannot be combined with ${set.join(', ')}`);
  };
  if (spec.columnSums) {
    refuse('columnSums (the weight and bias gradients Aᵀ·B and Σ rows of B)', [
      spec.transA ? '' : 'an untransposed A',
      spec.transB ? 'transB' : '',
      spec.bias ? 'bias' : '',
      linear ? '' : `activation '${spec.activation?.name}'`,
      spec.writePreActivation ? 'writePreActivation' : '',
      spec.gradActivation ? 'gradActivation' : '',
    ]);
  }
  const g = spec.gradActivation;
  if (g !== undefined) {
    refuse("gradActivation (C = A·B ⊙ f'(S))", [
      spec.bias ? 'bias' : '',
      linear ? '' : `activation '${spec.activation?.name}'`,
      spec.writePreActivation ? 'writePreActivation' : '',
      spec.accumulate ? 'accumulate' : '',
    ]);
    const from: unknown = g.from;
    if (from !== 'x' && from !== 'y') {
      throw new TypeError(`${what}: gradActivation.from must be 'x' or 'y', got ${String(from)}`);
    }
    if (g.activation.name === 'linear') {
      throw new TypeError(`${what}: gradActivation with a linear activation has nothing to fuse (f' = 1)`);
    }
    if (g.from === 'y' && !activationFromY(g.activation)) {
      throw new TypeError(
        `${what}: the gradient of '${g.activation.name}' (alpha ${g.activation.alpha ?? defaultAlpha(g.activation.name)}) ` +
          'cannot be computed from its output y (gelu and gelu_tanh never, elu and leaky_relu only with alpha >= 0); ' +
          "use from: 'x' with the pre-activation",
      );
    }
  }
}

/**
 * The tiling encodeMatmul uses for `spec` on an engine with `profile` (src/gpu/profile.ts):
 * DEFAULT_TILING, with one block per thread along a dimension of 32 or less (a 32-row tile
 * for a small batch, a 32-column one for a narrow layer), and a 128×16 tile for a product at
 * most 16 wide (a 10-wide output layer), so thin products do not compute mostly padding.
 * That is all without a profile. A profile's weightGradient tiling replaces it for a large
 * weight gradient (isWeightGradient; 'cpu' has one), and otherwise 'cpu' keeps it. A GPU
 * profile takes its own k-step, and where the grid of tiles is smaller than the workgroups
 * that fill the device, first 32×32 tiles, then a split of k (when each chunk keeps at least
 * 4 k-steps).
 */
export function matmulTiling(spec: MatmulSpec, profile?: KernelProfile): MatmulTiling {
  const g = profile?.weightGradient;
  if (g && isWeightGradient(spec)) return { ...DEFAULT_TILING, ...g };
  const base: MatmulTiling =
    spec.n <= 16 && spec.m > 32
      ? { ...DEFAULT_TILING, wgX: 4, wgY: 16, bn: 1 }
      : { ...DEFAULT_TILING, bm: spec.m <= 32 ? 1 : 2, bn: spec.n <= 32 ? 1 : 2 };
  const fill = profile?.fillWorkgroups ?? 0;
  if (!profile || fill === 0) return base;
  let t: MatmulTiling = { ...base, tk: profile.matmulTk };
  if (tileCount(spec, t) < fill && (t.bm > 1 || t.bn > 1)) t = { ...t, bm: 1, bn: 1 };
  const tiles = tileCount(spec, t);
  const splits = Math.min(MAX_SPLIT_K, Math.ceil(fill / tiles), Math.floor(spec.k / (4 * t.tk)));
  return tiles < fill && splits >= 2 ? { ...t, splitK: splits } : t;
}

/**
 * A weight gradient Xᵀ·dY that a profile's weightGradient tiling takes: A transposed, B
 * not, at least WEIGHT_GRADIENT_MIN_M rows, more than 16 columns. On lavapipe (wall time of
 * repeated dispatches with column sums) 4×2 blocks in k-steps of 16 take 784×512 at k = 32
 * and 128 and 512×512 at k = 32 in 70–80% of the time of the default 2×2 blocks in k-steps
 * of 8; on SwiftShader (Dawn in Node, k-step 8) 512×512 at k = 128 in 65%, 784×512 at
 * k = 32 in 85%. Not below 256 rows, where a 128-row tile is mostly edge (100 rows: 15%
 * slower), nor for the forward and input-gradient products, where the thin kernel stays
 * faster (tiled 4×2: 14.2 against 12.8 ms at 128×512×784 on lavapipe).
 */
function isWeightGradient(spec: MatmulSpec): boolean {
  return (spec.transA ?? false) && !(spec.transB ?? false) && spec.m >= WEIGHT_GRADIENT_MIN_M && spec.n > 16;
}

/** The most chunks matmulTiling splits k into. */
export const MAX_SPLIT_K = 16;

/** Tiles of C under tiling `t`. */
function tileCount(spec: MatmulSpec, t: MatmulTiling): number {
  return Math.ceil(spec.m / (4 * t.bm * t.wgY)) * Math.ceil(spec.n / (4 * t.bn * t.wgX));
}

/** The keys of a MatmulTiling (any other is a mistake, e.g. a misspelt prefetch). */
const TILING_KEYS = ['wgX', 'wgY', 'bm', 'bn', 'tk', 'pad', 'splitK', 'prefetch'] as const;

function checkTiling(engine: Engine, spec: MatmulSpec, t: MatmulTiling): void {
  const what = `matmul tiling ${JSON.stringify(t)}`;
  for (const key of Object.keys(t)) {
    if ((TILING_KEYS as readonly string[]).includes(key)) continue;
    const close = suggest(key, TILING_KEYS);
    throw new RangeError(`${what}: unknown key '${key}'${close ? `; did you mean '${close}'?` : ''}`);
  }
  for (const key of ['wgX', 'wgY', 'bm', 'bn', 'tk'] as const) checkCount(what, key, t[key], 1);
  if (t.tk % 4 !== 0) throw new RangeError(`${what}: tk must be a multiple of 4, got ${t.tk}`);
  if (t.splitK !== undefined) checkCount(what, 'splitK', t.splitK, 1);
  const prefetch: unknown = t.prefetch;
  if (prefetch !== undefined && typeof prefetch !== 'boolean') {
    throw new RangeError(`${what}: prefetch must be true or false, got ${String(prefetch)}`);
  }
  const threads = t.wgX * t.wgY;
  const bytes = matmulWorkgroupBytes(t, spec.transA ?? false);
  if (threads > engine.limits.maxComputeInvocationsPerWorkgroup) {
    throw new RangeError(
      `matmul tiling needs ${threads} invocations per workgroup, over this adapter's limit`,
    );
  }
  if (bytes > engine.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `matmul tiling needs ${bytes} bytes of workgroup storage, over this adapter's limit`,
    );
  }
}

/** Rows of C up to which encodeMatmul runs the thin kernel (see matmulKernelFor). */
export const THIN_MAX_M = MATMUL_THIN_MAX_M;

/**
 * The kernel encodeMatmul runs for `spec` without a tiling override, on an engine whose
 * kernel profile is `profile` (none: a GPU's choice):
 * - 'thin' for C of at most THIN_MAX_M (8) rows, whatever the transposes (one thread per
 *   column quad and k-slice; shaders/matmul-thin.ts). Measured (GPU time of one dispatch,
 *   512 columns, k = 784): on lavapipe the thin kernel takes 0.4 ms at m = 1 and 1.5–2 ms at
 *   m = 8, where the tiled one takes 6–12 ms (a 32-row tile whatever m); on SwiftShader 1.6
 *   and 5.7 ms against 60–70 ms.
 * - On a CPU adapter (profile thin 'cpu') also every product whose A is not transposed, in
 *   row blocks of at most 8 rows: it has no barrier, which a CPU adapter runs workgroup by
 *   workgroup. Measured on SwiftShader (`npm run bench:matmul:chromium`) it runs the MLP's
 *   forward and input-gradient products at batch 32–1024 and the squares to 1024³ 2–5× as
 *   fast as the tiled kernel; on lavapipe as fast or faster (2× for the 10-wide layer). With
 *   A transposed (the weight gradients Xᵀ·dY, which read A by columns) it is slower on
 *   lavapipe than the tiled kernel, which keeps them; on SwiftShader 1.2–2× as fast (the
 *   profile's thinTransA). A training step's weight gradients write the bias gradients too
 *   (columnSums), so they stay tiled.
 * - 'tiled' otherwise, and always for columnSums.
 */
export function matmulKernelFor(
  spec: MatmulSpec,
  profile?: Pick<KernelProfile, 'thin' | 'thinTransA'>,
): 'thin' | 'tiled' {
  if (spec.columnSums) return 'tiled';
  if (spec.m <= THIN_MAX_M) return 'thin';
  if (profile?.thin !== 'cpu') return 'tiled';
  return !(spec.transA ?? false) || profile.thinTransA ? 'thin' : 'tiled';
}

/**
 * The thin kernel's geometry for `spec`. On a CPU adapter (`cpu`: the profile's thin 'cpu')
 * 32 column quads and one k-slice: no barrier, which lavapipe and SwiftShader run 20–30%
 * faster than 2–16 slices. 32 quads rather than 16: on lavapipe 1.3–1.6× as fast at m = 8
 * and from m = 128 (GPU time, 512 columns), the same on SwiftShader. On a GPU 64 threads,
 * up to 8 column quads and the rest k-slices (a 10-wide C: 4 quads × 16 slices), so that a
 * narrow C or a long k still keeps threads in flight.
 */
export function matmulThinTiling(spec: MatmulSpec, cpu: boolean): MatmulThinTiling {
  if (cpu) return { quads: 32, slices: 1 };
  const quads = Math.min(8, 2 ** Math.ceil(Math.log2(Math.ceil(spec.n / 4))));
  return { quads, slices: 64 / quads };
}

/**
 * Rows of C a workgroup of the thin kernel computes (its row block): all of them up to
 * THIN_MAX_M, else the blocks' rows as even as THIN_MAX_M allows (m = 32: 4 blocks of 8;
 * m = 20: 3 blocks of 7, the last of 6).
 */
export function thinBlockRows(m: number): number {
  return Math.ceil(m / Math.ceil(m / THIN_MAX_M));
}

function isThin(t: MatmulTiling | MatmulThinTiling): t is MatmulThinTiling {
  return 'slices' in t;
}

function checkThinTiling(engine: Engine, spec: MatmulSpec, t: MatmulThinTiling): void {
  for (const key of ['quads', 'slices'] as const) {
    checkCount(`matmul thin tiling ${JSON.stringify(t)}`, key, t[key], 1);
  }
  if (t.quads * t.slices > engine.limits.maxComputeInvocationsPerWorkgroup) {
    throw new RangeError(
      `matmul thin tiling needs ${t.quads * t.slices} invocations per workgroup, over this adapter's limit`,
    );
  }
  const bytes = matmulThinWorkgroupBytes({ m: thinBlockRows(spec.m) }, t);
  if (bytes > engine.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `matmul thin tiling needs ${bytes} bytes of workgroup storage, over this adapter's limit`,
    );
  }
}

/**
 * Encodes C = act(op(A)·op(B) + bias) (or C += op(A)·op(B)) into the engine's pending work.
 * All buffers hold f32; no output may be an input. The kernel is matmulKernelFor(spec), with
 * matmulThinTiling(spec, cpu) or matmulTiling(spec, engine.profile); `tiling`
 * overrides both (for tests and benchmarks): a MatmulTiling runs the tiled kernel, a
 * MatmulThinTiling the thin one. Either way the dispatch is labelled
 * `${label}_${variant} ${m}x${n}x${k}` (e.g. "dense_NN 1x512x784") and declares matmulWork(spec).
 */
export function encodeMatmul(
  engine: Engine,
  spec: MatmulSpec,
  buffers: MatmulBuffers,
  label = 'matmul',
  tiling?: MatmulTiling | MatmulThinTiling,
): void {
  validateMatmulSpec(spec);
  const { m, n, k } = spec;
  const transA = spec.transA ?? false;
  const transB = spec.transB ?? false;
  const what = describeMatmul(spec);
  if (spec.bias && !buffers.bias)
    throw new TypeError(`${what}: spec.bias is set but no bias buffer was given`);
  if (!spec.bias && buffers.bias)
    throw new TypeError(`${what}: a bias buffer was given but spec.bias is not set`);
  if (spec.writePreActivation && !buffers.preActivation) {
    throw new TypeError(`${what}: spec.writePreActivation is set but no preActivation buffer was given`);
  }
  if (!spec.writePreActivation && buffers.preActivation) {
    throw new TypeError(`${what}: a preActivation buffer was given but spec.writePreActivation is not set`);
  }
  if (spec.gradActivation && !buffers.gradSource) {
    throw new TypeError(`${what}: spec.gradActivation is set but no gradSource buffer was given`);
  }
  if (!spec.gradActivation && buffers.gradSource) {
    throw new TypeError(`${what}: a gradSource buffer was given but spec.gradActivation is not set`);
  }
  if (spec.columnSums && !buffers.columnSums) {
    throw new TypeError(`${what}: spec.columnSums is set but no columnSums buffer was given`);
  }
  if (!spec.columnSums && buffers.columnSums) {
    throw new TypeError(`${what}: a columnSums buffer was given but spec.columnSums is not set`);
  }
  checkF32(what, 'A', buffers.a, m * k, transA ? `[${k}, ${m}]` : `[${m}, ${k}]`);
  checkF32(what, 'B', buffers.b, k * n, transB ? `[${n}, ${k}]` : `[${k}, ${n}]`);
  checkF32(what, 'C', buffers.c, m * n, `[${m}, ${n}]`);
  if (buffers.bias) checkF32(what, 'bias', buffers.bias, n, `[${n}]`);
  if (buffers.preActivation) checkF32(what, 'preActivation', buffers.preActivation, m * n, `[${m}, ${n}]`);
  if (buffers.gradSource) checkF32(what, 'gradSource', buffers.gradSource, m * n, `[${m}, ${n}]`);
  if (buffers.columnSums) checkF32(what, 'columnSums', buffers.columnSums, n, `[${n}]`);
  const written = [buffers.c, buffers.preActivation, buffers.columnSums];
  for (const [name, read] of [
    ['A', buffers.a],
    ['B', buffers.b],
    ['bias', buffers.bias],
  ] as const) {
    if (read && written.includes(read)) {
      throw new TypeError(`${what}: ${name} and an output are the same buffer "${read.label}"`);
    }
  }
  // Also slices of one buffer: WebGPU refuses a buffer bound both writable and read-only.
  if (buffers.gradSource && bufferOf(buffers.gradSource) === bufferOf(buffers.c)) {
    throw new TypeError(
      `${what}: gradSource "${buffers.gradSource.label}" and C "${buffers.c.label}" are (in) the same buffer`,
    );
  }
  if (buffers.preActivation === buffers.c) {
    throw new TypeError(`${what}: C and preActivation are the same buffer "${buffers.c.label}"`);
  }
  if (buffers.columnSums === buffers.c) {
    throw new TypeError(`${what}: C and columnSums are the same buffer "${buffers.c.label}"`);
  }

  const variant: MatmulVariant = {
    transA,
    transB,
    vecA: (transA ? m : k) % 4 === 0,
    vecB: (transB ? k : n) % 4 === 0,
    vecC: n % 4 === 0,
    bias: spec.bias ?? false,
    activation: spec.activation,
    writePreActivation: spec.writePreActivation ?? false,
    accumulate: spec.accumulate ?? false,
    gradActivation: spec.gradActivation,
    columnSums: spec.columnSums ?? false,
  };
  const name = `${label}_${variantName(spec)}`;
  const bindings: Bindable[] = [buffers.a, buffers.b, buffers.c];
  const extra = [buffers.bias, buffers.preActivation, buffers.gradSource, buffers.columnSums].filter(
    (b) => b !== undefined,
  );
  const chosen =
    tiling ??
    (matmulKernelFor(spec, engine.profile) === 'thin'
      ? matmulThinTiling(spec, engine.profile.thin === 'cpu')
      : (lookupTiling(engine, spec) ?? matmulTiling(spec, engine.profile)));
  const label0 = `${name} ${m}x${n}x${k}`;
  if (isThin(chosen)) {
    if (spec.columnSums) throw new TypeError(`${what}: columnSums runs the tiled kernel, not the thin one`);
    checkThinTiling(engine, spec, chosen);
    const quadsN = Math.ceil(n / 4);
    const colGroups = Math.ceil(quadsN / chosen.quads);
    const rows = thinBlockRows(m);
    const groups = colGroups * Math.ceil(m / rows);
    const params = engine.tempUniform(
      new Uint32Array([m, n, k, quadsN, groups, Math.floor(k / 4), colGroups, 0]),
      `${name} params`,
    );
    const thinVariant = { ...variant, m: rows, rowTail: m % rows !== 0, kTail: k % 4 !== 0 };
    engine.dispatch(
      engine.pipeline(matmulThinShader(thinVariant, chosen), `${name}_thin`),
      [...bindings, params, ...extra],
      engine.dispatchGrid(groups, 1),
      label0,
      matmulWork(spec),
    );
    return;
  }
  checkTiling(engine, spec, chosen);
  const tilesN = Math.ceil(n / (4 * chosen.bn * chosen.wgX));
  const tiles = Math.ceil(m / (4 * chosen.bm * chosen.wgY)) * tilesN;
  const kQuads = chosen.tk / 4;
  // Chunks of whole k-steps: asked for more chunks than k has steps, fewer are made.
  const kChunk = Math.ceil(Math.ceil(k / (chosen.splitK ?? 1)) / chosen.tk) * chosen.tk;
  const splits = Math.ceil(k / kChunk);
  if (splits <= 1) {
    const params = engine.tempUniform(
      matmulParams({ m, n, k, tilesN, tiles, kQuads, kChunk: k, splits: 1, rowsPerSplit: m }),
      `${name} params`,
    );
    engine.dispatch(
      engine.pipeline(matmulShader(variant, { ...chosen, splitK: 1 }), name),
      [...bindings, params, ...extra],
      engine.dispatchGrid(tiles, 1),
      label0,
      matmulWork(spec),
    );
    return;
  }
  // Split k: each chunk writes its partial product (and its share of the column sums, in one
  // more row) into a scratch buffer; a second kernel adds them in order and applies the
  // epilogue.
  const rowsPerSplit = m + (spec.columnSums ? 1 : 0);
  const partial = engine.createBuffer({
    size: 4 * splits * rowsPerSplit * n,
    usage: GPUBufferUsage.STORAGE,
    label: `${name} partial products [${splits}, ${rowsPerSplit}, ${n}]`,
  });
  const params = engine.tempUniform(
    matmulParams({ m, n, k, tilesN, tiles, kQuads, kChunk, splits, rowsPerSplit }),
    `${name} params`,
  );
  const work = splitWork(spec, splits * rowsPerSplit * n);
  engine.dispatch(
    engine.pipeline(matmulShader(variant, { ...chosen, splitK: splits }), `${name}_split`),
    [buffers.a, buffers.b, partial, params],
    engine.dispatchGrid(tiles * splits, 1),
    `${name}_split${splits} ${m}x${n}x${k}`,
    work.product,
  );
  engine.dispatch(
    engine.pipeline(matmulSplitReduceShader(variant), `${name}_split_reduce`),
    [partial, undefined, buffers.c, params, ...extra],
    engine.dispatchGrid(rowsPerSplit * Math.ceil(n / 4), WORKGROUP_1D),
    `${name}_split_reduce ${m}x${n}x${splits}`,
    work.reduce,
  );
  engine.releaseBuffer(partial);
}

/**
 * The work of a split product's two dispatches, `partials` the f32 values of its scratch:
 * the chunks' products (2mnk, the column sums' kn) write them; the reduction reads them,
 * adds them ((chunks − 1) a value) and does what the epilogue of matmulWork(spec) does.
 */
function splitWork(spec: MatmulSpec, partials: number): { product: DispatchWork; reduce: DispatchWork } {
  const { m, n, k } = spec;
  const whole = matmulWork(spec);
  const productFlops = 2 * m * n * k + (spec.columnSums ? k * n : 0);
  const operandBytes = 4 * (m * k + k * n);
  const rows = m + (spec.columnSums ? 1 : 0);
  return {
    product: { flops: productFlops, bytes: operandBytes + 4 * partials },
    reduce: {
      flops: partials - rows * n + (whole.flops - productFlops),
      bytes: 4 * partials + (whole.bytes - operandBytes),
    },
  };
}

/**
 * The work of one encodeMatmul dispatch (padding of partial tiles not counted).
 * flops: 2mnk for the product, plus mn per epilogue operation: the bias add, a non-linear
 * activation (one function evaluation), the accumulate add, and for gradActivation f'(S)
 * and the multiply (2mn).
 * bytes: A, B and C once (4(mk + kn + mn)), plus the bias (4n), the pre-activation store
 * (4mn), C's old value when accumulating (4mn) and S for gradActivation (4mn).
 * columnSums adds kn flops (and n more accumulating) and 4n bytes (8n accumulating).
 */
export function matmulWork(spec: MatmulSpec): DispatchWork {
  const { m, n, k } = spec;
  const mn = m * n;
  const activation = spec.activation !== undefined && spec.activation.name !== 'linear';
  const epilogue = (spec.bias ? 1 : 0) + (activation ? 1 : 0) + (spec.accumulate ? 1 : 0);
  const extraMn =
    (spec.writePreActivation ? 1 : 0) + (spec.accumulate ? 1 : 0) + (spec.gradActivation ? 1 : 0);
  const sums = spec.columnSums ? (spec.accumulate ? 2 : 1) : 0;
  return {
    flops: 2 * mn * k + mn * (epilogue + (spec.gradActivation ? 2 : 0)) + (sums ? k * n + (sums - 1) * n : 0),
    bytes: 4 * (m * k + k * n + mn + (spec.bias ? n : 0) + mn * extraMn + sums * n),
  };
}

// ------------------------------------------------------------ float64 reference

/**
 * f'(x) in float64 from y = f(x), for activations where activationFromY(spec), by the
 * identities f' = g(f): relu 1[y > 0], sigmoid y(1 − y), tanh 1 − y², elu y + α for y ≤ 0,
 * softplus 1 − e^(−y), softsign (1 − |y|)², ... NaN in, NaN out.
 */
export function activationGradFromY(spec: ActivationSpec): (y: number) => number {
  if (!activationFromY(spec)) {
    throw new TypeError(`the gradient of '${spec.name}' cannot be computed from its output y`);
  }
  const a = spec.alpha ?? defaultAlpha(spec.name);
  const table: Partial<Record<Activation, (y: number) => number>> = {
    linear: () => 1,
    relu: (y) => (y > 0 ? 1 : 0),
    elu: (y) => (y > 0 ? 1 : y + a),
    selu: (y) => (y > 0 ? SELU_SCALE : y + SELU_SCALE * SELU_ALPHA),
    sigmoid: (y) => y * (1 - y),
    hard_sigmoid: (y) => (y > 0 && y < 1 ? 0.2 : 0),
    tanh: (y) => 1 - y * y,
    softplus: (y) => -Math.expm1(-y),
    softsign: (y) => (1 - Math.abs(y)) ** 2,
    exponential: (y) => y,
    leaky_relu: (y) => (y > 0 ? 1 : a),
  };
  const df = table[spec.name];
  if (!df) throw new TypeError(`no gradient from y for '${spec.name}'`);
  return (y) => (Number.isNaN(y) ? NaN : df(y));
}

/**
 * float64 reference: returns C (after the epilogue, C0 + A·B when accumulate, or A·B ⊙ f'(S)
 * with gradActivation) and the pre-activation z = A·B (+ bias). Operands are read in their
 * stored layouts (see MatmulSpec). f' is activationReference's df(S) from 'x', and
 * activationGradFromY(S) from 'y'.
 */
export function matmulReference(
  spec: MatmulSpec,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  bias?: ArrayLike<number>,
  cInitial?: ArrayLike<number>,
  gradSource?: ArrayLike<number>,
): { c: Float64Array; preActivation: Float64Array } {
  validateMatmulSpec(spec);
  const { m, n, k } = spec;
  const what = describeMatmul(spec);
  if (a.length < m * k || b.length < k * n) {
    throw new RangeError(`${what}: got ${a.length} values of A and ${b.length} of B`);
  }
  if (spec.bias && (!bias || bias.length < n)) throw new RangeError(`${what}: bias needs ${n} values`);
  if (spec.accumulate && (!cInitial || cInitial.length < m * n)) {
    throw new RangeError(`${what}: accumulate needs the initial C (${m * n} values)`);
  }
  if (spec.gradActivation && (!gradSource || gradSource.length < m * n)) {
    throw new RangeError(`${what}: gradActivation needs the gradient source S (${m * n} values)`);
  }
  // Element strides of op(A)[i, p] and op(B)[p, j] in the stored arrays.
  const [aI, aP] = spec.transA ? [1, m] : [k, 1];
  const [bP, bJ] = spec.transB ? [1, k] : [n, 1];
  const z = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += (a[i * aI + p * aP] ?? NaN) * (b[p * bP + j * bJ] ?? NaN);
      z[i * n + j] = sum + (spec.bias ? (bias?.[j] ?? NaN) : 0);
    }
  }
  const c = new Float64Array(m * n);
  const g = spec.gradActivation;
  if (spec.accumulate) {
    for (let i = 0; i < m * n; i++) c[i] = (cInitial?.[i] ?? NaN) + (z[i] ?? NaN);
  } else if (g) {
    const df = g.from === 'y' ? activationGradFromY(g.activation) : activationReference(g.activation).df;
    for (let i = 0; i < m * n; i++) c[i] = (z[i] ?? NaN) * df(gradSource?.[i] ?? NaN);
  } else {
    const f = activationReference(spec.activation ?? { name: 'linear' }).f;
    for (let i = 0; i < m * n; i++) c[i] = f(z[i] ?? NaN);
  }
  return { c, preActivation: z };
}
