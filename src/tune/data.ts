/**
 * The data of a search or a cross-validation, on the GPU once: host x and y become columns
 * shaped by the model's inputs and outputs (as fit() would make them), uploaded as GpuData
 * that every trial's fit() reuses without a copy.
 *
 * fit() knows from the compiled loss whether a target is class ids or rows of values; that is
 * private to the model, so here the count of values decides: rows × units values are rows
 * (one-hot, regression targets), one value per row for an output with several units are
 * class ids. A mismatch with the loss (class ids for categorical_crossentropy, one-hot rows
 * for the sparse loss) fails in the first fit with the loss and widths named.
 */
import type { Engine } from '../gpu/engine.js';
import { GpuData, type ColumnInput } from '../graph/dataset.js';
import type { FitArgs, LayersModel } from '../model/model.js';
import {
  checkClassIds,
  DataError,
  perTensor,
  sliceColumn,
  toColumn,
  type DataArg,
  type TensorLike,
} from '../model/data.js';
import { takeRows } from '../data/prep.js';

/** Host columns for the model's inputs and outputs, and their row count. */
export interface HostColumns {
  inputs: ColumnInput[];
  targets: ColumnInput[];
  rows: number;
}

function valueCount(t: TensorLike): number {
  if (ArrayBuffer.isView(t)) return (t as unknown as ArrayLike<number>).length;
  if (Array.isArray(t)) return (t as unknown[]).flat(Infinity).length;
  return (t as { data: ArrayLike<number> }).data.length;
}

/** x and y as columns for `model` (its input and output sizes), checked as fit() checks them. */
export function hostColumns(model: LayersModel, x: DataArg, y: DataArg, what: string): HostColumns {
  const inNames = model.inputs.map((i) => i.name);
  const inputs: ColumnInput[] = [];
  let rows = -1;
  perTensor(x, inNames, `${what}: x`).forEach((t, i) => {
    const features = (model.inputs[i] as LayersModel['inputs'][number]).features;
    const col = toColumn(t, features, `${what}: x${inNames.length > 1 ? ` "${inNames[i]}"` : ''}`);
    if (rows >= 0 && col.rows !== rows)
      throw new DataError(`${what}: input "${inNames[i]}" has ${col.rows} rows, "${inNames[0]}" has ${rows}`);
    rows = col.rows;
    inputs.push({ data: col.values, width: features });
  });
  const outNames = model.outputs.map((o) => o.name);
  const targets = perTensor(y, outNames, `${what}: y`).map((t, i): ColumnInput => {
    const units = (model.outputs[i] as LayersModel['outputs'][number]).features;
    const label = `${what}: y${outNames.length > 1 ? ` "${outNames[i]}"` : ''}`;
    const n = valueCount(t);
    if (units > 1 && n === rows) return checkClassIds(toColumn(t, 1, label), units, label);
    if (n !== rows * units) {
      throw new DataError(
        `${label}: ${n} values for ${rows} rows; the output "${outNames[i]}" has ${units} units: ` +
          `give ${rows * units} values (rows of ${units})${units > 1 ? ` or ${rows} class ids` : ''}`,
      );
    }
    const col = toColumn(t, units, label);
    return {
      data: col.values instanceof Float32Array ? col.values : Float32Array.from(col.values),
      width: units,
    };
  });
  return { inputs, targets, rows };
}

/** Rows [start, end) of the columns on the GPU. */
export function uploadSlice(
  engine: Engine,
  c: HostColumns,
  start: number,
  end: number,
  label: string,
): GpuData {
  return new GpuData(engine, {
    inputs: c.inputs.map((col) => sliceColumn(col, start, end)),
    targets: c.targets.map((col) => sliceColumn(col, start, end)),
    label,
  });
}

/** The given rows (any order) of the columns on the GPU. */
export function uploadRows(engine: Engine, c: HostColumns, rows: Uint32Array, label: string): GpuData {
  const take = (col: ColumnInput): ColumnInput => ({ ...col, data: takeRows(col.data, col.width, rows) });
  return new GpuData(engine, { inputs: c.inputs.map(take), targets: c.targets.map(take), label });
}

/** Training and validation data of a search, on the GPU; `owned` are freed by dispose(). */
export interface SearchData {
  train: GpuData;
  val: GpuData | undefined;
  dispose(): void;
}

/**
 * x/y (host arrays, or a GpuData with y undefined) and fit's validationSplit / validationData
 * as GPU datasets made once. validationSplit takes the last rows, as Keras does.
 */
export function searchData(
  engine: Engine,
  model: LayersModel,
  x: DataArg | GpuData,
  y: DataArg | undefined,
  args: Pick<FitArgs, 'validationSplit' | 'validationData'>,
): SearchData {
  const owned: GpuData[] = [];
  const dispose = (): void => {
    for (const d of owned.splice(0)) d.dispose();
  };
  try {
    const split = args.validationSplit ?? 0;
    if (!(split >= 0 && split < 1)) throw new RangeError(`validationSplit ${split} must be in [0, 1)`);
    if (split > 0 && args.validationData)
      throw new TypeError('search: pass validationSplit or validationData, not both');
    let train: GpuData;
    let val: GpuData | undefined;
    if (x instanceof GpuData) {
      if (split > 0)
        throw new DataError('validationSplit needs host arrays; pass validationData for a GPU dataset');
      train = x;
    } else {
      if (y === undefined) throw new DataError('search: y is missing (only a GpuData carries its targets)');
      const cols = hostColumns(model, x, y, 'search');
      const cut = split > 0 ? Math.floor(cols.rows * (1 - split)) : cols.rows;
      if (split > 0 && (cut === 0 || cut === cols.rows)) {
        throw new DataError(
          `validationSplit ${split} of ${cols.rows} rows leaves ${cut} for training and ${cols.rows - cut} for validation`,
        );
      }
      train = uploadSlice(engine, cols, 0, cut, 'search train');
      owned.push(train);
      if (split > 0) {
        val = uploadSlice(engine, cols, cut, cols.rows, 'search validation');
        owned.push(val);
      }
    }
    if (args.validationData) {
      const [vx, vy] = args.validationData;
      if (vx instanceof GpuData) val = vx;
      else {
        if (vy === undefined) throw new DataError('validationData: y is missing');
        const cols = hostColumns(model, vx, vy, 'validationData');
        val = uploadSlice(engine, cols, 0, cols.rows, 'search validation');
        owned.push(val);
      }
    }
    return { train, val, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
