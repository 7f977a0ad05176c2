/**
 * The engine: the only object that touches a GPUDevice. Everything above it (kernels,
 * tensors, the graph executor) allocates, dispatches and reads back through these methods,
 * so that limits are checked in one place, every GPU object is labelled, and the counters
 * below see every allocation, pipeline, bind group, dispatch, submit and readback.
 */
import {
  DeviceLostError,
  GPULimitError,
  GPUOperationError,
  ShaderCompileError,
  type CompileDiagnostic,
} from './errors.js';
import {
  checkLowerLimits,
  ENGINE_LIMITS,
  type AdapterDescription,
  type LowerLimits,
  type EngineCounters,
  type EngineLimitName,
  type EngineLimits,
} from './capabilities.js';
import {
  bufferOf,
  BufferSlice,
  Recording,
  type Bindable,
  type BufferRequest,
  type DispatchWork,
  type RecordedDispatch,
  type TimedDispatch,
} from './resources.js';
import { chooseKernelProfile, type KernelProfile } from './profile.js';

export * from './capabilities.js';
export * from './resources.js';

/**
 * Awaits a promise of the device (a buffer mapping, the queue's work done): the runtime's way
 * of waiting where it differs from `await` (Node's software adapters, src/node/poll.ts).
 */
export type GpuWait = <T>(p: Promise<T>) => Promise<T>;

interface PipelineEntry {
  pipeline: GPUComputePipeline;
  /** Set once compilation is known to have failed; later uses throw it at once. */
  error?: Error;
  ready: Promise<void>;
}

interface TimestampRecording {
  querySet: GPUQuerySet;
  timed: TimedDispatch[];
  untimed: number;
}

/** Eager work is submitted at least this often, so one long chain does not grow unbounded. */
const MAX_DISPATCHES_PER_SUBMIT = 256;

export class Engine {
  readonly limits: EngineLimits;
  readonly features: ReadonlySet<string>;
  /** Print the WGSL of every new pipeline (initEngine({ debug }) or DEBUG=1 in Node). */
  debug: boolean;

  private readonly counts: EngineCounters = {
    liveBuffers: 0,
    liveBytes: 0,
    peakBytes: 0,
    buffersCreated: 0,
    shaderModules: 0,
    pipelines: 0,
    bindGroups: 0,
    dispatches: 0,
    submits: 0,
    readbacks: 0,
  };
  private readonly sizes = new Map<GPUBuffer, number>();
  private readonly pipelineCache = new Map<string, PipelineEntry>();
  private encoder: GPUCommandEncoder | null = null;
  private encodedDispatches = 0;
  /** Buffers released while commands using them may still be unsubmitted. */
  private releaseAfterSubmit: GPUBuffer[] = [];
  /** Asynchronous error checks (error scopes, compilation info) not yet awaited. */
  private checks: Promise<void>[] = [];
  private errors: Error[] = [];
  private lostError: DeviceLostError | null = null;
  private disposed = false;
  /** While a profile is recorded: where each dispatch's pass writes its begin/end timestamps. */
  private timestamps: TimestampRecording | null = null;
  private readonly pendingRejects = new Set<(e: Error) => void>();
  /** While record() runs: where dispatches and new buffers go. */
  private recording: Recording | null = null;

  /** True while a profile() records timestamps (one recording at a time). */
  get isTiming(): boolean {
    return this.timestamps !== null;
  }

