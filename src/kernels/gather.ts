/**
 * Batch gather: validation, dispatch and the float64 reference. The WGSL (and the layout
 * of a dataset split over several buffers) is described in shaders/gather.ts.
 */
import {
  advanceCursorShader,
  gatherShader,
  labelGatherShader,
  MAX_GATHER_PARTS,
  type GatherSource,
  type LabelOut,
  type LabelSource,
} from '../../shaders/gather.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { checkCount, checkF32, checkFinite, checkSize } from './validate.js';

export { MAX_GATHER_PARTS };
export type { GatherSource, LabelOut, LabelSource };

/** The u32 class index written for a label that is no class index (see GatherLabels). */
export const INVALID_CLASS = 0xffffffff;

export interface GatherLabels {
  /** Element type of the label buffer [rows, width] (u8 packed four to a word). */
  source: LabelSource;
  width: number;
  /**
   * 'f32': the value as f32, [batch, width]. 'u32': the class index, [batch, width]; a
   * negative i32, or an f32 that is negative, fractional or NaN, becomes INVALID_CLASS.
   * 'onehot' (width 1, classes needed): f32 [batch, classes]; an invalid class or one
   * ≥ classes leaves the row all zeros. Out-of-range labels are counted in labelErrors.
   */
  out: LabelOut;
  /** Number of classes: required for 'onehot'; for 'u32' it enables the range count. */
  classes?: number;
}

export interface GatherSpec {
  batch: number;
  features: number;
  /** u8: packed 4 per u32 word (as tensor() stores u8), f32 as is. */
  source: GatherSource;
  /** out = x · scale + offset, in f32 (e.g. scale 1/255). */
  scale: number;
  offset?: number;
  /** Row r lives in part floor(r / rowsPerPart); every part but the last holds exactly this many. */
  rowsPerPart: number;
  /**
   * Rows in the dataset; permutation entries ≥ rows give zero rows. Default: what the parts
   * hold, (parts − 1) · rowsPerPart + the rows that fit in the last part's bytes (a u8 last
   * part padded to 4 bytes may then count up to 3 extra zero bytes as rows when features < 4).
   */
  rows?: number;
  labels?: GatherLabels;
}

export interface GatherBuffers {
  /** The dataset, 1 to MAX_GATHER_PARTS buffers. */
  parts: readonly Bindable[];
  /** u32 [permLength]: dataset row indices (repeats allowed). */
  perm: Bindable;
  permLength: number;
  /** u32 at index 0: the permutation position of batch row 0. */
  cursor: Bindable;
  /** f32 [batch, features]. */
  out: Bindable;
  /** [rows, width] of spec.labels.source. */
  labelSource?: Bindable;
  /** [batch, width] (u32 or f32) or f32 [batch, classes] for one-hot. */
  labelsOut?: Bindable;
  /** Optional u32: [0] += the number of gathered labels out of range (see GatherLabels). */
  labelErrors?: Bindable;
}

/**
 * Builds the batch rows perm[cursor[0] + i], i < batch, into out [batch, features] as
 * x · scale + offset, and the matching labels when spec.labels is set. Batch rows past the
 * end of the permutation (a partial last batch) are written as zeros (label 0, one-hot
 * row 0) and are meant to be left out of losses and counts (see rowsValid in the
 * reductions). Validation errors name the buffers and sizes involved.
 */
