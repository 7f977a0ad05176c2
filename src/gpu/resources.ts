/**
 * The GPU resources the engine hands out and kernels bind: buffer requests, slices of
 * buffers, the work a dispatch declares, and recordings of dispatches replayed many times.
 */
export interface BufferRequest {
  size: number;
  usage: GPUBufferUsageFlags;
  label: string;
  /**
   * A storage buffer that is bound only in slices of at most maxStorageBufferBindingSize (a
   * tensor larger than one binding): only maxBufferSize limits its size.
   */
  sliced?: boolean;
}

/**
 * The work one dispatch does, declared by the kernel wrapper from its shapes, so that a
 * profile can turn GPU time into GFLOP/s and GB/s.
 *  - flops: floating-point operations, a multiply-add counting 2 and an elementwise function
 *    (exp, log, sqrt, an activation, a comparison) 1, whatever its instruction cost; 0 for
 *    pure data movement and integer work. Scalars formed once per row, feature or step are
 *    left out unless a wrapper says otherwise.
 *  - bytes: the minimum global-memory traffic: every element the kernel must read, once,
 *    plus every element it writes, once, at their stored width (u8 data 1 byte, f32/u32 4).
 *    Uniform buffers are not counted. Reads that depend on the data (an atomic only when a
 *    label is out of range) are estimates; each wrapper's comment says which.
 */
export interface DispatchWork {
  flops: number;
  bytes: number;
}

/** One dispatch given timestamp writes: its label and declared work. */
export interface TimedDispatch {
  label: string;
  work?: DispatchWork;
}

/**
 * A byte range of a buffer, bound as one binding (e.g. one layer's weights inside the flat
 * parameter arena). offset must be a multiple of minStorageBufferOffsetAlignment (256 bytes
 * on every adapter we target) for storage bindings; Engine.bindGroup checks it.
 */
export class BufferSlice {
  constructor(
    readonly buffer: GPUBuffer,
    /** Bytes from the start of `buffer`. */
    readonly offset: number,
    /** Bytes in the slice. */
    readonly size: number,
    readonly label: string,
  ) {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size <= 0) {
      throw new RangeError(`slice "${label}": offset ${offset} and size ${size} must be integers, size > 0`);
    }
    if (offset + size > buffer.size) {
      throw new RangeError(
        `slice "${label}": bytes [${offset}, ${offset + size}) are outside buffer "${buffer.label}" of ${buffer.size} bytes`,
      );
    }
  }
}

/** What a kernel binds: a whole buffer or a slice of one. */
export type Bindable = GPUBuffer | BufferSlice;

/** The GPUBuffer under a binding. */
export function bufferOf(b: Bindable): GPUBuffer {
  return b instanceof BufferSlice ? b.buffer : b;
}

/** One dispatch captured by Engine.record(): replayed with the same pipeline and bind group. */
export interface RecordedDispatch {
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  workgroups: readonly [number, number, number];
  label: string;
  /** What the dispatch declared it does (see DispatchWork), if it did. */
  work?: DispatchWork;
}

/**
 * Dispatches captured once and replayed many times (a compiled training step). It owns the
 * buffers created while it was recorded (the kernels' parameter uniforms and scratch), which
 * live until release().
 */
export class Recording {
  readonly dispatches: RecordedDispatch[] = [];
  readonly buffers: GPUBuffer[] = [];
  private released = false;
  constructor(
    private readonly owner: { releaseOwned(buffers: readonly GPUBuffer[]): void },
    readonly label: string,
  ) {}

  /** Bytes of the buffers this recording owns. */
  get bytes(): number {
    return this.buffers.reduce((s, b) => s + b.size, 0);
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** Frees the owned buffers (after work already submitted, as releaseBuffer does). */
  release(): void {
    if (this.released) return;
    this.released = true;
    const owned = this.buffers.splice(0);
    this.owner.releaseOwned(owned);
  }
}
