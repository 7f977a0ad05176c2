/**
 * Sum reductions over f32, scaled at the end (scale = 1/n gives a mean).
 *
 * - rowSumShader: one workgroup per row of a row-major [rows, row_len] view, each thread
 *   summing a strided slice, then a shared-memory tree. The last row may be short
 *   (`total` bounds it), so the same kernel is also pass 1 of a full sum over a long
 *   vector cut into rows.
 * - columnSumShader: a [outer, n, inner] view summed over n, one thread per (outer, inner)
 *   output; neighbouring threads read neighbouring addresses.
 */
import { flatIndex, WORKGROUP_1D } from './common.js';

/** Bindings: 0 x, 1 y[rows], 2 params. Launch: one workgroup per row (folded 2-D). */
export function rowSumShader(): string {
  return /* wgsl */ `
struct Params { rows: u32, row_len: u32, total: u32, scale: f32 }

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;  // uniform across the workgroup
  if (row >= params.rows) { return; }
  let start = row * params.row_len;
  let end = min(start + params.row_len, params.total);
  var acc = 0.0;
  for (var i = start + lid; i < end; i += WG) {
    acc += xs[i];
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    ys[row] = partial[0] * params.scale;
  }
}`;
}

/** Bindings: 0 x, 1 y[outer * inner], 2 params. Launch: one thread per output (folded 2-D). */
export function columnSumShader(): string {
  return /* wgsl */ `
struct Params { outer: u32, n: u32, inner: u32, scale: f32 }

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat_index(gid, nwg);
  if (o >= params.outer * params.inner) { return; }
  let base = (o / params.inner) * params.n * params.inner + o % params.inner;
  var acc = 0.0;
  for (var k = 0u; k < params.n; k++) {
    acc += xs[base + k * params.inner];
  }
  ys[o] = acc * params.scale;
}`;
}
