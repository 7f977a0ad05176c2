/**
 * Column statistics: the extremes of a column of u8, f32, i32 or u32 elements, the first
 * index of each, and (f32) the first non-integer and first non-finite value; and a byte copy
 * from an offset that is not a multiple of 4. src/kernels/colstats.ts binds the column in
 * slices (one dispatch per slice per pass) and decodes the result.
 *
 * The statistics of one column are 8 u32 words in `stats`:
 *   0 min key   1 max key   2 minAt   3 maxAt   4 fractionAt   5 fraction bits
 *   6 nonFiniteAt   7 nonFinite bits
 * Indices are relative to the column's first element; NONE (0xffffffff) means none. A key is
 * the element's bits as a u32 whose unsigned order is the value's order (`key_of`).
 *
 * Passes:
 *  - init: the 8 words set to "nothing seen".
 *  - extremes: a bounded grid of threads walks the elements grid-stride; each thread keeps
 *    its min/max key and its first non-integer / non-finite index, its workgroup combines
 *    them in workgroup atomics, and one thread per workgroup does the global
 *    atomicMin/atomicMax.
 *  - first index: atomicMin of the first index whose key equals the min key, and of the max
 *    key's (a thread stops once it has found both: its indices only grow).
 *  - values (f32 only): one thread reads the elements at minAt, maxAt, fractionAt and
 *    nonFiniteAt and stores their keys or bits. Keys order −0 as +0 (as JS compares them:
 *    the first of several zeros is the min), so the sign of a zero extreme is restored here.
 *
 * The grid-stride loops index with gid.x alone: the wrapper launches a bounded number of
 * workgroups in x, so no folded 2-D launch (common.ts's flat_index) is needed. Elements are
 * read as raw u32 bits, so NaN is tested by `is_nan_bits`, common.ts's `is_nan` test on a u32
 * (no bitcast to f32 and back).
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { WORKGROUP_1D } from './common.js';

/** Element types a column can hold. 'u8' is packed four to a u32 word, little-endian. */
export type ColumnSource = 'u8' | 'f32' | 'i32' | 'u32';

/**
 * Bindings shared by the statistics passes: 0 src words (read), 1 the 8 stats words,
 * 2 params. An element is read at `pos`, its position in the bound slice (bytes for u8,
 * 4-byte elements otherwise); `first` is the position of the dispatch's first element,
 * `count` its elements and `base` the column index of that element.
 */
function statsPrelude(source: ColumnSource): string {
  const f32 = source === 'f32';
  return wgsl`
struct Params { first: u32, count: u32, base: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> stats: array<atomic<u32>, 8>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
const NONE: u32 = 0xffffffffu;

// The bits of the element at slice position pos.
fn element(pos: u32) -> u32 {
#if ${source === 'u8'}
  return (src[pos >> 2u] >> ((pos & 3u) * 8u)) & 0xffu;
#else
  return src[pos];
#endif
}

#if ${f32}
fn is_nan_bits(v: u32) -> bool {
  return (v & 0x7fffffffu) > 0x7f800000u;
}

// f32 bits -> a u32 whose unsigned order is the float order: positives get the sign bit
// set, negatives are inverted. NaN has no place; callers skip it.
fn order_key(v: u32) -> u32 {
  return select(v ^ 0x80000000u, ~v, (v & 0x80000000u) != 0u);
}

// The key the comparisons use: −0 as +0, since JS finds neither below the other.
fn key_of(v: u32) -> u32 {
  return order_key(select(v, 0u, v == 0x80000000u));
}

// True for ±0 and every finite f32 without fraction bits: the exponent e = biased − 127
// leaves 23 − e mantissa bits below the binary point, which must be zero.
fn is_integer(v: u32) -> bool {
  let biased = (v >> 23u) & 0xffu;
  if (biased == 0xffu) { return false; }
  if (biased >= 150u) { return true; }
  if (biased < 127u) { return (v & 0x7fffffffu) == 0u; }
  return (v & ((1u << (150u - biased)) - 1u)) == 0u;
}
#elif ${source === 'i32'}
fn key_of(v: u32) -> u32 {
  return v ^ 0x80000000u;
}
#else
fn key_of(v: u32) -> u32 {
  return v;
}
#endif
`;
}

