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
 * Images and labels are two dispatches: with four parts, one shader would need more than
 * the 8 storage buffers a stage may bind on every adapter.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { flatIndex, isNan, WORKGROUP_1D } from './common.js';

/** The most dataset buffers one gather binds. */
export const MAX_GATHER_PARTS = 4;

export type GatherSource = 'u8' | 'f32';
export type LabelSource = 'u8' | 'u32' | 'i32' | 'f32';
export type LabelOut = 'u32' | 'f32' | 'onehot';

/** WGSL: the batch position -> dataset row step shared by both shaders. */
const permRow = /* wgsl */ `
// Dataset row of batch row i, or NO_ROW past the end of the permutation or of the data.
const NO_ROW: u32 = 0xffffffffu;
fn batch_row(i: u32) -> u32 {
  let start = cursor[0];
  if (start >= params.perm_length || i >= params.perm_length - start) { return NO_ROW; }
  let r = perm[start + i];
  return select(NO_ROW, r, r < params.rows);
}`;

/**
 * Bindings: 0 .. parts-1 the dataset parts (u8: array<u32> packed, f32: array<f32>),
 * then perm (u32), cursor (u32, [0] = start), out (f32 [batch, features]), params.
 * out = x · scale + offset. Launch: one thread per output element (folded 2-D).
 */
export function gatherShader(parts: number, source: GatherSource): string {
  const elem = source === 'u8' ? 'u32' : 'f32';
  const u8 = source === 'u8';
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

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${permRow}

fn load(part: u32, index: u32) -> ${elem} {
  switch part {
${cases}
    default: { return ${elem}(0); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat_index(gid, nwg);
  let features = params.features;
  if (e >= params.batch * features) { return; }
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
  const srcElem = source === 'u8' ? 'u32' : source;
  const outElem = outKind === 'u32' ? 'u32' : 'f32';
  const asValue = outKind === 'f32';
  const onehot = outKind === 'onehot';
  const isU8 = source === 'u8';
  const isI32 = source === 'i32';
  const isF32 = source === 'f32';
  return wgsl`
struct Params {
  batch: u32, width: u32, classes: u32, rows: u32,
  perm_length: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> labels: array<${srcElem}>;
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read> cursor: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<${outElem}>;
@group(0) @binding(4) var<uniform> params: Params;
#if ${errors}
@group(0) @binding(5) var<storage, read_write> errors: array<atomic<u32>>;
#endif

const WG: u32 = ${WORKGROUP_1D}u;
const INVALID: u32 = 0xffffffffu;
${flatIndex}
${isNan}
${permRow}

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
  return c == INVALID || (params.classes > 0u && c >= params.classes);
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flat_index(gid, nwg);
#if ${onehot}
  // out [batch, classes]; the label has width 1.
  let per_row = params.classes;
#else
  let per_row = params.width;
#endif
  if (e >= params.batch * per_row) { return; }
  let r = batch_row(e / per_row);
  let j = e % per_row;
  if (r == NO_ROW) {
    out[e] = ${outElem}(0);
    return;
  }
#if ${asValue}
  out[e] = label_value(r * params.width + j);
#elif ${onehot}
  let c = label_class(r);
  out[e] = select(0.0, 1.0, c == j);
#else
  let c = label_class(r * params.width + j);
  out[e] = c;
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