export function encodeGatherBatch(engine: Engine, spec: GatherSpec, b: GatherBuffers): void {
  const what = 'gatherBatch';
  const { batch, features, source, rowsPerPart } = spec;
  const offset = spec.offset ?? 0;
  if (!['u8', 'f32'].includes(source)) {
    throw new TypeError(`${what}: source '${source}' is not u8 or f32`);
  }
  checkCount(what, 'batch', batch);
  checkCount(what, 'features', features, 1);
  checkCount(what, 'rowsPerPart', rowsPerPart, 1);
  checkCount(what, 'permLength', b.permLength);
  checkCount(what, 'batch × features', batch * features);
  checkFinite(what, 'scale', spec.scale);
  checkFinite(what, 'offset', offset);
  const partCount = b.parts.length;
  if (partCount < 1 || partCount > MAX_GATHER_PARTS) {
    throw new RangeError(`${what}: ${partCount} dataset parts; 1 to ${MAX_GATHER_PARTS} are supported`);
  }
  const rows = datasetRows(spec, b.parts);
  checkSize(what, 'perm', b.perm, b.permLength * 4, `[${b.permLength}] u32`);
  checkSize(what, 'cursor', b.cursor, 4, 'one u32');
  checkF32(what, 'out', b.out, batch * features, `[${batch}, ${features}]`);
  const labels = spec.labels;
  if (!labels && (b.labelSource || b.labelsOut || b.labelErrors)) {
    throw new TypeError(`${what}: label buffers were given but spec.labels is not set`);
  }
  const labelPlan = labels ? checkLabels(spec, labels, b, rows) : undefined;
  if (batch === 0) return;

  const words = new Uint32Array([batch, features, rowsPerPart, rows, b.permLength, 0, 0, 0]);
  const floats = new Float32Array(words.buffer);
  floats[5] = spec.scale;
  floats[6] = offset;
  // x·scale + offset per value; batch rows of the source (1 byte a u8 value) read, written as
  // f32, plus the batch's permutation entries and the cursor. An estimate for a partial last
  // batch, whose rows past the permutation read nothing.
  const values = batch * features;
  const work = { flops: 2 * values, bytes: values * (source === 'u8' ? 1 : 4) + 4 * values + 4 * batch + 4 };
  const x = `gather_${source}_x${partCount}`;
  const params = (label: string): GPUBuffer => engine.tempUniform(words, `${label} params`);
  if (!labels || !labelPlan) {
    engine.dispatch(
      engine.pipeline(gatherShader(partCount, source), x),
      [...b.parts, b.perm, b.cursor, b.out, params(x)],
      engine.dispatchGrid(values, WORKGROUP_1D),
      x,
      work,
    );
    return;
  }
  const l = labelDispatch(engine, batch, labels, labelPlan, rows, b);
  if (partCount > 1) {
    // Two dispatches: one shader would bind more than 8 storage buffers.
    engine.dispatch(
      engine.pipeline(gatherShader(partCount, source), x),
      [...b.parts, b.perm, b.cursor, b.out, params(x)],
      engine.dispatchGrid(values, WORKGROUP_1D),
      x,
      work,
    );
    engine.dispatch(l.pipeline(), l.buffers, engine.dispatchGrid(l.threads, WORKGROUP_1D), l.label, l.work);
    return;
  }
  // One dispatch: the threads past the batch's inputs gather its labels.
  const both = `${x}_labels_${labels.source}_${labels.out}`;
  const variant = { source: labels.source, out: labels.out, errors: labelPlan.errors !== undefined };
  engine.dispatch(
    engine.pipeline(gatherShader(1, source, variant), both),
    [
      ...b.parts,
      b.perm,
      b.cursor,
      b.out,
      params(both),
      l.src,
      l.out,
      l.params,
      ...(l.errors ? [l.errors] : []),
    ],
    engine.dispatchGrid(values + l.threads, WORKGROUP_1D),
    both,
    // The permutation entries and the cursor are read once for both.
    { flops: work.flops + l.work.flops, bytes: work.bytes + l.work.bytes - (4 * batch + 4) },
  );
}

/**
 * Gathers only the labels of the batch (a target column of its own, e.g. one of several
 * model outputs): labelsOut[i] from labelSource row perm[cursor[0] + i]. `rows` is the
 * number of rows in labelSource.
 */
export function encodeGatherLabels(
  engine: Engine,
  spec: { batch: number; rows: number; labels: GatherLabels },
  b: Omit<GatherBuffers, 'parts' | 'out'>,
): void {
  const what = 'gatherLabels';
  checkCount(what, 'batch', spec.batch);
  checkCount(what, 'rows', spec.rows, 1);
  checkCount(what, 'permLength', b.permLength);
  checkSize(what, 'perm', b.perm, b.permLength * 4, `[${b.permLength}] u32`);
  checkSize(what, 'cursor', b.cursor, 4, 'one u32');
  const gather: GatherSpec = {
    batch: spec.batch,
    features: 1,
    source: 'f32',
    scale: 1,
    rowsPerPart: spec.rows,
  };
  const plan = checkLabels(gather, spec.labels, b, spec.rows);
  if (spec.batch === 0) return;
  const l = labelDispatch(engine, spec.batch, spec.labels, plan, spec.rows, b);
  engine.dispatch(l.pipeline(), l.buffers, engine.dispatchGrid(l.threads, WORKGROUP_1D), l.label, l.work);
}

