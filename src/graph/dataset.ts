/**
 * A dataset resident on the GPU: one column per model input (u8 or f32 features, normalised
 * by the gather kernel as x·scale + offset) and one per loss head (class ids or target rows),
 * plus the permutation buffer the host rewrites once per epoch. A column larger than the
 * adapter's maxStorageBufferBindingSize is split by rows over several buffers (up to
 * MAX_GATHER_PARTS), each bound separately.
 */
import type { Engine } from '../gpu/engine.js';
import { MAX_GATHER_PARTS, type LabelSource } from '../kernels/gather.js';
import type { Mode } from './fusion.js';
import { GraphError, type Graph } from './ir.js';
import { iota } from '../util/random.js';

export interface DataColumn {
  parts: GPUBuffer[];
  rowsPerPart: number;
  width: number;
  source: LabelSource;
  scale: number;
  offset: number;
}

export interface ColumnInput {
  /** Row-major [rows, width]. u8 features are stored packed, 4 per word, as uploaded. */
  data: Uint8Array | Float32Array | Uint32Array | Int32Array;
  width: number;
  /**
   * u8/f32 rows (features, or dense targets): x·scale + offset in the gathered batch (e.g.
   * 1/255 for u8 pixels). Class-id targets ignore them.
   */
  scale?: number;
  offset?: number;
}

export interface GpuDataOptions {
  inputs: readonly ColumnInput[];
  /** One per loss head; omit for predict-only data. */
  targets?: readonly ColumnInput[];
  label?: string;
  /** Split columns at this many bytes per buffer (default: the adapter's binding limit). */
  maxPartBytes?: number;
}

function sourceOf(data: ColumnInput['data']): LabelSource {
  if (data instanceof Uint8Array) return 'u8';
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Uint32Array) return 'u32';
  return 'i32';
}

export class GpuData {
  readonly rows: number;
  readonly inputs: DataColumn[] = [];
  readonly targets: DataColumn[] = [];
  readonly perm: GPUBuffer;
  private readonly owned: GPUBuffer[] = [];
  private disposed = false;
  private readonly disposeHooks: (() => void)[] = [];

