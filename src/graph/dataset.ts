/**
 * A dataset resident on the GPU: one column per model input (u8 or f32 features, normalised
 * by the gather kernel as x·scale + offset) and one per loss head (class ids or target rows),
 * plus the permutation buffer the host rewrites once per epoch. A column larger than the
 * adapter's maxStorageBufferBindingSize is split by rows over several buffers (up to
 * MAX_GATHER_PARTS), each bound separately.
 *
 * The targets are summarised on the host as they are uploaded (targetStats: extremes, the
 * first non-integer), so that labels the loss cannot read (a class id past the output's
 * units, a binary cross-entropy target of 2) can be refused before any step runs, with the
 * row: the GPU sees them only as the step runs. targetProblem() words the refusal for host
 * data and GPU datasets alike; fit-data.ts raises it.
 */
import { BufferSlice, type Bindable, type Engine } from '../gpu/engine.js';
import { encodeCopyBytes, type ColumnStats } from '../kernels/colstats.js';
import { MAX_GATHER_PARTS, type LabelSource } from '../kernels/gather.js';
import type { LossName } from '../kernels/losses.js';
import type { Mode } from './fusion.js';
import { GraphError, type Graph } from './ir.js';
import { iota } from '../util/random.js';

export interface DataColumn {
  /** Whole buffers, or slices of one borrowed buffer (a tensor larger than one binding). */
  parts: Bindable[];
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

/**
 * A column already on the GPU (an eager Tensor's buffer), used without a readback: rows
 * [firstRow, firstRow + rows) of a row-major [*, width] array of `source` values from byte 0
 * (u8 packed four to a word). From row 0 the buffer is bound in place (in slices when it
 * exceeds one binding), never written nor freed by the dataset; from a later row (a
 * validation split) those rows are copied on the GPU into buffers the dataset owns.
 */
export interface DeviceColumnInput {
  buffer: GPUBuffer;
  source: LabelSource;
  width: number;
  rows: number;
  firstRow?: number;
  scale?: number;
  offset?: number;
  /** A target column's summary over these rows (taken on the GPU), as targetStats() gives. */
  stats?: TargetStats;
  /** Keeps the buffer alive while bound in place (Tensor.borrow); returns the release. */
  borrow?: () => () => void;
}

/** A column of host values, or one already on the GPU. */
export type AnyColumnInput = ColumnInput | DeviceColumnInput;

export function isDeviceColumn(c: AnyColumnInput): c is DeviceColumnInput {
  return 'buffer' in c;
}

export interface GpuDataOptions {
  inputs: readonly AnyColumnInput[];
  /** One per loss head; omit for predict-only data. */
  targets?: readonly AnyColumnInput[];
  /**
   * Per-row sample weights, f32 [rows] (Keras's sample_weight, or class_weight looked up by
   * each row's class): training and evaluate steps scale each row's loss (and gradient) by
   * its weight, and the weighted metrics weight by it; metrics and predict ignore them.
   */
  weights?: ColumnInput;
  label?: string;
  /** Split columns at this many bytes per buffer (default: the adapter's binding limit). */
  maxPartBytes?: number;
}

/**
 * A target column summarised on the host: its smallest and largest value with the first
 * (row, column) holding each, and the first value that is not an integer (a class id must
 * be one) or not finite. Raw values: a dense head applies the column's scale and offset.
 */
export interface TargetStats extends Omit<ColumnStats, 'nonFiniteAt' | 'nonFinite'> {
  width: number;
}

/** One pass over a target column [rows, width] (NaN is a fraction, not an extreme). */
export function targetStats(data: ArrayLike<number>, width: number): TargetStats {
  const s: TargetStats = {
    min: Infinity,
    minAt: -1,
    max: -Infinity,
    maxAt: -1,
    fractionAt: -1,
    fraction: 0,
    width,
  };
  // u8/u32 hold integers only; f32 and i32 need the full check.
  const integral = data instanceof Uint8Array || data instanceof Uint32Array || data instanceof Int32Array;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v < s.min) {
      s.min = v;
      s.minAt = i;
    }
    if (v > s.max) {
      s.max = v;
      s.maxAt = i;
    }
    if (!integral && s.fractionAt < 0 && !Number.isInteger(v)) {
      s.fractionAt = i;
      s.fraction = v;
    }
  }
  return s;
}

/** What a loss head reads from its target column (the layer names the output in messages). */
export interface TargetHead {
  /** The output layer's name. */
  output: string;
  units: number;
  target: 'sparse' | 'dense';
  loss: LossName;
}