/** The label gather's pipeline, bindings (standalone order), threads and work. */
function labelDispatch(
  engine: Engine,
  batch: number,
  labels: GatherLabels,
  plan: { src: Bindable; out: Bindable; errors?: Bindable; perRow: number },
  rows: number,
  b: { perm: Bindable; permLength: number; cursor: Bindable },
): {
  label: string;
  /** The standalone label gather's pipeline (made on the first call). */
  pipeline: () => GPUComputePipeline;
  buffers: Bindable[];
  src: Bindable;
  out: Bindable;
  params: GPUBuffer;
  errors?: Bindable;
  threads: number;
  work: { flops: number; bytes: number };
} {
  const { src, out, errors, perRow } = plan;
  const lw = new Uint32Array([batch, labels.width, labels.classes ?? 0, rows, b.permLength, 0, 0, 0]);
  const label = `gather_labels_${labels.source}_${labels.out}`;
  const params = engine.tempUniform(lw, `${label} params`);
  // No arithmetic (conversions and class tests). Reads each batch row's labels (one for
  // one-hot) at their width, the permutation entries and the cursor; writes [batch, perRow]
  // 4-byte values. The error count's atomic (only for a label out of range) is not counted.
  const srcBytes = labels.source === 'u8' ? 1 : 4;
  const read = batch * (labels.out === 'onehot' ? 1 : labels.width) * srcBytes + 4 * batch + 4;
  return {
    label,
    pipeline: () =>
      engine.pipeline(labelGatherShader(labels.source, labels.out, errors !== undefined), label),
    buffers: [src, b.perm, b.cursor, out, params, ...(errors ? [errors] : [])],
    src,
    out,
    params,
    ...(errors ? { errors } : {}),
    threads: batch * perRow,
    work: { flops: 0, bytes: read + 4 * batch * perRow },
  };
}

/** Points the batch cursor at row `row` of the permutation (one 16-byte queue write). */
export function writeCursor(engine: Engine, cursor: GPUBuffer, row = 0): void {
  checkCount('writeCursor', 'row', row);
  checkSize('writeCursor', 'cursor', cursor, 4, 'one u32');
  engine.writeBuffer(cursor, 0, new Uint32Array([row, 0, 0, 0]));
}

/** cursor[0] += step on the GPU (u32, wrapping), e.g. after each batch of an epoch. */
export function encodeAdvanceCursor(engine: Engine, cursor: Bindable, step: number): void {
  checkCount('advanceCursor', 'step', step);
  checkSize('advanceCursor', 'cursor', cursor, 4, 'one u32');
  const params = engine.tempUniform(new Uint32Array([step, 0, 0, 0]), 'advance_cursor params');
  engine.dispatch(
    engine.pipeline(advanceCursorShader(), 'advance_cursor'),
    [cursor, params],
    [1],
    'advance_cursor',
    { flops: 0, bytes: 8 }, // the cursor read and written
  );
}

/** Rows of the dataset, checking that every part holds its share. */
function datasetRows(spec: GatherSpec, parts: readonly Bindable[]): number {
  const { features, rowsPerPart } = spec;
  const bytesPerValue = spec.source === 'u8' ? 1 : 4;
  const rowBytes = features * bytesPerValue;
  const last = parts.length - 1;
  const lastPart = parts[last];
  if (!lastPart) throw new RangeError('gatherBatch: no dataset parts');
  let rows = spec.rows;
  if (rows === undefined) {
    rows = last * rowsPerPart + Math.min(rowsPerPart, Math.floor(lastPart.size / rowBytes));
  } else {
    checkCount('gatherBatch', 'rows', rows);
    const needed = Math.ceil(rows / rowsPerPart);
    if (needed !== parts.length) {
      throw new RangeError(
        `gatherBatch: ${rows} rows at ${rowsPerPart} rows per part need ${needed} part(s); ` +
          `${parts.length} were given`,
      );
    }
  }
  parts.forEach((part, p) => {
    const partRows = Math.min(rowsPerPart, rows - p * rowsPerPart);
    const bytes = partRows * rowBytes;
    if (partRows < 1 || part.size < bytes) {
      throw new RangeError(
        `gatherBatch: part ${p} ("${part.label}") has ${part.size} bytes; its ` +
          `${Math.max(partRows, 1)} row(s) of ${features} ${spec.source} features need ` +
          `${Math.max(bytes, rowBytes)} (rowsPerPart ${rowsPerPart}, ${rows} rows in all)`,
      );
    }
  });
  return rows;
}

