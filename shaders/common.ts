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

/** Elements in a chunk of the parameter arena: segments start at multiples of it. */
export const ARENA_CHUNK = 64;

/**
 * WGSL: the segment table of the parameter arena (written by createSegmentTable in
 * src/kernels/optim.ts): { count, total, 0, 0 }, then `count` × { offset, end, l1, l2 } sorted
 * by offset ([offset, end) in elements, then the segment's L1/L2 factors), then the chunk map:
 * for each ARENA_CHUNK-element chunk c of the arena the index of its segment, four to an
 * entry (offset, end as u32; l1, l2 as the f32 of the index, exact below 2^24).
 */
export const segmentTable = /* wgsl */ `
struct Segment { offset: u32, end: u32, l1: f32, l2: f32 }
struct Table { count: u32, total: u32, _pad0: u32, _pad1: u32, segments: array<Segment> }`;

/**
 * WGSL: the segment holding arena element i, the last one whose offset is ≤ i (i may still
 * lie in the padding after its end), read from the chunk map: segments start at multiples of
 * ARENA_CHUNK, so every element of a chunk has the same one. Needs `table: Table` in scope
 * and table.count > 0.
 */
export const segmentAt = /* wgsl */ `
fn segment_at(i: u32) -> Segment {
  let c = i / ${ARENA_CHUNK}u;
  let q = table.segments[table.count + c / 4u];
  let lane = c % 4u;
  var k = q.offset;
  if (lane == 1u) { k = q.end; } else if (lane == 2u) { k = u32(q.l1); } else if (lane == 3u) { k = u32(q.l2); }
  return table.segments[k];
}`;

/**
 * The bindings after a per-row kernel's three buffers: (weighted) 3 weights [rows] f32, then
 * the params uniform last, at 3 or 4.
 */
export function weightsThenParams(weighted: boolean): string {
  return weighted
    ? `@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;`
    : '@group(0) @binding(3) var<uniform> params: Params;';
}

/**
 * WGSL statements ending a counting kernel: after a barrier, invocation 0 adds its
 * workgroup's total (the workgroup atomic `hits`) to counts[params.slot] with one atomic,
 * if it is not 0. Integer adds: the order does not matter. Needs `lid`, `hits`, `counts`
 * and `params.slot` in scope; every invocation must reach it (it holds a barrier).
 */
export const addWorkgroupHits = /* wgsl */ `
  workgroupBarrier();
  if (lid == 0u) {
    let total = atomicLoad(&hits);
    if (total > 0u) {
      atomicAdd(&counts[params.slot], total);
    }
  }`;
