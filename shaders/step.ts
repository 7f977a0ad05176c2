/**
 * Small kernels the compiled training step needs around the layer kernels:
 *   stepEndShader       per-step bookkeeping done by the GPU: the first step whose loss
 *                       accumulators turned non-finite, the step counter, the batch cursor
 *                       (the optimizer records a non-finite write in the same words)
 *   guardedCopyShader   dst = src unless a non-finite step was already seen (the snapshot of
 *                       the weights taken at the start of each window of steps)
 *   penaltyTermsShader  rows · (l1·|w| + l2·w²) per arena element, by segment: the Keras
 *                       regularization penalty of a step, summed afterwards into the loss sums
 */
import { flatIndex, segmentAt, segmentTable, WORKGROUP_1D } from './common.js';

/**
 * The status words of a plan (u32), shared by every plan of one model.
 *   STEPS:      steps run so far (also the step word of the dropout masks)
 *   BAD_STEP:   0, or 1 + the index of the first step at which a loss accumulator became
 *               NaN/±Inf or the optimizer wrote a NaN/±Inf parameter or state value
 *   BACKUP_STEP the step index at which the last weight snapshot was taken
 *   BAD_WHAT:   what went non-finite at step BAD_STEP − 1, BAD_WHAT bits (0 while BAD_STEP is 0)
 */
export const STATUS = { STEPS: 0, BAD_STEP: 1, BACKUP_STEP: 2, BAD_WHAT: 3 } as const;
export const STATUS_WORDS = 4;

/** Bits of status[BAD_WHAT]: a loss accumulator; a value the optimizer wrote (shaders/optim.ts). */
export const BAD_WHAT = { LOSS: 1, WRITE: 2 } as const;

/** Most per-row loss buffers one step end sums (bound after its four bindings). */
export const STEP_END_MAX_SUMS = 4;

/**
 * Bindings: 0 acc (f32 loss accumulators, read_write), 1 status (u32, read_write), 2 cursor
 * (u32), 3 params { slots, batch, count_step, sum_rows }, then `sums` per-row loss buffers
 * [sum_rows] f32: rows h is added into acc[h] first, in the order of the last pass of the
 * partial-sum kernel (shaders/reduce.ts: four interleaved chains), so the bits are those of
 * a separate sum dispatch. One thread.
 */
export function stepEndShader(sums = 0): string {
  if (!Number.isInteger(sums) || sums < 0 || sums > STEP_END_MAX_SUMS) {
    throw new RangeError(
      `stepEndShader: sums must be an integer from 0 to ${STEP_END_MAX_SUMS}, got ${sums}`,
    );
  }
  const heads = Array.from({ length: sums }, (_, h) => h);
  const bindings = heads
    .map((h) => `@group(0) @binding(${4 + h}) var<storage, read> rows_${h}: array<f32>;`)
    .join('\n');
  const sumFns = heads
    .map(
      (h) => `
fn row_sum_${h}(n: u32) -> f32 {
  var a0 = 0.0;
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
  var k = 0u;
  for (; k < n && n - k > 3u; k += 4u) {
    a0 += rows_${h}[k];
    a1 += rows_${h}[k + 1u];
    a2 += rows_${h}[k + 2u];
    a3 += rows_${h}[k + 3u];
  }
  for (; k < n; k++) {
    a0 += rows_${h}[k];
  }
  return (a0 + a1) + (a2 + a3);
}`,
    )
    .join('\n');
  const adds = heads.map((h) => `  acc[${h}] = acc[${h}] + row_sum_${h}(params.sum_rows);`).join('\n');
  return /* wgsl */ `
struct Params { slots: u32, batch: u32, count_step: u32, sum_rows: u32 }
@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
@group(0) @binding(1) var<storage, read_write> status: array<u32>;
@group(0) @binding(2) var<storage, read_write> cursor: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;
${bindings}
${sumFns}

@compute @workgroup_size(1)
fn main() {
  // This step's loss sums, where no sum dispatch of their own added them.
${adds}
  // A sum that met a NaN or ±Inf stays non-finite, so the first step that sees it is the
  // step that produced it. Tested on the bits: fast-math drivers fold isnan/isinf away.
  var bad = false;
  for (var i = 0u; i < params.slots; i++) {
    bad = bad || (bitcast<u32>(acc[i]) & 0x7f800000u) == 0x7f800000u;
  }
  // The optimizer ran before this and may have recorded this same step (a NaN loss makes NaN
  // gradients): the loss bit is added then, so the loss is named as the cause.
  let this_step = status[${STATUS.STEPS}] + 1u;
  if (bad && status[${STATUS.BAD_STEP}] == 0u) { status[${STATUS.BAD_STEP}] = this_step; }
  if (bad && status[${STATUS.BAD_STEP}] == this_step) { status[${STATUS.BAD_WHAT}] |= ${BAD_WHAT.LOSS}u; }
  // Training steps count (the dropout and NaN step word); evaluate/predict batches do not.
  status[${STATUS.STEPS}] += params.count_step;
  cursor[0] += params.batch;
}`;
}

