/**
 * Pieces shared by the kernel modules: workgroup sizes and the flat-index helper for
 * 1-D launches folded into two dimensions (see Engine.dispatchGrid).
 */

/** Threads per workgroup of 1-D kernels: the WebGPU default maxComputeInvocationsPerWorkgroup. */
export const WORKGROUP_1D = 256;

/**
 * WGSL: the flat invocation index of a 1-D launch of WG-thread workgroups folded into
 * (x, y). Needs `const WG: u32` in scope.
 */
export const flatIndex = /* wgsl */ `
fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}`;

/**
 * WGSL: NaN test on the bit pattern. `x != x` is folded to false by some drivers' fast-math
 * (seen on lavapipe), so it cannot be relied on to let a NaN through.
 */
export const isNan = /* wgsl */ `
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}`;