/** Losses whose targets are probabilities: every value in [0, 1]. */
const PROBABILITY_TARGETS: ReadonlySet<LossName> = new Set<LossName>([
  'binary_crossentropy',
  'binary_crossentropy_logits',
  'categorical_crossentropy',
  'kl_divergence',
]);

/** True when targetProblem() can object to a column for `head` (class ids, probabilities). */
export function checksTargetRange(head: TargetHead): boolean {
  return head.target === 'sparse' || PROBABILITY_TARGETS.has(head.loss);
}

const units = (n: number): string => `${n} unit${n === 1 ? '' : 's'}`;

/**
 * Why `head` cannot read a target column with these stats (a sentence naming the row, the
 * value and the valid range), or undefined when it can. Dense targets are taken as
 * v·scale + offset. Of several problems, the one at the earliest row is reported.
 */
export function targetProblem(
  stats: TargetStats,
  head: TargetHead,
  scale = 1,
  offset = 0,
): string | undefined {
  const w = stats.width;
  const at = (i: number): string =>
    w === 1 ? `row ${Math.floor(i / w)}` : `row ${Math.floor(i / w)}, column ${i % w}`;
  const found: { i: number; text: string }[] = [];
  if (head.target === 'sparse') {
    const classes = head.units;
    const range = `a class id in [0, ${classes})`;
    const out = `the output layer "${head.output}" has ${units(classes)}`;
    if (stats.fractionAt >= 0)
      found.push({
        i: stats.fractionAt,
        text: `label ${stats.fraction} at ${at(stats.fractionAt)} is not ${range}`,
      });
    if (stats.min < 0)
      found.push({
        i: stats.minAt,
        text: `label ${stats.min} at ${at(stats.minAt)} is not ${range} (${out})`,
      });
    if (stats.max >= classes) {
      const more =
        classes === 1
          ? '; for two classes use binaryCrossentropy with one sigmoid unit, for more a softmax output of one unit per class'
          : Number.isInteger(stats.max)
            ? `; labels up to ${stats.max} need ${units(stats.max + 1)}`
            : '';
      found.push({
        i: stats.maxAt,
        text: `label ${stats.max} at ${at(stats.maxAt)} is not ${range} (${out}${more})`,
      });
    }
  } else if (PROBABILITY_TARGETS.has(head.loss)) {
    // Extremes of v·scale + offset: a negative scale swaps them.
    const lo = scale >= 0 ? { v: stats.min, i: stats.minAt } : { v: stats.max, i: stats.maxAt };
    const hi = scale >= 0 ? { v: stats.max, i: stats.maxAt } : { v: stats.min, i: stats.minAt };
    const min = lo.v * scale + offset;
    const max = hi.v * scale + offset;
    const name = head.loss === 'binary_crossentropy_logits' ? 'binary_crossentropy' : head.loss;
    const hint = probabilityHint(min, max, stats.fractionAt < 0 && scale === 1 && offset === 0, head);
    const say = (v: number, i: number): string =>
      `target ${v} at ${at(i)} is outside [0, 1]: ${name} takes probabilities as targets${hint}`;
    if (min < 0) found.push({ i: lo.i, text: say(min, lo.i) });
    if (max > 1) found.push({ i: hi.i, text: say(max, hi.i) });
  }
  found.sort((a, b) => a.i - b.i);
  return found[0]?.text;
}

/** The likely intent behind targets outside [0, 1] for a probability loss. */
function probabilityHint(min: number, max: number, integers: boolean, head: TargetHead): string {
  if (integers && min === -1 && max === 1)
    return '; for labels −1/1 map them to 0/1 ((y + 1) / 2), or use the hinge loss';
  if (integers && head.units === 1) {
    const k = max - Math.min(0, min) + 1;
    const ids = min < 0 ? `map the labels to class ids 0..${k - 1} and ` : '';
    return (
      `; they look like the class ids of a multi-class problem fed to one sigmoid unit: ` +
      `${ids}use sparseCategoricalCrossentropy with a softmax output of ${units(k)}`
    );
  }
  if (integers && head.loss === 'categorical_crossentropy')
    return `; rows must be one-hot (data.toCategorical(ids, ${head.units})) or class probabilities`;
  return '; scale the targets into [0, 1], or use a regression loss such as meanSquaredError';
}

