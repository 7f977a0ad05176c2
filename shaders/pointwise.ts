/**
 * Pointwise kernels with scalar parameters and strided block copies, for the PyTorch-style
 * front-end (src/torch/) and anything else that needs them:
 *  - fill: y[i] = value.
 *  - scalar ops y = f(x; p, q): PyTorch's pow(x, p) and its gradient, clamp(x, lo, hi) and
 *    its gradient (1 where lo ≤ x ≤ hi, the bounds included, as torch.clamp's backward).
 *  - copyBlock: rows × cols 32-bit values from src to dst (moved as u32, so int32 data and
 *    any f32 bit pattern arrive unchanged), each side with its own row stride and
 *    element offset; the source offset may add a u32 read from a storage word times a
 *    scale, so a recorded copy can take the rows [i, i + n) of a tensor for an i written
 *    before each replay. With `accumulate`, dst += src in f32 instead.
 * NaN inputs pass through the forward scalar ops (as the elementwise family does).
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { flatIndex, isNan, WORKGROUP_1D } from './common.js';

/**
 * Ops of one input and two f32 scalars p, q; the gradient ones read dy as their second input.
 * clamp's bounds may be ±Inf (a bound left out).
 */
export const SCALAR_OPS = {
  pow: 'torch_pow(x, p)',
  // NaN x gives NaN but for p = 0 (no gradient) and p = 1 (x^0 = 1), as PyTorch's pow_backward.
  pow_grad:
    'select(dy * select(p * torch_pow(x, p - 1.0), 0.0, p == 0.0), x, is_nan(x) && p != 0.0 && p != 1.0)',
  clamp: 'clamp_to(x, p, q)',
  clamp_grad: 'select(0.0, dy, (!has_lo || x >= p) && (!has_hi || x <= q))',
} as const;
export type ScalarOp = keyof typeof SCALAR_OPS;

/** True for the ops that read an upstream gradient dy. */
export function scalarOpIsGrad(op: ScalarOp): boolean {
  return op.endsWith('_grad');
}

/**
 * WGSL: x^p as PyTorch's pow gives it in f32: 1 for p = 0 (even for NaN x), x·x for p = 2, a
 * signed result for a negative x and an integer p, NaN for a negative x and a fractional p,
 * 0 or +Inf for x = 0 (-0 or -Inf for x = -0 and an odd integer p, as C's pow).
 */
const torchPow = /* wgsl */ `
// Inf and NaN made at run time: a constant one is a shader-creation error in WGSL.
var<private> inf_bits: u32 = 0x7f800000u;
var<private> nan_bits: u32 = 0x7fc00000u;
fn torch_pow(x: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  if (p == 1.0) { return x; }
  if (p == 2.0) { return x * x; }
  let a = abs(x);
  var r = 0.0;
  if (a == 0.0) {
    r = select(bitcast<f32>(inf_bits), 0.0, p > 0.0);
    if (bitcast<u32>(x) == 0x80000000u && fract(p * 0.5) == 0.5) { r = -r; } // -0 ^ odd p: -0 or -Inf
  } else {
    r = pow(a, p);
  }
  if (x < 0.0) {
    if (fract(p) != 0.0) { return bitcast<f32>(nan_bits); }
    return select(r, -r, fract(p * 0.5) != 0.0);
  }
  return r;
}`;

/**
 * Bindings: 0 x, (grad ops: 1 dy,) then y, then params { n, p, q, bounds }: for clamp, bit 0
 * of bounds says p is a lower bound, bit 1 that q is an upper one (a bound left out is not
 * passed as ±Inf, which WGSL lets a compiler assume away).
 */
export function scalarOpShader(op: ScalarOp): string {
  const grad = scalarOpIsGrad(op);
  return wgsl`
struct Params { n: u32, p: f32, q: f32, bounds: u32 }

@group(0) @binding(0) var<storage, read> xs: array<f32>;
#if ${grad}
@group(0) @binding(1) var<storage, read> dys: array<f32>;
@group(0) @binding(2) var<storage, read_write> ys: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
#else
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
#endif

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}
${torchPow}

fn clamp_to(x: f32, p: f32, q: f32) -> f32 {
  let has_lo = (params.bounds & 1u) != 0u;
  let has_hi = (params.bounds & 2u) != 0u;
  var y = x;
  if (has_lo && y < p) { y = p; }
  if (has_hi && y > q) { y = q; }
  return y;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let x = xs[i];
  let p = params.p;
  let q = params.q;
  let has_lo = (params.bounds & 1u) != 0u;
  let has_hi = (params.bounds & 2u) != 0u;
#if ${grad}
  let dy = dys[i];
  ys[i] = ${SCALAR_OPS[op]};
#else
  ys[i] = select(${SCALAR_OPS[op]}, x, ${op === 'pow' ? 'is_nan(x) && p != 0.0' : 'is_nan(x)'});
#endif
}`;
}

/** Bindings: 0 y (write), 1 params { n, value }. */
export function fillShader(): string {
  return wgsl`
struct Params { n: u32, value: f32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<storage, read_write> ys: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  ys[i] = params.value;
}`;
}

/**
 * Bindings: 0 src, 1 dst (read_write), 2 dyn (u32 storage: word 0 scaled by dyn_scale is added
 * to the source offset), 3 params; without `dynamic`, 2 params.
 */
export function copyBlockShader(accumulate: boolean, dynamic = true): string {
  return wgsl`
struct Params {
  rows: u32, cols: u32, src_stride: u32, dst_stride: u32,
  src_offset: u32, dst_offset: u32, dyn_scale: u32, _pad: u32,
}

@group(0) @binding(0) var<storage, read> src: array<${accumulate ? 'f32' : 'u32'}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${accumulate ? 'f32' : 'u32'}>;
#if ${dynamic}
@group(0) @binding(2) var<storage, read> dyn: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;
#else
@group(0) @binding(2) var<uniform> params: Params;
#endif

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.rows * params.cols) { return; }
  let r = i / params.cols;
  let c = i % params.cols;
#if ${dynamic}
  let src_i = params.src_offset + dyn[0] * params.dyn_scale + r * params.src_stride + c;
#else
  let src_i = params.src_offset + r * params.src_stride + c;
#endif
  let dst_i = params.dst_offset + r * params.dst_stride + c;
#if ${accumulate}
  dst[dst_i] = dst[dst_i] + src[src_i];
#else
  dst[dst_i] = src[src_i];
#endif
}`;
}
