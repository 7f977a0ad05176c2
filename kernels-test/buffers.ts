/** GPU buffers of one kernel case, made from host data and released together. */
import type { Engine } from '../src/index.js';

export class CaseBuffers {
  private readonly all: GPUBuffer[] = [];
  // GPUBufferUsage is a global only once the WebGPU implementation is loaded (Dawn in Node).
  private readonly usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  constructor(private readonly engine: Engine) {}

  /** A buffer holding `values`: typed arrays as they are, plain numbers as f32. */
  data(values: Float32Array | Uint32Array | ArrayLike<number>, label: string): GPUBuffer {
    const typed =
      values instanceof Float32Array || values instanceof Uint32Array ? values : Float32Array.from(values);
    const b = this.engine.createBufferWithData(typed, this.usage, label);
    this.all.push(b);
    return b;
  }

  /** A zeroed buffer of n 32-bit words. */
  empty(n: number, label: string): GPUBuffer {
    const b = this.engine.createBuffer({ size: n * 4, usage: this.usage, label });
    this.all.push(b);
    return b;
  }

  async read(b: GPUBuffer, n: number, label: string): Promise<Float32Array> {
    return new Float32Array(await this.engine.read(b, n * 4, label));
  }

  release(): void {
    for (const b of this.all) this.engine.releaseBuffer(b);
  }
}