  constructor(
    readonly engine: Engine,
    options: GpuDataOptions,
  ) {
    const label = options.label ?? 'data';
    const columns = [...options.inputs, ...(options.targets ?? [])];
    const first = columns[0];
    if (!first) throw new RangeError(`${label}: no columns`);
    const rowsOf = (c: ColumnInput, what: string): number => {
      if (!Number.isSafeInteger(c.width) || c.width <= 0)
        throw new RangeError(`${label} ${what}: width ${c.width} must be a positive integer`);
      if (c.data.length % c.width !== 0) {
        throw new RangeError(`${label} ${what}: ${c.data.length} values are not whole rows of ${c.width}`);
      }
      return c.data.length / c.width;
    };
    this.rows = rowsOf(first, 'column 0');
    if (this.rows === 0) throw new RangeError(`${label}: no rows`);
    try {
      options.inputs.forEach((c, i) => {
        const what = `input ${i}`;
        if (rowsOf(c, what) !== this.rows)
          throw new RangeError(`${label}: ${what} has ${rowsOf(c, what)} rows, input 0 has ${this.rows}`);
        const source = sourceOf(c.data);
        if (source !== 'u8' && source !== 'f32')
          throw new TypeError(`${label} ${what}: features must be u8 or f32, got ${source}`);
        this.inputs.push(this.upload(c, source, `${label} ${what}`, options.maxPartBytes, true));
      });
      (options.targets ?? []).forEach((c, i) => {
        const what = `target ${i}`;
        if (rowsOf(c, what) !== this.rows)
          throw new RangeError(`${label}: ${what} has ${rowsOf(c, what)} rows, input 0 has ${this.rows}`);
        // u8/f32 target rows (regression, autoencoders) are gathered like features and may be
        // split; class ids must fit one binding (MNIST's are 60 kB).
        const source = sourceOf(c.data);
        const rowsLike = source === 'u8' || source === 'f32';
        this.targets.push(this.upload(c, source, `${label} ${what}`, options.maxPartBytes, rowsLike));
      });
      this.perm = this.own(
        engine.createBufferWithData(
          iota(this.rows),
          GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
          `${label} permutation`,
        ),
      );
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  private upload(
    c: ColumnInput,
    source: LabelSource,
    label: string,
    maxPart: number | undefined,
    splittable: boolean,
  ): DataColumn {
    const bytesPerValue = source === 'u8' ? 1 : 4;
    const rowBytes = c.width * bytesPerValue;
    const limit = Math.min(maxPart ?? Infinity, this.engine.limits.maxStorageBufferBindingSize);
    // Parts hold whole rows, and u8 parts whole words (rows · width a multiple of 4).
    let rowsPerPart = Math.max(1, Math.floor(limit / rowBytes));
    if (source === 'u8') while (rowsPerPart > 1 && (rowsPerPart * c.width) % 4 !== 0) rowsPerPart--;
    rowsPerPart = Math.min(rowsPerPart, this.rows);
    const count = Math.ceil(this.rows / rowsPerPart);
    if (count > 1 && !splittable)
      throw new RangeError(`${label}: ${this.rows * rowBytes} bytes exceed one binding (${limit})`);
    if (count > MAX_GATHER_PARTS) {
      throw new RangeError(
        `${label}: ${this.rows * rowBytes} bytes need ${count} buffers of at most ${limit} bytes; ` +
          `at most ${MAX_GATHER_PARTS} are supported on this adapter`,
      );
    }
    const parts: GPUBuffer[] = [];
    const values = c.data;
    for (let p = 0; p < count; p++) {
      const start = p * rowsPerPart * c.width;
      const end = Math.min(values.length, start + rowsPerPart * c.width);
      parts.push(
        this.own(
          this.engine.createBufferWithData(
            values.subarray(start, end),
            GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, // COPY_DST: rewrite()
            count > 1 ? `${label} part ${p}` : label,
          ),
        ),
      );
    }
    return { parts, rowsPerPart, width: c.width, source, scale: c.scale ?? 1, offset: c.offset ?? 0 };
  }

  /**
   * True when `inputs` (no targets) have this dataset's shape: as many columns, each with the
   * same width, element type and row count, and this dataset holds no targets. Such inputs
   * can replace the values in place (rewrite()), keeping every plan compiled for it.
   */
  fits(inputs: readonly ColumnInput[]): boolean {
    return (
      !this.disposed &&
      this.targets.length === 0 &&
      inputs.length === this.inputs.length &&
      inputs.every((c, i) => {
        const col = this.inputs[i] as DataColumn;
        return (
          c.width === col.width &&
          sourceOf(c.data) === col.source &&
          c.data.length === this.rows * c.width &&
          (c.scale ?? 1) === col.scale &&
          (c.offset ?? 0) === col.offset
        );
      })
    );
  }

  /** Replaces the input values with `inputs`, which must fit() (one queue write per part). */
  rewrite(inputs: readonly ColumnInput[]): void {
    if (!this.fits(inputs)) throw new RangeError("rewrite: the inputs do not have this dataset's shape");
    inputs.forEach((c, i) => {
      const col = this.inputs[i] as DataColumn;
      col.parts.forEach((part, p) => {
        const start = p * col.rowsPerPart * col.width;
        const end = Math.min(c.data.length, start + col.rowsPerPart * col.width);
        const values = c.data.subarray(start, end);
        // Queue writes come in whole words: u8 parts are padded as they were at upload.
        if (values.byteLength % 4 === 0) {
          this.engine.writeBuffer(part, 0, values);
        } else {
          const padded = new Uint8Array(Math.ceil(values.byteLength / 4) * 4);
          padded.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
          this.engine.writeBuffer(part, 0, padded);
        }
      });
    });
  }

  /** Sets the order of the next epoch (a permutation of 0 .. rows−1; identity if omitted). */
  setPermutation(perm?: Uint32Array): void {
    if (this.disposed) throw new Error('this dataset was disposed');
    const p = perm ?? iota(this.rows);
    if (p.length !== this.rows)
      throw new RangeError(`permutation has ${p.length} entries, the data ${this.rows} rows`);
    this.engine.writeBuffer(this.perm, 0, p);
  }

  /** Checks the columns against the model's inputs and loss heads. */
  check(graph: Graph, mode: Mode): void {
    if (this.disposed) throw new Error('this dataset was disposed');
    if (this.inputs.length !== graph.inputs.length) {
      throw new GraphError(
        `the model has ${graph.inputs.length} input(s); the data has ${this.inputs.length}`,
      );
    }
    graph.inputs.forEach((v, i) => {
      const w = this.inputs[i]?.width;
      if (w !== v.features)
        throw new GraphError(`input "${v.name}" has ${v.features} features; data column ${i} has ${w}`);
    });
    if (mode === 'predict') return;
    if (this.targets.length !== graph.losses.length) {
      throw new GraphError(
        `the model has ${graph.losses.length} loss head(s); the data has ${this.targets.length} target column(s)`,
      );
    }
    graph.losses.forEach((h, i) => {
      const w = this.targets[i]?.width;
      const want = h.target === 'sparse' ? 1 : h.output.features;
      if (w !== want) {
        throw new GraphError(
          `loss ${i} (${h.loss}) on "${h.output.name}" needs ${h.target === 'sparse' ? 'one class id' : `${want} values`} per row; ` +
            `its target column has ${w}`,
        );
      }
    });
  }

  /**
   * Runs `hook` when this dataset is disposed (an Executor drops the plans bound to it). Returns
   * a function that removes the hook (an Executor disposed first).
   */
  onDispose(hook: () => void): () => void {
    this.disposeHooks.push(hook);
    return () => {
      const i = this.disposeHooks.indexOf(hook);
      if (i >= 0) this.disposeHooks.splice(i, 1);
    };
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The GPU buffers of the dataset (columns and permutation). */
  get buffers(): readonly GPUBuffer[] {
    return this.owned;
  }

  get bytes(): number {
    return this.owned.reduce((s, b) => s + b.size, 0);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const hook of this.disposeHooks.splice(0)) hook();
    for (const b of this.owned) this.engine.releaseBuffer(b);
  }
}
