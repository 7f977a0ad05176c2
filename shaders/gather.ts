/**
 * Batch gather: rows of a dataset resident on the GPU, picked through a permutation,
 * converted to f32 on the fly; and the matching labels.
 *
 * The dataset may span several buffers ("parts", one binding each, every one within
 * maxStorageBufferBindingSize): row r lives in part r / rows_per_part at local row
 * r % rows_per_part. A u8 part is packed four bytes to a little-endian u32 word, as tensor()
 * stores u8, and each part starts its own packing: local element e is byte e & 3 of word
 * e >> 2, so a row may start mid-word when features is not a multiple of 4.
 *
 * The batch is rows perm[cursor[0] + i], i < batch. cursor lives in a GPU buffer so a
 * kernel can advance it between steps without the host. Batch rows past the end of the
 * permutation (a partial last batch) and permutation entries ≥ rows are written as zeros.
 *
 * Images and labels are one dispatch where the images are one part; with more, one shader
 * would need more than the 8 storage buffers a stage may bind on every adapter.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { flatIndex, isNan, WORKGROUP_1D } from './common.js';

/** The most dataset buffers one gather binds. */
export const MAX_GATHER_PARTS = 4;

export type GatherSource = 'u8' | 'f32';
export type LabelSource = 'u8' | 'u32' | 'i32' | 'f32';
export type LabelOut = 'u32' | 'f32' | 'onehot';

/**
 * WGSL: the batch position -> dataset row step shared by both shaders, reading the
 * permutation's length and the row count from the uniform `p`.
 */
function permRow(p: string): string {
  return /* wgsl */ `
// Dataset row of batch row i, or NO_ROW past the end of the permutation or of the data.
const NO_ROW: u32 = 0xffffffffu;
fn batch_row(i: u32) -> u32 {
  let start = cursor[0];
  if (start >= ${p}.perm_length || i >= ${p}.perm_length - start) { return NO_ROW; }
  let r = perm[start + i];
  return select(NO_ROW, r, r < ${p}.rows);
}`;
}

/** The label gather folded into an input gather (gatherShader's `labels`). */
export interface LabelGatherVariant {
  source: LabelSource;
  out: LabelOut;
  errors: boolean;
}

/**
 * Bindings: 0 .. parts-1 the dataset parts (u8: array<u32> packed, f32: array<f32>),
 * then perm (u32), cursor (u32, [0] = start), out (f32 [batch, features]), params.
 * out = x · scale + offset. Launch: one thread per output element (folded 2-D).
 * With `labels` (one part only: the 8 storage buffers every adapter allows), the same
 * dispatch gathers the batch's labels too, as labelGatherShader does: then bindings 5 label
 * source, 6 label out, 7 label params, (errors) 8 errors, and threads past the
 * batch × features inputs each write one label element.
 */
export function gatherShader(parts: number, source: GatherSource, labels?: LabelGatherVariant): string {
  const elem = source === 'u8' ? 'u32' : 'f32';
  const u8 = source === 'u8';
  if (labels && parts !== 1) {
    throw new RangeError(`gatherShader: labels fold into a gather of one part, not ${parts}`);
  }
  const decls = Array.from(
    { length: parts },
    (_, p) => `@group(0) @binding(${p}) var<storage, read> part${p}: array<${elem}>;`,
  ).join('\n');
  const cases = Array.from({ length: parts }, (_, p) => `    case ${p}u: { return part${p}[index]; }`).join(
    '\n',
  );
  return wgsl`
struct Params {
  batch: u32, features: u32, rows_per_part: u32, rows: u32,
  perm_length: u32, scale: f32, offset: f32, _pad: u32,
}

${decls}
@group(0) @binding(${parts}) var<storage, read> perm: array<u32>;
@group(0) @binding(${parts + 1}) var<storage, read> cursor: array<u32>;
@group(0) @binding(${parts + 2}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${parts + 3}) var<uniform> params: Params;
${labels ? labelGatherWgsl(labels, parts + 4) : ''}

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${permRow('params')}

fn load(part: u32, index: u32) -> ${elem} {
  switch part {
${cases}
    default: { return ${elem}(0); }
  }
}

fn gather_x(e: u32) {
  let features = params.features;
  let r = batch_row(e / features);
  var v = 0.0;
  if (r != NO_ROW) {
    let part = r / params.rows_per_part;
    let at = (r - part * params.rows_per_part) * features + e % features;
#if ${u8}
    let value = (load(part, at >> 2u) >> ((at & 3u) * 8u)) & 0xffu;
    v = f32(value) * params.scale + params.offset;
#else
    v = load(part, at) * params.scale + params.offset;
#endif
  }
  out[e] = v;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat_index(gid, nwg);
  let inputs = params.batch * params.features;
  if (e < inputs) {
    gather_x(e);
#if ${labels !== undefined}
  } else if (e - inputs < label_elements()) {
    gather_label(e - inputs);
#endif
  }
}`;
}