function columnSource(c: AnyColumnInput): LabelSource {
  return isDeviceColumn(c) ? c.source : sourceOf(c.data);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function sourceOf(data: ColumnInput['data']): LabelSource {
  if (data instanceof Uint8Array) return 'u8';
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Uint32Array) return 'u32';
  return 'i32';
}

/** The key of subset()'s internal options: a view of another dataset's rows. */
const VIEW = Symbol('view');
interface ViewSource {
  parent: GpuData;
  indices: Uint32Array;
}

export class GpuData {
  /** Rows of this dataset: what an epoch steps over. */
  readonly rows: number;
  /** Rows its columns hold: `rows`, or the parent's for a subset() view. */
  readonly sourceRows: number;
  readonly inputs: DataColumn[] = [];
  readonly targets: DataColumn[] = [];
  /**
   * Summaries of the target columns (see targetProblem): taken on the host at upload, or
   * given with a column already on the GPU (undefined if its caller gave none).
   */
  readonly targetStats: (TargetStats | undefined)[] = [];
  /** The per-row sample weights (f32, width 1), when given. */
  readonly weights: DataColumn | undefined;
  readonly label: string;
  readonly perm: GPUBuffer;
  private readonly owned: GPUBuffer[] = [];
  /** Parts bound in place from buffers this dataset does not own (device columns). */
  private readonly borrowed: Bindable[] = [];
  /** Releases of the borrowed buffers' owners (Tensor.borrow), called by dispose(). */
  private readonly releases: (() => void)[] = [];
  private disposed = false;
  private readonly disposeHooks: (() => void)[] = [];
  /** A view's rows of its parent, in order (subset()); undefined for a dataset of its own. */
  private readonly indices: Uint32Array | undefined;
  /** The parent of a view, which disposes its views with itself. */
  private readonly parent: GpuData | undefined;
  private readonly views = new Set<GpuData>();

