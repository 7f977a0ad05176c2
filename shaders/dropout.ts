/**
 * Inverted dropout with a counter-based generator: y = x · scale where element i is kept,
 * 0 where it is dropped.
 *
 * The generator is Philox-4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011): ten rounds of two 32×32→64-bit multiplies and xors over a
 * 128-bit counter under a 64-bit key. Element i at step s of stream t uses
 *   counter = (i / 4, s, t, 0),  key = (seed, 0),  word i % 4 of the output,
 * so one Philox call serves four neighbouring elements and a thread handles those four.
 * Distinct (i / 4, s, t) are distinct counters, so layers given distinct streams draw
 * independent masks even with the same seed, size and step; stream 0 is the counter
 * (i / 4, s, 0, 0) this module used before streams existed.
 * The keep decision is integer-only: u = word >> 8 (24 uniform bits) is kept when
 * u ≥ threshold, threshold = round(rate · 2^24) formed on the host. Every adapter therefore
 * draws the same mask from the same (seed, step), and the backward recomputes it instead of
 * storing it. WGSL has no 64-bit integers, so the high half of each product is assembled from
 * 16-bit limbs (u32 multiplication wraps, as the low half needs).
 *
 * The scale is 1/(1 − rate) rounded once to f32 on the host and applied as one multiply,
 * which WGSL rounds correctly: the result is the same bits on every adapter (a division
 * would be allowed 2.5 ULP). A dropped element is 0 whatever x holds (NaN and ±Inf too),
 * as a select rather than a multiply by 0.
 */
import { flatIndex, WORKGROUP_1D } from './common.js';

/** Elements one thread handles: the four output words of one Philox call. */
export const DROPOUT_ELEMENTS_PER_THREAD = 4;

/**
 * Bindings: 0 x (read), 1 y (write), 2 step (storage u32 array; the step is word
 * params.step_word), 3 params { n, threshold, seed, scale, stream, step_word }. The same
 * shader is the backward (x = dy, y = dx).
 * Launch: one thread per 4 elements (folded 2-D).
 */
export function dropoutShader(): string {
  return /* wgsl */ `
struct Params {
  n: u32, threshold: u32, seed: u32, scale: f32,
  stream: u32, step_word: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@group(0) @binding(2) var<storage, read> step_buf: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

// Philox-4x32 multipliers and Weyl key increments (Random123's constants).
const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// The full 64-bit product a·b as (high word, low word).
fn mul_hi_lo(a: u32, b: u32) -> vec2u {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let cross0 = a0 * b1;
  let cross1 = a1 * b0;
  // Carry out of the low word: below 3·2^16, cannot overflow.
  let mid = ((a0 * b0) >> 16u) + (cross0 & 0xffffu) + (cross1 & 0xffffu);
  let hi = a1 * b1 + (cross0 >> 16u) + (cross1 >> 16u) + (mid >> 16u);
  return vec2u(hi, a * b);
}

fn philox4x32_10(counter: vec4u, seed_key: vec2u) -> vec4u {
  var c = counter;
  var k = seed_key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k += vec2u(PHILOX_W0, PHILOX_W1); }
    let p0 = mul_hi_lo(PHILOX_M0, c.x);
    let p1 = mul_hi_lo(PHILOX_M1, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
  }
  return c;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat_index(gid, nwg);  // element group: elements 4g .. 4g+3
  let first = g * 4u;
  if (first >= params.n) { return; }
  let step = step_buf[params.step_word];
  let bits = philox4x32_10(vec4u(g, step, params.stream, 0u), vec2u(params.seed, 0u));
  for (var j = 0u; j < 4u; j++) {
    let i = first + j;
    if (i < params.n) {
      let keep = (bits[j] >> 8u) >= params.threshold;
      ys[i] = select(0.0, xs[i] * params.scale, keep);
    }
  }
}`;
}
