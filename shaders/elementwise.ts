/**
 * Elementwise kernels over f32 arrays: unary y = f(x) and binary c = f(a, b) with
 * numpy-style broadcasting up to rank 4.
 *
 * NaN must propagate. WGSL leaves NaN handling of builtins to the implementation
 * (SwiftShader's exp(NaN) is +Inf; max/min may drop a NaN operand), so unary ops pass a
 * NaN input straight through and maximum/minimum test for NaN on the bit pattern.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { flatIndex, isNan, WORKGROUP_1D } from './common.js';

/** y = f(x), written in terms of `x`. */
export const UNARY_OPS = {
  neg: '-x',
  abs: 'abs(x)',
  square: 'x * x',
  sqrt: 'sqrt(x)',
  exp: 'exp(x)',
  log: 'log(x)',
  relu: 'select(x, 0.0, x < 0.0)',
} as const;
export type UnaryOp = keyof typeof UNARY_OPS;

/** c = f(a, b), written in terms of `a` and `b`. */
export const BINARY_OPS = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  maximum: 'select(b, a, a > b || is_nan(a))',
  minimum: 'select(b, a, a < b || is_nan(a))',
} as const;
export type BinaryOp = keyof typeof BINARY_OPS;

/** Bindings: 0 x (read), 1 y (write), 2 params { n }. */
export function unaryShader(op: UnaryOp): string {
  return wgsl`
struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let x = xs[i];
  ys[i] = select(${UNARY_OPS[op]}, x, is_nan(x));
}`;
}

/**
 * Bindings: 0 a, 1 b (read), 2 c (write), 3 params.
 * With `broadcast`, params carries the output shape padded to rank 4 and the element
 * strides of a and b in it (0 along broadcast axes); otherwise a, b and c share one shape.
 */
export function binaryShader(op: BinaryOp, broadcast: boolean): string {
  return wgsl`
struct Params {
  n: u32, _pad0: u32, _pad1: u32, _pad2: u32,
  shape: vec4u,      // output shape, leading axes padded with 1
  a_strides: vec4u,  // a's stride along each output axis, 0 where a is broadcast
  b_strides: vec4u,
}

@group(0) @binding(0) var<storage, read> lhs: array<f32>;
@group(0) @binding(1) var<storage, read> rhs: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}
${isNan}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
#if ${broadcast}
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = 3i; d >= 0i; d--) {
    let coord = rest % params.shape[d];
    rest = rest / params.shape[d];
    ia += coord * params.a_strides[d];
    ib += coord * params.b_strides[d];
  }
#else
  let ia = i;
  let ib = i;
#endif
  let a = lhs[ia];
  let b = rhs[ib];
  out[i] = ${BINARY_OPS[op]};
}`;
}