  constructor(
    readonly engine: Engine,
    options: GpuDataOptions,
  ) {
    const label = options.label ?? 'data';
    this.label = label;
    const view = (options as { [VIEW]?: ViewSource })[VIEW];
    if (view) {
      // Shares the parent's columns; only the permutation (view row → parent row) is its own.
      const { parent, indices } = view;
      this.rows = indices.length;
      this.sourceRows = parent.sourceRows;
      this.inputs.push(...parent.inputs);
      this.targets.push(...parent.targets);
      this.targetStats.push(...parent.targetStats);
      this.weights = parent.weights;
      this.borrowed.push(...parent.bindings);
      this.indices = indices;
      this.parent = parent;
      this.perm = this.own(
        engine.createBufferWithData(
          indices,
          GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
          `${label} permutation`,
        ),
      );
      return;
    }
    const columns = [...options.inputs, ...(options.targets ?? [])];
    const first = columns[0];
    if (!first) throw new RangeError(`${label}: no columns`);
    const rowsOf = (c: AnyColumnInput, what: string): number => {
      if (!Number.isSafeInteger(c.width) || c.width <= 0)
        throw new RangeError(`${label} ${what}: width ${c.width} must be a positive integer`);
      if (isDeviceColumn(c)) return c.rows;
      if (c.data.length % c.width !== 0) {
        throw new RangeError(`${label} ${what}: ${c.data.length} values are not whole rows of ${c.width}`);
      }
      return c.data.length / c.width;
    };
    this.rows = rowsOf(first, 'column 0');
    this.sourceRows = this.rows;
    if (this.rows === 0) throw new RangeError(`${label}: no rows`);
    try {
      options.inputs.forEach((c, i) => {
        const what = `input ${i}`;
        if (rowsOf(c, what) !== this.rows)
          throw new RangeError(`${label}: ${what} has ${rowsOf(c, what)} rows, input 0 has ${this.rows}`);
        const source = columnSource(c);
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
        const source = columnSource(c);
        const rowsLike = source === 'u8' || source === 'f32';
        this.targets.push(this.upload(c, source, `${label} ${what}`, options.maxPartBytes, rowsLike));
        this.targetStats.push(isDeviceColumn(c) ? c.stats : targetStats(c.data, c.width));
      });
      const w = options.weights;
      if (w) {
        if (!(w.data instanceof Float32Array) || w.width !== 1)
          throw new TypeError(`${label} weights: one f32 value per row expected`);
        if (w.data.length !== this.rows)
          throw new RangeError(`${label}: weights have ${w.data.length} rows, input 0 has ${this.rows}`);
      }
      this.weights = w ? this.upload(w, 'f32', `${label} weights`, options.maxPartBytes, true) : undefined;
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
    c: AnyColumnInput,
    source: LabelSource,
    label: string,
    maxPart: number | undefined,
    splittable: boolean,
  ): DataColumn {
    const rowBytes = c.width * (source === 'u8' ? 1 : 4);
    const limit = Math.min(maxPart ?? Infinity, this.engine.limits.maxStorageBufferBindingSize);
    const column = { width: c.width, source, scale: c.scale ?? 1, offset: c.offset ?? 0 };
    const first = isDeviceColumn(c) ? (c.firstRow ?? 0) : 0;
    if (isDeviceColumn(c)) {
      const need = (first + this.rows) * rowBytes;
      if (need > c.buffer.size) {
        throw new RangeError(
          `${label}: rows ${first} to ${first + this.rows} of ${rowBytes} bytes need ${need} bytes; ` +
            `the buffer "${c.buffer.label}" holds ${c.buffer.size}`,
        );
      }
      if (first === 0) {
        const parts = this.borrow(c.buffer, rowBytes, label, limit, splittable);
        if (c.borrow) this.releases.push(c.borrow());
        return { ...column, ...parts };
      }
    }
    // Parts hold whole rows, and u8 parts whole words (rows · width a multiple of 4).
    let rowsPerPart = Math.max(1, Math.floor(limit / rowBytes));
    if (source === 'u8') while (rowsPerPart > 1 && (rowsPerPart * c.width) % 4 !== 0) rowsPerPart--;
    rowsPerPart = Math.min(rowsPerPart, this.rows);
    const count = this.partCount(rowsPerPart, rowBytes, label, limit, splittable);
    const parts: GPUBuffer[] = [];
    for (let p = 0; p < count; p++) {
      const start = p * rowsPerPart;
      const end = Math.min(this.rows, start + rowsPerPart);
      const name = count > 1 ? `${label} part ${p}` : label;
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST; // COPY_DST: rewrite()
      if (isDeviceColumn(c)) {
        // Rows of a tensor past its first (a validation split): a copy on the GPU.
        const bytes = (end - start) * rowBytes;
        const part = this.own(this.engine.createBuffer({ size: bytes, usage, label: name }));
        encodeCopyBytes(this.engine, c.buffer, (first + start) * rowBytes, part, bytes);
        parts.push(part);
      } else {
        const values = c.data.subarray(start * c.width, end * c.width);
        parts.push(this.own(this.engine.createBufferWithData(values, usage, name)));
      }
    }
    return { ...column, parts, rowsPerPart };
  }

  /** How many parts of `rowsPerPart` rows the column needs, refusing more than are possible. */
  private partCount(
    rowsPerPart: number,
    rowBytes: number,
    label: string,
    limit: number,
    splittable: boolean,
  ): number {
    const count = Math.ceil(this.rows / rowsPerPart);
    if (count > 1 && !splittable)
      throw new RangeError(`${label}: ${this.rows * rowBytes} bytes exceed one binding (${limit})`);
    if (count > MAX_GATHER_PARTS) {
      throw new RangeError(
        `${label}: ${this.rows * rowBytes} bytes need ${count} buffers of at most ${limit} bytes; ` +
          `at most ${MAX_GATHER_PARTS} are supported on this adapter`,
      );
    }
    return count;
  }

  /**
   * The first `rows` rows of a borrowed buffer as parts bound in place: the buffer itself when
   * it fits one binding, else slices that start at multiples of the storage offset alignment.
   */
  private borrow(
    buffer: GPUBuffer,
    rowBytes: number,
    label: string,
    limit: number,
    splittable: boolean,
  ): { parts: Bindable[]; rowsPerPart: number } {
    const bytes = this.rows * rowBytes;
    const word = (n: number): number => Math.min(buffer.size, Math.ceil(n / 4) * 4);
    if (bytes <= limit) {
      const part = buffer.size <= limit ? buffer : new BufferSlice(buffer, 0, word(bytes), label);
      this.borrowed.push(part);
      return { parts: [part], rowsPerPart: this.rows };
    }
    // Each slice's offset (p · rowsPerPart · rowBytes) a multiple of the alignment.
    const align = this.engine.limits.minStorageBufferOffsetAlignment;
    const step = align / gcd(rowBytes, align);
    const rowsPerPart = Math.floor(Math.floor(limit / rowBytes) / step) * step;
    if (rowsPerPart === 0) {
      throw new RangeError(
        `${label}: a slice of whole rows (${rowBytes} bytes each) starting at a multiple of ` +
          `${align} bytes cannot fit one binding of ${limit} bytes`,
      );
    }
    const count = this.partCount(rowsPerPart, rowBytes, label, limit, splittable);
    const parts: Bindable[] = [];
    for (let p = 0; p < count; p++) {
      const start = p * rowsPerPart * rowBytes;
      const size = word(Math.min(this.rows, (p + 1) * rowsPerPart) * rowBytes) - start;
      parts.push(new BufferSlice(buffer, start, size, `${label} part ${p}`));
    }
    this.borrowed.push(...parts);
    return { parts, rowsPerPart };
  }

  /**
   * True when `inputs` (no targets) have this dataset's shape: as many columns, each with the
   * same width, element type and row count, and this dataset holds no targets. Such inputs
   * can replace the values in place (rewrite()), keeping every plan compiled for it.
   */
  fits(inputs: readonly ColumnInput[]): boolean {
    return (
      !this.disposed &&
      this.borrowed.length === 0 &&
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
      // fits() holds only for datasets of their own buffers (nothing borrowed, no slices).
      (col.parts as GPUBuffer[]).forEach((part, p) => {
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
    const indices = this.indices;
    this.engine.writeBuffer(this.perm, 0, indices ? p.map((i) => indices[i] as number) : p);
  }

  /**
   * A dataset of some of this one's rows, in the order given (repeats allowed), that shares
   * this one's columns on the GPU: nothing is copied but one u32 per row (its permutation,
   * which maps its rows to these). A cross-validation fold or a search candidate's training
   * rows this way costs no upload. fit / evaluate / predict take it as any GpuData;
   * disposing this dataset disposes its views.
   */
  subset(rows: ArrayLike<number>, label = `${this.label} subset`): GpuData {
    if (this.disposed) throw new Error('this dataset was disposed');
    if (rows.length === 0) throw new RangeError(`${label}: no rows`);
    const indices = new Uint32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as number;
      if (!Number.isSafeInteger(r) || r < 0 || r >= this.rows)
        throw new RangeError(
          `${label}: entry ${i} is ${r}, not a row of "${this.label}" (0 to ${this.rows - 1})`,
        );
      indices[i] = this.indices ? (this.indices[r] as number) : r;
    }
    const root = this.parent ?? this;
    const options = { inputs: [], label, [VIEW]: { parent: root, indices } };
    const view = new GpuData(this.engine, options);
    root.views.add(view);
    return view;
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
        `the model has ${graph.losses.length} loss head(s); the data has ${this.targets.length} target column(s)` +
          (this.targets.length === 0 ? ' (a GPU dataset made without targets serves predict only)' : ''),
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
   * The first target column holding values its loss head cannot read (class ids out of range
   * or not integers, probabilities outside [0, 1]), as a sentence naming the dataset, column,
   * row, value and valid range; undefined if none. From the stats taken at upload, so it can
   * be asked before any step runs (fit-data.ts turns it into a LabelError).
   */
  targetProblem(heads: readonly TargetHead[]): string | undefined {
    for (const [i, head] of heads.entries()) {
      const stats = this.targetStats[i];
      const col = this.targets[i];
      if (!stats || !col || col.width !== (head.target === 'sparse' ? 1 : head.units)) continue;
      // Class ids are read as they are; dense rows as v·scale + offset (gather kernel).
      const problem =
        head.target === 'sparse'
          ? targetProblem(stats, head)
          : targetProblem(stats, head, col.scale, col.offset);
      if (problem) {
        const column = heads.length > 1 ? `target column ${i} ("${head.output}")` : 'targets';
        return `GPU dataset "${this.label}", ${column}: ${problem}`;
      }
    }
    return undefined;
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

  /** Everything a step binds for this dataset: its own buffers and the borrowed parts. */
  get bindings(): readonly Bindable[] {
    return [...this.owned, ...this.borrowed];
  }

  get bytes(): number {
    return this.owned.reduce((s, b) => s + b.size, 0);
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of [...this.views]) v.dispose();
    this.parent?.views.delete(this);
    this.disposed = true;
    for (const hook of this.disposeHooks.splice(0)) hook();
    for (const b of this.owned) this.engine.releaseBuffer(b);
    for (const release of this.releases.splice(0)) release();
  }
}
