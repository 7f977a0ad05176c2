/**
 * A search's data on the GPU, uploaded once: X as one f32 column, and each target encoding a
 * Keras model asks for (class ids, 0/1, one-hot rows, values) as a column of the same
 * dataset family, each made the first time a candidate's loss needs it. Folds and candidates
 * then train and predict on `GpuData.subset` views of those rows (one u32 per row each), so
 * a GridSearchCV of c candidates over k folds uploads X once instead of c·k + 1 times.
 *
 * The searches hand a Keras wrapper a FoldRows in place of X (the wrappers' fit, predict and
 * score recognise it); anything else (a Pipeline, a custom scorer function) gets the host
 * rows, as before.
 */
import { GpuData } from '../graph/dataset.js';
import { firstNonFinite } from '../model/finite.js';
import { currentEngine } from '../gpu/init.js';
import { classIds, flatten } from './base.js';
import type { Matrix, Target } from './types.js';

/** How a Keras wrapper gives its model the targets (see wrappers.ts). */
export type TargetKind = 'ids' | 'binary' | 'onehot' | 'values';

/** X (and y) of one search, on the host and, once asked for, on the GPU. */
export class SearchRows {
  readonly rows: number;
  readonly cols: number;
  /** X row-major, as the wrappers upload it. */
  readonly data: Float32Array;
  /** The classes of all of y and each row's id (base.ts's classIds), when y holds labels. */
  private labels: { classes: (number | string)[]; ids: Uint32Array } | undefined;
  private readonly sets = new Map<string, GpuData>();

  constructor(
    who: string,
    readonly x: Matrix,
    readonly y: Target | undefined,
  ) {
    const { flat, rows, cols } = flatten(x, who);
    this.rows = rows;
    this.cols = cols;
    this.data = Float32Array.from(flat);
    this.finite = firstNonFinite(this.data) < 0;
  }

  /**
   * Whether X holds only finite float32 values. The host path refuses NaN/±Inf per fit (its
   * error names the row and the fold scores NaN); a GPU dataset would compute with them, so a
   * search with them keeps to host rows.
   */
  readonly finite: boolean;

  /** The rows `indices` of this search's X (and y), as a fit or a score takes them. */
  fold(indices: readonly number[]): FoldRows {
    return new FoldRows(this, indices);
  }

  /**
   * The classes of the whole y (computed once), as a classifier's fit reads them; undefined
   * when the whole y cannot be read as labels (a bad label in some test fold only: those folds
   * then go up as host rows, which fit without it).
   */
  classes(who: string): (number | string)[] | undefined {
    try {
      return this.classIds(who).classes;
    } catch {
      return undefined;
    }
  }

  private classIds(who: string): { classes: (number | string)[]; ids: Uint32Array } {
    if (!this.y) throw new TypeError(`${who}: y is required`);
    this.labels ??= classIds(who, this.y);
    return this.labels;
  }

  /**
   * The dataset holding X and the targets of `kind` for every row (`units` wide for one-hot),
   * uploaded on first use. `kind` undefined: any dataset made so far, or X alone (predict).
   */
  dataset(kind?: TargetKind, units = 1): GpuData {
    if (kind === undefined) {
      const any = this.sets.values().next();
      if (!any.done) return any.value;
    }
    const key = kind === undefined ? 'x' : `${kind}:${units}`;
    let set = this.sets.get(key);
    if (!set) {
      const targets = kind === undefined ? [] : [this.target(kind, units)];
      set = new GpuData(currentEngine(), {
        inputs: [{ data: this.data, width: this.cols }],
        targets,
        label: `search ${key}`,
      });
      this.sets.set(key, set);
    }
    return set;
  }

  private target(kind: TargetKind, units: number): { data: Float32Array | Uint32Array; width: number } {
    if (kind === 'values') return { data: Float32Array.from(this.y as readonly number[]), width: 1 };
    return encodeIds(kind, this.classIds('search').ids, units);
  }

  /** The number of datasets uploaded so far (one per target encoding asked for). */
  get uploads(): number {
    return this.sets.size;
  }

  dispose(): void {
    for (const s of this.sets.values()) s.dispose();
    this.sets.clear();
  }
}

/** Some rows of a SearchRows: what a search passes a Keras wrapper as X. */
export class FoldRows {
  constructor(
    readonly source: SearchRows,
    readonly indices: readonly number[],
  ) {}

  /** These rows of X on the host (for a fit that cannot use the GPU rows). */
  matrix(): number[][] {
    const { data, cols } = this.source;
    return this.indices.map((r) => Array.from(data.subarray(r * cols, (r + 1) * cols)));
  }

  /** This fold as the Matrix the estimator protocol types X as (the wrappers tell it apart). */
  asMatrix(): Matrix {
    return this as unknown as Matrix;
  }

  /** A view of these rows of the search's dataset of `kind` (see SearchRows.dataset); dispose it after use. */
  view(kind?: TargetKind, units?: number, from = 0, to = this.indices.length): GpuData {
    return this.source.dataset(kind, units).subset(this.indices.slice(from, to), `fold rows ${from}-${to}`);
  }
}

/** Class ids as a Keras loss takes them: ids [n, 1], 0/1 floats [n, 1], or one-hot rows [n, units]. */
export function encodeIds(
  kind: Exclude<TargetKind, 'values'>,
  ids: Uint32Array,
  units: number,
): { data: Float32Array | Uint32Array; width: number } {
  if (kind === 'ids') return { data: ids, width: 1 };
  if (kind === 'binary') return { data: Float32Array.from(ids), width: 1 };
  const oneHot = new Float32Array(ids.length * units);
  ids.forEach((k, r) => (oneHot[r * units + k] = 1));
  return { data: oneHot, width: units };
}
