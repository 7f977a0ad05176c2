/**
 * fit's and trainOnBatch's sampleWeight / classWeight (Keras's sample_weight, class_weight)
 * as one f32 weight per row, checked on the host before anything is uploaded. Keras 3:
 * class_weight becomes a sample weight looked up by each row's class (data_adapter_utils
 * class_weight_to_sample_weights: the class id of a sparse target, the argmax of a row of
 * several values, the rounded value of a single one; classes not listed weigh 1); the two
 * together are refused (array_data_adapter.py), as is class_weight for several outputs. The
 * weights scale each row's loss: Σ w·l / rows per batch ('sum_over_batch_size').
 */
import type { ColumnInput } from '../graph/dataset.js';
import { Tensor } from '../tensor/tensor.js';
import { DataError } from './data-error.js';

/**
 * What the weights are read against (structurally fit-data.ts's HostColumns and DataLayout,
 * which this module does not import: fit-data imports it). A target column is host values,
 * or an eager Tensor on the GPU (`tensor`).
 */
interface WeightColumns {
  rows: number;
  targets: readonly (ColumnInput | { tensor: unknown })[];
}
interface WeightLayout {
  outputs: readonly { name: string; features: number }[];
}

/** Per-row weights: an array (or typed array) of one number per row, or rows of one. */
export type SampleWeightInput = ArrayLike<number> | readonly (readonly number[])[];

/** Per-class weights by class id ({ 0: 1, 1: 5 }); classes not listed weigh 1. */
export type ClassWeightInput = Readonly<Record<number, number>>;

export interface WeightArgs {
  sampleWeight?: SampleWeightInput;
  classWeight?: ClassWeightInput;
}

/** The row weights and whether they came from sampleWeight (then validationSplit splits them). */
export interface RowWeights {
  weights: Float32Array;
  sampleWeight: boolean;
}

/** A weight that is not a finite number ≥ 0, as a phrase; undefined when it is one. */
function badWeight(v: unknown): string | undefined {
  if (typeof v !== 'number') return `${String(v)} is not a number`;
  if (!Number.isFinite(v)) return `${v} is not finite`;
  if (v < 0) return `${v} is negative`;
  return undefined;
}

/** numpy's round (half to even), as Keras rounds a single target value to a class. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The row weights args ask for over `cols` (undefined when neither option is given), or a
 * DataError naming the option and the offending entry.
 */
export function rowWeights(
  args: WeightArgs,
  cols: WeightColumns,
  layout: WeightLayout,
  what: string,
): RowWeights | undefined {
  const { sampleWeight, classWeight } = args;
  if (sampleWeight === undefined && classWeight === undefined) return undefined;
  if (sampleWeight !== undefined && classWeight !== undefined) {
    throw new DataError(
      `${what}: pass classWeight or sampleWeight, not both (as Keras); for both, multiply the ` +
        "class weight of each row's class into its sample weight",
    );
  }
  if (sampleWeight !== undefined)
    return { weights: sampleWeights(sampleWeight, cols.rows, what), sampleWeight: true };
  return { weights: classWeights(classWeight as ClassWeightInput, cols, layout, what), sampleWeight: false };
}

function sampleWeights(given: SampleWeightInput, rows: number, what: string): Float32Array {
  const raw: unknown = given; // checked at run time for untyped callers
  if (raw instanceof Tensor || typeof raw !== 'object' || raw === null || !('length' in raw)) {
    throw new DataError(
      `${what}: sampleWeight must be an array or typed array of one number per row` +
        (raw instanceof Tensor ? ` (got ${raw.describe()}: read it with await t.data() first)` : ''),
    );
  }
  const flat: unknown[] = Array.isArray(given)
    ? (given as unknown[]).map((r, i) => {
        if (!Array.isArray(r)) return r;
        if (r.length !== 1)
          throw new DataError(
            `${what}: sampleWeight[${i}] has ${r.length} values; one weight per row expected`,
          );
        return r[0] as unknown;
      })
    : Array.from(given as ArrayLike<number>);
  if (flat.length !== rows)
    throw new DataError(
      `${what}: sampleWeight has ${flat.length} entries for ${rows} rows of x; give one per row`,
    );
  const out = new Float32Array(rows);
  flat.forEach((v, i) => {
    const bad = badWeight(v);
    if (bad)
      throw new DataError(`${what}: sampleWeight[${i}] = ${bad}; sample weights must be finite and ≥ 0`);
    out[i] = v as number;
  });
  return out;
}

function classWeights(
  given: ClassWeightInput,
  cols: WeightColumns,
  layout: WeightLayout,
  what: string,
): Float32Array {
  const raw: unknown = given; // checked at run time for untyped callers
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DataError(`${what}: classWeight must be an object of class id → weight, e.g. { 0: 1, 1: 5 }`);
  }
  const out = layout.outputs[0];
  if (layout.outputs.length !== 1 || !out) {
    throw new DataError(
      `${what}: classWeight is only supported for models with a single output (as Keras); ` +
        `this one has ${layout.outputs.length}: pass sampleWeight instead`,
    );
  }
  // A single unit (sigmoid) has the classes 0 and 1; else one class per unit.
  const classes = out.features === 1 ? 2 : out.features;
  const table = new Float64Array(classes).fill(1);
  for (const [key, value] of Object.entries(given)) {
    const id = Number(key);
    if (!/^\d+$/.test(key) || id >= classes) {
      throw new DataError(
        `${what}: classWeight key ${JSON.stringify(key)} is not a class of the output "${out.name}" ` +
          `(class ids 0 to ${classes - 1})`,
      );
    }
    const bad = badWeight(value);
    if (bad)
      throw new DataError(`${what}: classWeight[${key}] = ${bad}; class weights must be finite and ≥ 0`);
    table[id] = value;
  }
  const target = cols.targets[0];
  if (!target) throw new DataError(`${what}: classWeight needs targets y`);
  if ('tensor' in target) {
    throw new DataError(
      `${what}: classWeight reads each row's class from y on the host, and y is an eager Tensor on ` +
        'the GPU: pass y as a host array, or pass sampleWeight (the class weight of each row)',
    );
  }
  return classWeightRows(target, table);
}

/** Each row's weight: table[class], the class an id, a row's argmax or a rounded value. */
function classWeightRows(target: ColumnInput, table: Float64Array): Float32Array {
  const { data, width } = target;
  const rows = data.length / width;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let cls: number;
    if (width === 1) cls = roundHalfEven(data[r] as number);
    else {
      cls = 0;
      for (let j = 1; j < width; j++)
        if ((data[r * width + j] as number) > (data[r * width + cls] as number)) cls = j;
    }
    out[r] = table[cls] ?? 1;
  }
  return out;
}