/** Binding: 0 the 8 stats words. Writes "nothing seen": keys at their identities, every index NONE. */
export function initShader(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> stats: array<u32, 8>;

@compute @workgroup_size(1)
fn main() {
  stats[0] = 0xffffffffu; // min key
  stats[1] = 0u;          // max key
  stats[2] = 0xffffffffu; // minAt
  stats[3] = 0xffffffffu; // maxAt
  stats[4] = 0xffffffffu; // fractionAt
  stats[5] = 0u;          // fraction bits
  stats[6] = 0xffffffffu; // nonFiniteAt
  stats[7] = 0u;          // nonFinite bits
}`;
}

/**
 * Pass 1: min/max keys and the first bad indices. Workgroup memory starts at zero, which is
 * the identity of atomicMax, so the minima are kept complemented (max of ~x = ~min of x).
 * Bindings as statsPrelude. Launch: any number of workgroups in x (grid-stride).
 */
export function extremesShader(source: ColumnSource): string {
  const f32 = source === 'f32';
  return wgsl`${statsPrelude(source)}
var<workgroup> wg_not_lo: atomic<u32>;
var<workgroup> wg_hi: atomic<u32>;
#if ${f32}
var<workgroup> wg_not_fraction: atomic<u32>;
var<workgroup> wg_not_non_finite: atomic<u32>;
#endif

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  var lo = NONE;
  var hi = 0u;
#if ${f32}
  var fraction = NONE;
  var non_finite = NONE;
#endif
  let stride = nwg.x * WG;
  for (var e = gid.x; e < params.count; e += stride) {
    let v = element(params.first + e);
#if ${f32}
    // A thread's indices grow, so the first one it sets is its smallest.
    let i = params.base + e;
    if (fraction == NONE && !is_integer(v)) { fraction = i; }
    if ((v & 0x7f800000u) == 0x7f800000u) {
      if (non_finite == NONE) { non_finite = i; }
      if (is_nan_bits(v)) { continue; }
    }
#endif
    let key = key_of(v);
    lo = min(lo, key);
    hi = max(hi, key);
  }
  atomicMax(&wg_not_lo, ~lo);
  atomicMax(&wg_hi, hi);
#if ${f32}
  atomicMax(&wg_not_fraction, ~fraction);
  atomicMax(&wg_not_non_finite, ~non_finite);
#endif
  workgroupBarrier();
  if (lid == 0u) {
    atomicMin(&stats[0], ~atomicLoad(&wg_not_lo));
    atomicMax(&stats[1], atomicLoad(&wg_hi));
#if ${f32}
    atomicMin(&stats[4], ~atomicLoad(&wg_not_fraction));
    atomicMin(&stats[6], ~atomicLoad(&wg_not_non_finite));
#endif
  }
}`;
}

/**
 * Pass 2: the first index holding the min key, and the max key's. Bindings as statsPrelude
 * (reads the keys of pass 1). Launch: any number of workgroups in x (grid-stride).
 */
export function firstIndexShader(source: ColumnSource): string {
  const f32 = source === 'f32';
  return wgsl`${statsPrelude(source)}
var<workgroup> wg_not_lo_at: atomic<u32>;
var<workgroup> wg_not_hi_at: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let lo = atomicLoad(&stats[0]);
  let hi = atomicLoad(&stats[1]);
  var lo_at = NONE;
  var hi_at = NONE;
  let stride = nwg.x * WG;
  for (var e = gid.x; e < params.count; e += stride) {
    let v = element(params.first + e);
#if ${f32}
    if (is_nan_bits(v)) { continue; }
#endif
    let key = key_of(v);
    let i = params.base + e;
    if (lo_at == NONE && key == lo) { lo_at = i; }
    if (hi_at == NONE && key == hi) { hi_at = i; }
    if (lo_at != NONE && hi_at != NONE) { break; }
  }
  atomicMax(&wg_not_lo_at, ~lo_at);
  atomicMax(&wg_not_hi_at, ~hi_at);
  workgroupBarrier();
  if (lid == 0u) {
    atomicMin(&stats[2], ~atomicLoad(&wg_not_lo_at));
    atomicMin(&stats[3], ~atomicLoad(&wg_not_hi_at));
  }
}`;
}

/**
 * Pass 3 (f32): the elements at the four indices, where they lie in this slice: the exact
 * keys of the extremes (a zero keeps its sign) and the bits of the first bad values.
 * Bindings as statsPrelude. Launch: one thread.
 */
export function valuesShader(): string {
  return wgsl`${statsPrelude('f32')}
// The element at column index at, if this dispatch holds it.
fn holds(at: u32) -> bool {
  return at != NONE && at >= params.base && at - params.base < params.count;
}

fn at_value(at: u32) -> u32 {
  return element(params.first + (at - params.base));
}

@compute @workgroup_size(1)
fn main() {
  let min_at = atomicLoad(&stats[2]);
  if (holds(min_at)) { atomicStore(&stats[0], order_key(at_value(min_at))); }
  let max_at = atomicLoad(&stats[3]);
  if (holds(max_at)) { atomicStore(&stats[1], order_key(at_value(max_at))); }
  let fraction_at = atomicLoad(&stats[4]);
  if (holds(fraction_at)) { atomicStore(&stats[5], at_value(fraction_at)); }
  let non_finite_at = atomicLoad(&stats[6]);
  if (holds(non_finite_at)) { atomicStore(&stats[7], at_value(non_finite_at)); }
}`;
}

/**
 * Copy from a byte offset that is not a multiple of 4: dst word j is the 4 source bytes
 * from byte shift/8 of src word first + j, i.e. the high bytes of that word and the low
 * bytes of the next (the next word is left out past the bound slice: its bytes are beyond
 * the copied range). Bindings: 0 src words (read), 1 dst words, 2 params. Launch: any
 * number of workgroups in x (grid-stride).
 */
export function copyBytesShader(): string {
  return /* wgsl */ `
struct Params { first: u32, words: u32, shift: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * WG;
  let src_words = arrayLength(&src);
  for (var j = gid.x; j < params.words; j += stride) {
    let q = params.first + j;
    var next = 0u;
    if (q + 1u < src_words) { next = src[q + 1u]; }
    // shift is 8, 16 or 24: both shifts stay below 32.
    dst[j] = (src[q] >> params.shift) | (next << (32u - params.shift));
  }
}`;
}
