/**
 * Whether a device lays out its subgroups the way the row kernels' subgroup reductions
 * assume (shaders/softmax_xent.ts, rowSegmentsWgsl): in a 1-D workgroup of PROBE_WORKGROUP
 * invocations, subgroup lane = local_invocation_index mod subgroup size, with one size, a
 * power of two from 4 to 128. WGSL does not promise that layout (lavapipe and SwiftShader
 * keep it), so initEngine checks it once on the device (one tiny dispatch and a 2 KiB
 * readback) before any kernel relies on it.
 */

/**
 * The row kernels' workgroup size (shaders/common.ts WORKGROUP_1D, which src/gpu/ may not
 * import; a test keeps the two equal).
 */
export const PROBE_WORKGROUP = 256;

const PROBE = /* wgsl */ `enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(${PROBE_WORKGROUP})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) size: u32) {
  out[2u * lid] = lane;
  out[2u * lid + 1u] = size;
}`;

/**
 * The subgroup size when every invocation's lane is its index mod that size (the layout the
 * row kernels need); 0 when the layout differs, or the probe cannot run (no 'subgroups'
 * feature, a compile or validation error, a failed read). Never throws: on any failure the
 * engine keeps the workgroup-memory reductions.
 */
export async function contiguousSubgroupSize(device: GPUDevice): Promise<number> {
  if (!device.features.has('subgroups')) return 0;
  const bytes = 8 * PROBE_WORKGROUP;
  const usage = GPUBufferUsage;
  // Everything the probe makes and submits inside one validation scope, so that no error of
  // its own reaches the device's uncaptured-error handler.
  device.pushErrorScope('validation');
  const out = device.createBuffer({
    size: bytes,
    usage: usage.STORAGE | usage.COPY_SRC,
    label: 'subgroup probe',
  });
  const staging = device.createBuffer({
    size: bytes,
    usage: usage.MAP_READ | usage.COPY_DST,
    label: 'subgroup probe staging',
  });
  let scoped = true;
  try {
    const module = device.createShaderModule({ code: PROBE, label: 'subgroup probe' });
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    const entries = [{ binding: 0, resource: { buffer: out } }];
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(out, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    scoped = false;
    if (await device.popErrorScope()) return 0;
    await staging.mapAsync(GPUMapMode.READ);
    const words = new Uint32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    return subgroupLayoutSize(words);
  } catch {
    return 0;
  } finally {
    if (scoped) await device.popErrorScope().catch(() => null);
    out.destroy();
    staging.destroy();
  }
}

/**
 * From the probe's words (lane, size per invocation): the one size if every lane is its
 * invocation's index mod that size and the size is a power of two from 4 to 128, else 0.
 */
export function subgroupLayoutSize(words: Uint32Array): number {
  const size = words[1] ?? 0;
  if (size < 4 || size > 128 || (size & (size - 1)) !== 0) return 0;
  for (let i = 0; 2 * i + 1 < words.length; i++) {
    if (words[2 * i] !== i % size || words[2 * i + 1] !== size) return 0;
  }
  return size;
}