  /** Resolves when the device is lost (never, if it is not). */
  readonly lost: Promise<DeviceLostError>;
  /** How the kernels are shaped for this adapter (src/gpu/profile.ts). */
  readonly profile: KernelProfile;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    options: {
      debug?: boolean;
      keepAlive?: unknown;
      limits?: LowerLimits;
      profile?: KernelProfile;
      wait?: GpuWait;
    } = {},
  ) {
    this.debug = options.debug ?? false;
    this.wait = options.wait;
    this.profile = options.profile ?? chooseKernelProfile(adapter);
    const limits = {} as Record<EngineLimitName, number>;
    for (const name of ENGINE_LIMITS) limits[name] = device.limits[name];
    Object.assign(limits, checkLowerLimits(options.limits ?? {}, limits, adapter.name));
    this.limits = Object.freeze(limits);
    this.features = new Set(device.features);
    this.keepAlive = options.keepAlive;
    this.lost = device.lost.then((info) => {
      const err = new DeviceLostError(info.reason, info.message);
      this.lostError = err;
      for (const reject of this.pendingRejects) reject(err);
      this.pendingRejects.clear();
      return err;
    });
    device.addEventListener('uncapturederror', (event) => {
      const e = event.error;
      this.errors.push(new GPUOperationError(`GPU error: ${e.message}`, errorKind(e)));
    });
  }

  /**
   * The GPU object that owns the device (Dawn's in Node) must outlive the device; holding
   * it here ties its lifetime to the engine's.
   */
  private readonly keepAlive: unknown;

  /** How a GPU promise is awaited (FoundAdapter.wait); none: as it is. */
  private readonly wait: GpuWait | undefined;

  /** A snapshot of the counters. */
  stats(): EngineCounters {
    return { ...this.counts };
  }

  /** Starts a new peak: peakBytes becomes the bytes alive now. */
  resetPeak(): void {
    this.counts.peakBytes = this.counts.liveBytes;
  }

  /** True once the device was lost or the engine disposed. */
  get isLost(): boolean {
    return this.lostError !== null || this.disposed;
  }

  /** Throws if the engine can no longer be used. */
  assertUsable(): void {
    if (this.lostError) throw this.lostError;
    if (this.disposed) {
      throw new DeviceLostError('destroyed', 'this engine was disposed');
    }
  }

  // ---------------------------------------------------------------- buffers

  /**
   * Allocates a buffer after checking its size against maxBufferSize and, for storage
   * buffers, maxStorageBufferBindingSize (a larger dataset must be split over several
   * buffers). Sizes are rounded up to a multiple of 4 bytes, at least 4.
   * Creation runs inside validation and out-of-memory error scopes; an error there is
   * raised by the next flush() or read().
   */
  createBuffer(req: BufferRequest, mappedAtCreation = false): GPUBuffer {
    this.assertUsable();
    if (!Number.isSafeInteger(req.size) || req.size < 0) {
      throw new RangeError(`buffer "${req.label}": size ${req.size} is not a non-negative integer`);
    }
    const size = Math.max(4, Math.ceil(req.size / 4) * 4);
    // The binding limit first: it is the one a storage buffer meets in a shader, and the
    // advice differs (split the data). On some adapters the two limits are equal. A buffer
    // bound only in slices (a big tensor used as data) may exceed it.
    if (req.usage & GPUBufferUsage.STORAGE && !req.sliced) {
      this.checkLimit(
        'maxStorageBufferBindingSize',
        size,
        `storage buffer "${req.label}"`,
        ' Split the data over several buffers.',
      );
    }
    this.checkLimit('maxBufferSize', size, `buffer "${req.label}"`);
    if (req.usage & GPUBufferUsage.UNIFORM) {
      this.checkLimit('maxUniformBufferBindingSize', size, `uniform buffer "${req.label}"`);
    }
    const buffer = this.scoped(`creating buffer "${req.label}" (${size} bytes)`, () =>
      this.device.createBuffer({ size, usage: req.usage, label: req.label, mappedAtCreation }),
    );
    this.sizes.set(buffer, size);
    this.recording?.buffers.push(buffer);
    this.counts.buffersCreated++;
    this.counts.liveBuffers++;
    this.counts.liveBytes += size;
    this.counts.peakBytes = Math.max(this.counts.peakBytes, this.counts.liveBytes);
    return buffer;
  }

  /** Allocates a buffer holding a copy of `data` (its bytes, zero-padded to 4). */
  createBufferWithData(
    data: ArrayBufferView,
    usage: GPUBufferUsageFlags,
    label: string,
    options: Pick<BufferRequest, 'sliced'> = {},
  ): GPUBuffer {
    const buffer = this.createBuffer({ size: data.byteLength, usage, label, ...options }, true);
    new Uint8Array(buffer.getMappedRange()).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    buffer.unmap();
    return buffer;
  }

  /** Writes `data` into `buffer` at `offset` bytes, ordered before the next submit's commands. */
  writeBuffer(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.assertUsable();
    this.submitPending(); // earlier encoded commands must see the old contents
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Copies `size` bytes of each source into `staging` (a MAP_READ | COPY_DST buffer the
   * caller keeps, e.g. a ring slot), submits, and maps it: no buffer is created. Counts one
   * readback. The caller unmaps `staging` when done with the returned bytes.
   */
  async readInto(
    staging: GPUBuffer,
    sources: readonly { buffer: GPUBuffer; size: number }[],
    label: string,
  ): Promise<ArrayBuffer> {
    this.assertUsable();
    this.encoder ??= this.device.createCommandEncoder({ label: 'webgpu-mlp eager' });
    let offset = 0;
    for (const s of sources) {
      this.encoder.copyBufferToBuffer(s.buffer, 0, staging, offset, s.size);
      offset += s.size;
    }
    this.submitPending();
    this.counts.readbacks++;
    await this.guard(staging.mapAsync(GPUMapMode.READ));
    await this.throwReportedErrors().catch((e: unknown) => {
      staging.unmap();
      throw e instanceof Error ? e : new Error(`${label}: ${String(e)}`);
    });
    return staging.getMappedRange().slice(0, offset);
  }

  /** Copies a whole buffer region to another (ordered with the pending commands). */
  copy(src: GPUBuffer, dst: GPUBuffer, size: number, srcOffset = 0, dstOffset = 0): void {
    this.encodeCommands((e) => e.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size));
  }

  /** A uniform buffer of u32/i32/f32 words, released after the next submit. */
  tempUniform(words: Uint32Array | Int32Array | Float32Array, label: string): GPUBuffer {
    const buffer = this.createBufferWithData(words, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label);
    this.releaseBuffer(buffer, true);
    return buffer;
  }

  /**
   * Frees a buffer. If eager commands that may use it are still unsubmitted (or are about to
   * be encoded: `afterNextSubmit`), the GPU object is destroyed right after the next submit;
   * WebGPU itself keeps a destroyed buffer alive for work already submitted.
   */
  releaseBuffer(buffer: GPUBuffer, afterNextSubmit = false): void {
    // A recording keeps the buffers made while it was recorded until Recording.release().
    if (this.recording?.buffers.includes(buffer)) return;
    this.destroyTracked(buffer, afterNextSubmit);
  }

  /** Called by Recording.release(). */
  releaseOwned(buffers: readonly GPUBuffer[]): void {
    for (const b of buffers) this.destroyTracked(b, true);
  }

  private destroyTracked(buffer: GPUBuffer, afterNextSubmit: boolean): void {
    const size = this.sizes.get(buffer);
    if (size === undefined) return;
    this.sizes.delete(buffer);
    this.counts.liveBuffers--;
    this.counts.liveBytes -= size;
    if (this.encoder || afterNextSubmit) this.releaseAfterSubmit.push(buffer);
    else buffer.destroy();
  }

  private checkLimit(name: EngineLimitName, size: number, what: string, advice = ''): void {
    const limit = this.limits[name];
    if (size > limit) {
      throw new GPULimitError(
        `${what} needs ${size} bytes (${mib(size)}), over this adapter's ${name} of ` +
          `${limit} bytes (${mib(limit)}) on "${this.adapter.name}"; nothing was allocated.${advice}`,
        name,
        limit,
        size,
      );
    }
  }

  // ---------------------------------------------------------------- pipelines

  /**
   * A compute pipeline for `code` (entry point `main`, layout 'auto'), cached by the final
   * WGSL text. Creation is synchronous; a compile error is raised as a ShaderCompileError
   * by the next flush()/read(), and at once by any later request for the same text.
   * Use pipelineAsync() to get the error immediately.
   */
  pipeline(code: string, label: string): GPUComputePipeline {
    this.assertUsable();
    const hit = this.pipelineCache.get(code);
    if (hit) {
      if (hit.error) throw hit.error;
      return hit.pipeline;
    }
    this.device.pushErrorScope('validation');
    const module = this.createModule(code, label);
    const pipeline = this.device.createComputePipeline({
      label,
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const scope = this.device.popErrorScope();
    this.counts.pipelines++;
    const entry: PipelineEntry = { pipeline, ready: Promise.resolve() };
    entry.ready = Promise.all([module.getCompilationInfo(), scope]).then(([info, scopeError]) => {
      const compileError = this.compileError(info, label, code);
      const error =
        compileError ??
        (scopeError
          ? new GPUOperationError(
              `creating pipeline "${label}": ${scopeError.message}`,
              errorKind(scopeError),
            )
          : undefined);
      if (error) {
        entry.error = error;
        this.errors.push(error);
      }
    });
    this.checks.push(entry.ready);
    this.pipelineCache.set(code, entry);
    return pipeline;
  }

  /** Like pipeline(), but waits for compilation and throws a ShaderCompileError at once. */
  async pipelineAsync(code: string, label: string): Promise<GPUComputePipeline> {
    const pipeline = this.pipeline(code, label);
    const entry = this.pipelineCache.get(code);
    await entry?.ready;
    if (entry?.error) {
      this.errors = this.errors.filter((e) => e !== entry.error);
      throw entry.error;
    }
    return pipeline;
  }

  private createModule(code: string, label: string): GPUShaderModule {
    if (this.debug) {
      const numbered = code
        .split('\n')
        .map((l, i) => `${String(i + 1).padStart(4)}  ${l}`)
        .join('\n');
      console.log(`[webgpu-mlp] new pipeline "${label}":\n${numbered}`);
    }
    this.counts.shaderModules++;
    return this.device.createShaderModule({ code, label });
  }

  private compileError(
    info: GPUCompilationInfo,
    label: string,
    code: string,
  ): ShaderCompileError | undefined {
    const diagnostics: CompileDiagnostic[] = info.messages.map((m) => ({
      type: m.type,
      message: m.message,
      line: m.lineNum,
      column: m.linePos,
      length: m.length,
    }));
    if (!diagnostics.some((d) => d.type === 'error')) return undefined;
    return new ShaderCompileError(label, diagnostics, code);
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * A bind group for group 0 of `pipeline`, binding i = buffers[i] (a whole buffer, or a
   * slice whose offset is a multiple of minStorageBufferOffsetAlignment; undefined leaves
   * binding i out, for a shader that does not declare that number).
   */
  bindGroup(
    pipeline: GPUComputePipeline,
    buffers: readonly (Bindable | undefined)[],
    label: string,
  ): GPUBindGroup {
    this.assertUsable();
    const align = this.limits.minStorageBufferOffsetAlignment;
    const entries = buffers.flatMap((b, binding): GPUBindGroupEntry[] =>
      b ? [this.entry(b, binding, align, label)] : [],
    );
    this.counts.bindGroups++;
    return this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
  }

  private entry(b: Bindable, binding: number, align: number, label: string): GPUBindGroupEntry {
    this.checkBindingSize(b, binding, label);
    if (!(b instanceof BufferSlice)) return { binding, resource: { buffer: b } };
    if (b.offset % align !== 0) {
      throw new RangeError(
        `${label}: binding ${binding} slice "${b.label}" starts at byte ${b.offset}, ` +
          `not a multiple of this adapter's minStorageBufferOffsetAlignment (${align})`,
      );
    }
    return { binding, resource: { buffer: b.buffer, offset: b.offset, size: b.size } };
  }

  /**
   * A storage binding over maxStorageBufferBindingSize, refused here with the buffer's name
   * (the device's own error would come later, from a submit). Buffers larger than one binding
   * (a big tensor, see createBuffer's `sliced`) are bound in slices.
   */
  private checkBindingSize(b: Bindable, binding: number, label: string): void {
    const buffer = bufferOf(b);
    if ((buffer.usage & GPUBufferUsage.STORAGE) === 0) return;
    const size = b instanceof BufferSlice ? b.size : buffer.size;
    const limit = this.limits.maxStorageBufferBindingSize;
    if (size <= limit) return;
    const what =
      b instanceof BufferSlice
        ? `slice "${b.label}" of buffer "${buffer.label}"`
        : `buffer "${buffer.label}"`;
    throw new GPULimitError(
      `${label}: binding ${binding} is ${what}, ${size} bytes (${mib(size)}), over this adapter's ` +
        `maxStorageBufferBindingSize of ${limit} bytes (${mib(limit)}) on "${this.adapter.name}". ` +
        'A buffer this large can only be bound in slices (fit, evaluate and predict do so for their data).',
      'maxStorageBufferBindingSize',
      limit,
      size,
    );
  }

  /**
   * Encodes one dispatch into the pending eager command buffer. Workgroup counts are
   * checked against maxComputeWorkgroupsPerDimension (see dispatchGrid()). `work` (what the
   * kernel computes and moves) is kept with a recorded dispatch and reported by profile().
   */
  dispatch(
    pipeline: GPUComputePipeline,
    buffers: readonly (Bindable | undefined)[],
    workgroups: readonly [number, number?, number?],
    label: string,
    work?: DispatchWork,
  ): void {
    const [x, y = 1, z = 1] = workgroups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new GPULimitError(
        `dispatch "${label}" of ${x}x${y}x${z} workgroups is over maxComputeWorkgroupsPerDimension (${max})`,
        'maxComputeWorkgroupsPerDimension',
        max,
        Math.max(x, y, z),
      );
    }
    if (work && !(isCount(work.flops) && isCount(work.bytes))) {
      throw new RangeError(
        `dispatch "${label}": declared work { flops: ${work.flops}, bytes: ${work.bytes} } must be finite and >= 0`,
      );
    }
    const group = this.bindGroup(pipeline, buffers, label);
    if (x === 0 || y === 0 || z === 0) return;
    if (this.recording) {
      const d: RecordedDispatch = { pipeline, group, workgroups: [x, y, z], label };
      if (work) d.work = work;
      this.recording.dispatches.push(d);
      return;
    }
    this.encoder ??= this.device.createCommandEncoder({ label: 'webgpu-mlp eager' });
    const pass = this.encoder.beginComputePass({
      label,
      timestampWrites: this.nextTimestampWrites(label, work),
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.counts.dispatches++;
    if (++this.encodedDispatches >= MAX_DISPATCHES_PER_SUBMIT) this.submitPending();
  }

  /**
   * Workgroup counts covering `count` invocations of `workgroupSize` threads, folded into a
   * second dimension when one dimension would exceed the limit. A shader recovers the flat
   * index as gid.x + gid.y * num_workgroups.x * workgroupSize.
   */
  dispatchGrid(count: number, workgroupSize: number): [number, number] {
    const groups = Math.ceil(count / workgroupSize);
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= max) return [groups, 1];
    const y = Math.ceil(groups / max);
    return [Math.ceil(groups / y), y];
  }

  // ---------------------------------------------------------------- record / replay

  /**
   * Runs `fn`, capturing every dispatch it makes (with its pipeline and bind group) instead
   * of encoding it, and every buffer it creates (kernel parameters, scratch) as owned by the
   * returned Recording. Replaying it later creates nothing. If `fn` throws, the buffers it
   * made are freed and the error is rethrown.
   */
  record(label: string, fn: () => void): Recording {
    this.assertUsable();
    if (this.recording) throw new Error(`record("${label}") inside record("${this.recording.label}")`);
    const rec = new Recording(this, label);
    this.recording = rec;
    try {
      fn();
    } catch (e) {
      this.recording = null;
      rec.release();
      throw e;
    } finally {
      this.recording = null;
    }
    return rec;
  }

  /**
   * Encodes the recorded dispatches `times` times into the pending commands, in one compute
   * pass (WebGPU orders the dispatches of a pass and makes each one's writes visible to the
   * next), or one pass per dispatch while timestamps are recorded. Never submits by itself:
   * the caller decides how many steps go into one command buffer.
   */
  replay(rec: Recording, times = 1): void {
    this.replaySequence([{ recording: rec, times }]);
  }

  /**
   * Encodes several recordings in order (each `times` times) into ONE compute pass, e.g. a
   * window of training steps after its weight snapshot. Opening a pass has a host cost
   * (milliseconds at times on Dawn with lavapipe), so a window opens one.
   */
  replaySequence(parts: readonly { recording: Recording; times: number }[]): void {
    this.assertUsable();
    for (const { recording } of parts) {
      if (recording.isReleased) throw new Error(`recording "${recording.label}" was released`);
    }
    const work = parts.filter((p) => p.times > 0 && p.recording.dispatches.length > 0);
    if (work.length === 0) return;
    this.encoder ??= this.device.createCommandEncoder({ label: 'webgpu-mlp eager' });
    if (this.timestamps) {
      for (const { recording, times } of work) {
        for (let t = 0; t < times; t++) {
          for (const d of recording.dispatches) {
            const pass = this.encoder.beginComputePass({
              label: d.label,
              timestampWrites: this.nextTimestampWrites(d.label, d.work),
            });
            pass.setPipeline(d.pipeline);
            pass.setBindGroup(0, d.group);
            pass.dispatchWorkgroups(...d.workgroups);
            pass.end();
          }
        }
      }
    } else {
      const pass = this.encoder.beginComputePass({ label: work.map((p) => p.recording.label).join(' + ') });
      let current: GPUComputePipeline | null = null;
      for (const { recording, times } of work) {
        for (let t = 0; t < times; t++) {
          for (const d of recording.dispatches) {
            if (d.pipeline !== current) pass.setPipeline(d.pipeline);
            current = d.pipeline;
            pass.setBindGroup(0, d.group);
            pass.dispatchWorkgroups(...d.workgroups);
          }
        }
      }
      pass.end();
    }
    for (const { recording, times } of work) this.counts.dispatches += recording.dispatches.length * times;
  }

  // ---------------------------------------------------------------- timestamps

  /**
   * Starts giving each dispatch's compute pass begin/end timestamp writes into `querySet`
   * (two queries per dispatch, in dispatch order) until stopTimestamps(). Needs the
   * 'timestamp-query' feature. Used by profile() in ./profiler.ts.
   */
  startTimestamps(querySet: GPUQuerySet): void {
    if (!this.features.has('timestamp-query')) {
      throw new GPUOperationError(
        `GPU timestamps need the 'timestamp-query' feature, which "${this.adapter.name}" does not offer`,
        'validation',
      );
    }
    if (this.timestamps) throw new Error('a timestamp recording is already running');
    this.timestamps = { querySet, timed: [], untimed: 0 };
  }

  /**
   * Ends the recording; returns the timed dispatches in order (label and declared work) and
   * how many were not timed.
   */
  stopTimestamps(): { timed: TimedDispatch[]; untimed: number } {
    const t = this.timestamps;
    this.timestamps = null;
    return { timed: t?.timed ?? [], untimed: t?.untimed ?? 0 };
  }

  private nextTimestampWrites(label: string, work?: DispatchWork): GPUComputePassTimestampWrites | undefined {
    const t = this.timestamps;
    if (!t) return undefined;
    const index = t.timed.length * 2;
    if (index + 2 > t.querySet.count) {
      t.untimed++;
      return undefined;
    }
    t.timed.push(work ? { label, work } : { label });
    return { querySet: t.querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 };
  }

  /** Records commands other than dispatches (copies, query resolves) into the pending eager commands. */
  encodeCommands(record: (encoder: GPUCommandEncoder) => void): void {
    this.assertUsable();
    if (this.recording) {
      throw new Error(
        `record("${this.recording.label}"): only dispatches can be recorded; a copy or clear was encoded`,
      );
    }
    this.encoder ??= this.device.createCommandEncoder({ label: 'webgpu-mlp eager' });
    record(this.encoder);
  }

  /** Submits the pending eager commands, if any. */
  submitPending(): void {
    this.assertUsable();
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.counts.submits++;
      this.encoder = null;
      this.encodedDispatches = 0;
    }
    for (const b of this.releaseAfterSubmit) b.destroy();
    this.releaseAfterSubmit = [];
  }

  /**
   * Submits pending work, waits for the GPU to finish it, and throws the first error the
   * device reported since the last flush (validation, out-of-memory, shader compilation).
   */
  async flush(): Promise<void> {
    this.submitPending();
    await this.guard(this.device.queue.onSubmittedWorkDone());
    await this.throwReportedErrors();
  }

  /** Copies `byteLength` bytes of `buffer` (from byte `offset`) to the host. Counts one readback. */
  async read(buffer: GPUBuffer, byteLength: number, label: string, offset = 0): Promise<ArrayBuffer> {
    this.assertUsable();
    await this.throwReportedErrors();
    const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
    const staging = this.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: `${label} (readback)`,
    });
    this.encoder ??= this.device.createCommandEncoder({ label: 'webgpu-mlp eager' });
    this.encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
    this.submitPending();
    this.counts.readbacks++;
    try {
      await this.guard(staging.mapAsync(GPUMapMode.READ));
      await this.throwReportedErrors();
      return staging.getMappedRange().slice(0, byteLength);
    } finally {
      if (!this.isLost) staging.unmap();
      this.releaseBuffer(staging);
    }
  }

  /** Waits for `p`, rejecting with a DeviceLostError if the device is lost meanwhile. */
  private guard<T>(p: Promise<T>): Promise<T> {
    this.assertUsable();
    const waited = this.wait ? this.wait(p) : p;
    return new Promise<T>((resolve, reject) => {
      const onLost = (e: Error) => reject(e);
      this.pendingRejects.add(onLost);
      waited.then(
        (v) => {
          this.pendingRejects.delete(onLost);
          resolve(v);
        },
        (e: unknown) => {
          this.pendingRejects.delete(onLost);
          reject(this.lostError ?? (e instanceof Error ? e : new Error(String(e))));
        },
      );
    });
  }

  private async throwReportedErrors(): Promise<void> {
    const checks = this.checks;
    this.checks = [];
    await Promise.all(checks);
    this.assertUsable();
    // A compile error explains the validation errors that follow from it: report it first.
    const first = this.errors.find((e) => e instanceof ShaderCompileError) ?? this.errors[0];
    this.errors = [];
    if (first) throw first;
  }

  /** Runs `create` inside validation and out-of-memory error scopes. */
  private scoped<T>(what: string, create: () => T): T {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const result = create();
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.checks.push(
      Promise.all([validation, oom]).then(([v, o]) => {
        const e = o ?? v;
        if (e) this.errors.push(new GPUOperationError(`${what}: ${e.message}`, errorKind(e)));
      }),
    );
    return result;
  }

  /** Destroys the device. Everything made on this engine becomes unusable. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.device.destroy();
  }
}

function errorKind(e: GPUError): GPUOperationError['kind'] {
  switch (e.constructor.name) {
    case 'GPUValidationError':
      return 'validation';
    case 'GPUOutOfMemoryError':
      return 'out-of-memory';
    case 'GPUInternalError':
      return 'internal';
    default:
      return 'unknown';
  }
}

function isCount(v: number): boolean {
  return Number.isFinite(v) && v >= 0;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