/** Bindings: 0 src (read), 1 dst (read_write), 2 status (read_write), 3 params { n, mark }. */
export function guardedCopyShader(): string {
  return /* wgsl */ `
struct Params { n: u32, mark: u32, _pad0: u32, _pad1: u32 }
// u32 words, so every bit pattern (f32 values, u32 counters) is copied exactly.
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<storage, read_write> status: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n || status[${STATUS.BAD_STEP}] != 0u) { return; }
  dst[i] = src[i];
  if (i == 0u && params.mark != 0u) { status[${STATUS.BACKUP_STEP}] = status[${STATUS.STEPS}]; }
}`;
}

/**
 * Bindings: 0 params (read), 1 segment table (read; the optimizer's: { count, total } then
 * { offset, end, l1, l2 } per segment sorted by offset), 2 terms (read_write, [total] f32),
 * 3 params { rows (f32) }. Padding between segments gives 0.
 */
export function penaltyTermsShader(): string {
  return /* wgsl */ `
${segmentTable}
struct Params { rows: f32, _pad0: u32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> table: Table;
@group(0) @binding(2) var<storage, read_write> terms: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${segmentAt}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= table.total) { return; }
  var term = 0.0;
  if (table.count > 0u) {
    let seg = segment_at(i);
    if (i >= seg.offset && i < seg.end) {
      let x = w[i];
      term = params.rows * (seg.l1 * abs(x) + seg.l2 * x * x);
    }
  }
  terms[i] = term;
}`;
}

/**
 * Activity regularization of a value a [n]: terms[i] = l1·|a[i]| + l2·a[i]² (summed after,
 * into the penalty slot). Bindings: 0 a (read), 1 terms (read_write), 2 params { n, l1, l2 }.
 */
export function activityPenaltyShader(): string {
  return /* wgsl */ `
struct Params { n: u32, l1: f32, l2: f32, _pad0: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> terms: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let x = a[i];
  terms[i] = params.l1 * abs(x) + params.l2 * x * x;
}`;
}

/**
 * The gradient through an activity regularizer (tf.keras: penalty / batch size):
 * dx (+)= dy + (l1·sign(a) + 2·l2·a) · scale, scale = 1 / rows.
 * Bindings: 0 a (read), 1 dy (read), 2 dx (read_write), 3 params { n, l1, l2, scale }.
 */
export function activityGradShader(accumulate: boolean): string {
  return /* wgsl */ `
struct Params { n: u32, l1: f32, l2: f32, scale: f32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let x = a[i];
  let g = dy[i] + (params.l1 * sign(x) + 2.0 * params.l2 * x) * params.scale;
  dx[i] = ${accumulate ? 'dx[i] + g' : 'g'};
}`;
}