/**
 * Bindings: 0 labels [rows, width] (u8 packed in u32 words, u32, i32 or f32), 1 perm,
 * 2 cursor, 3 out, 4 params, and with `errors` 5 errors (u32, atomic: [0] counts
 * out-of-range labels of gathered rows).
 * - out 'f32': out [batch, width] = the label's value as f32.
 * - out 'u32': out [batch, width] = the class index; a value that is no class index (a
 *   negative i32; an f32 that is negative, fractional, NaN or ≥ 2^32) becomes 0xffffffff,
 *   which a sparse loss detects as out of range. With classes > 0 a value ≥ classes is
 *   written as it is but counted in errors.
 * - out 'onehot' (width 1): out [batch, classes] = one-hot of the class; an invalid class
 *   leaves the row all zeros and is counted in errors.
 * Launch: one thread per output element (folded 2-D). Rows past the permutation give 0.
 */
export function labelGatherShader(source: LabelSource, outKind: LabelOut, errors: boolean): string {
  return wgsl`
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read> cursor: array<u32>;
${labelGatherWgsl({ source, out: outKind, errors }, 0)}

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${permRow('lparams')}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat_index(gid, nwg);
  if (e < label_elements()) { gather_label(e); }
}`;
}

/**
 * WGSL of the label gather (see labelGatherShader). Bindings: standalone (first = 0) the
 * label source 0, the output 3, the uniform 4 and errors 5 (perm and cursor, 1 and 2, are
 * the caller's); folded into an input gather, first, first + 1, first + 2 and first + 3.
 * Defines
 *   fn label_elements() -> u32     the output elements, batch × (width or classes)
 *   fn gather_label(e: u32)        writes output element e (e < label_elements())
 * and needs batch_row() (permRow) in scope.
 */
function labelGatherWgsl(v: LabelGatherVariant, first: number): string {
  const { source, out: outKind, errors } = v;
  const srcElem = source === 'u8' ? 'u32' : source;
  const outElem = outKind === 'u32' ? 'u32' : 'f32';
  const asValue = outKind === 'f32';
  const onehot = outKind === 'onehot';
  const isU8 = source === 'u8';
  const isI32 = source === 'i32';
  const isF32 = source === 'f32';
  const standalone = first === 0;
  const at = standalone
    ? { labels: 0, out: 3, params: 4, errors: 5 }
    : { labels: first, out: first + 1, params: first + 2, errors: first + 3 };
  return wgsl`
struct LabelParams {
  batch: u32, width: u32, classes: u32, rows: u32,
  perm_length: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(${at.labels}) var<storage, read> labels: array<${srcElem}>;
@group(0) @binding(${at.out}) var<storage, read_write> labels_out: array<${outElem}>;
@group(0) @binding(${at.params}) var<uniform> lparams: LabelParams;
#if ${errors}
@group(0) @binding(${at.errors}) var<storage, read_write> errors: array<atomic<u32>>;
#endif

const INVALID: u32 = 0xffffffffu;
${isNan}

#if ${asValue}
fn label_value(index: u32) -> f32 {
#if ${isU8}
  return f32((labels[index >> 2u] >> ((index & 3u) * 8u)) & 0xffu);
#else
  return f32(labels[index]);
#endif
}
#else
// The class index stored at element \`index\`, or INVALID.
fn label_class(index: u32) -> u32 {
#if ${isU8}
  return (labels[index >> 2u] >> ((index & 3u) * 8u)) & 0xffu;
#elif ${isI32}
  let v = labels[index];
  return select(INVALID, u32(v), v >= 0i);
#elif ${isF32}
  let v = labels[index];
  let whole = !is_nan(v) && v >= 0.0 && v < 4294967296.0 && floor(v) == v;
  return select(INVALID, u32(v), whole);
#else
  return labels[index];
#endif
}

fn out_of_range(c: u32) -> bool {
  return c == INVALID || (lparams.classes > 0u && c >= lparams.classes);
}
#endif

// Output elements a batch row: onehot writes [batch, classes] from a label of width 1.
fn label_per_row() -> u32 {
#if ${onehot}
  return lparams.classes;
#else
  return lparams.width;
#endif
}

fn label_elements() -> u32 {
  return lparams.batch * label_per_row();
}

fn gather_label(e: u32) {
  let per_row = label_per_row();
  let r = batch_row(e / per_row);
  let j = e % per_row;
  if (r == NO_ROW) {
    labels_out[e] = ${outElem}(0);
    return;
  }
#if ${asValue}
  labels_out[e] = label_value(r * lparams.width + j);
#elif ${onehot}
  let c = label_class(r);
  labels_out[e] = select(0.0, 1.0, c == j);
#else
  let c = label_class(r * lparams.width + j);
  labels_out[e] = c;
#endif
#if ${errors}
#if ${onehot}
  // One count per row: its thread for class 0.
  if (j == 0u && out_of_range(c)) { atomicAdd(&errors[0], 1u); }
#else
  if (out_of_range(c)) { atomicAdd(&errors[0], 1u); }
#endif
#endif
}`;
}

/** Bindings: 0 cursor (u32, read_write), 1 params. One thread: cursor[0] += step. */
export function advanceCursorShader(): string {
  return /* wgsl */ `
struct Params { step: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<storage, read_write> cursor: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(1)
fn main() {
  cursor[0] = cursor[0] + params.step;
}`;
}