function checkLabels(
  spec: GatherSpec,
  labels: GatherLabels,
  b: Omit<GatherBuffers, 'parts' | 'out'>,
  rows: number,
): { src: Bindable; out: Bindable; errors?: Bindable; perRow: number } {
  const what = `gatherBatch labels (${labels.source} -> ${labels.out})`;
  if (!['u8', 'u32', 'i32', 'f32'].includes(labels.source)) {
    throw new TypeError(`${what}: label source must be u8, u32, i32 or f32`);
  }
  if (!['u32', 'f32', 'onehot'].includes(labels.out)) {
    throw new TypeError(`${what}: label out must be u32, f32 or onehot`);
  }
  checkCount(what, 'width', labels.width, 1);
  const classes = labels.classes;
  if (classes !== undefined) checkCount(what, 'classes', classes, 1);
  if (labels.out === 'onehot') {
    if (labels.width !== 1) throw new RangeError(`${what}: one-hot needs width 1, got ${labels.width}`);
    if (classes === undefined) throw new RangeError(`${what}: one-hot needs classes`);
  }
  if (labels.out === 'f32' && b.labelErrors) {
    throw new TypeError(`${what}: labelErrors counts class indices; out 'f32' has none`);
  }
  const src = b.labelSource;
  const out = b.labelsOut;
  if (!src || !out) throw new TypeError(`${what}: spec.labels needs labelSource and labelsOut`);
  const bytesPerValue = labels.source === 'u8' ? 1 : 4;
  checkSize(
    what,
    'labelSource',
    src,
    rows * labels.width * bytesPerValue,
    `[${rows}, ${labels.width}] ${labels.source}`,
  );
  const perRow = labels.out === 'onehot' ? (classes ?? 1) : labels.width;
  checkCount(what, 'batch × labels per row', spec.batch * perRow);
  const outType = labels.out === 'u32' ? 'u32' : 'f32';
  checkSize(what, 'labelsOut', out, spec.batch * perRow * 4, `[${spec.batch}, ${perRow}] ${outType}`);
  if (b.labelErrors) checkSize(what, 'labelErrors', b.labelErrors, 4, 'one u32');
  return { src, out, errors: b.labelErrors, perRow };
}

// ------------------------------------------------------------ reference

export interface GatherReference {
  /** [batch, features]: fround(x · scale + offset) evaluated in float64. */
  x: Float64Array;
  /** [batch, width] or [batch, classes] as the spec's label out. */
  labels?: Float64Array;
  /** What labelErrors[0] should have grown by. */
  labelErrors: number;
}

/**
 * Float64 reference of encodeGatherBatch. `data.x` is the whole dataset [rows, features] as
 * plain numbers (not packed, not split), `data.labels` its labels [rows, width].
 */
export function gatherReference(
  spec: GatherSpec,
  data: { x: ArrayLike<number>; labels?: ArrayLike<number> },
  perm: ArrayLike<number>,
  start: number,
): GatherReference {
  const { batch, features } = spec;
  const rows = spec.rows ?? Math.floor(data.x.length / features);
  const offset = spec.offset ?? 0;
  const rowOf = (i: number): number | undefined => {
    const r = start + i < perm.length ? perm[start + i] : undefined;
    return r !== undefined && r < rows ? r : undefined;
  };
  const x = new Float64Array(batch * features);
  for (let i = 0; i < batch; i++) {
    const r = rowOf(i);
    if (r === undefined) continue;
    for (let f = 0; f < features; f++) {
      x[i * features + f] = Math.fround((data.x[r * features + f] ?? NaN) * spec.scale + offset);
    }
  }
  const spl = spec.labels;
  if (!spl || !data.labels) return { x, labelErrors: 0 };
  const source = data.labels;
  const classes = spl.classes ?? 0;
  const classOf = (v: number): number => {
    if (spl.source === 'i32') return v >= 0 ? v : INVALID_CLASS;
    if (spl.source === 'f32') return Number.isInteger(v) && v >= 0 && v < 2 ** 32 ? v : INVALID_CLASS;
    return v;
  };
  const bad = (c: number) => c === INVALID_CLASS || (classes > 0 && c >= classes);
  const perRow = spl.out === 'onehot' ? classes : spl.width;
  const labels = new Float64Array(batch * perRow);
  let labelErrors = 0;
  for (let i = 0; i < batch; i++) {
    const r = rowOf(i);
    if (r === undefined) continue;
    if (spl.out === 'onehot') {
      const c = classOf(source[r] ?? NaN);
      if (bad(c)) labelErrors++;
      else labels[i * perRow + c] = 1;
      continue;
    }
    for (let w = 0; w < spl.width; w++) {
      const v = source[r * spl.width + w] ?? NaN;
      if (spl.out === 'f32') {
        labels[i * perRow + w] = Math.fround(v);
      } else {
        const c = classOf(v);
        if (bad(c)) labelErrors++;
        labels[i * perRow + w] = c;
      }
    }
  }
  return { x, labels, labelErrors };
}
