/**
 * The data <mlp-trainer> trains on: MNIST (from the demo's ./mnist/ or an `mnist-url`), or
 * an app's own table of features and class ids. Host arrays are checked here, then uploaded
 * once as GPU datasets that the element keeps between runs while their key stays the same.
 */
import { data, GpuData, type Engine } from '../../src/index.js';
import type { MnistData } from '../../src/data/mnist.js';
import { gpuSplit, head, loadMnist, trainValidation } from './mnist.js';

/** Rows of features and their class ids. */
export interface TrainerSplit {
  /** Row-major [rows, features] values, or one array per row. */
  x: Float32Array | readonly (readonly number[])[];
  /** [rows] class ids 0 .. classes − 1. */
  y: Uint8Array | Int32Array | readonly number[];
}

/** An app's own data for <mlp-trainer> (`.data`), instead of MNIST. */
export interface TrainerData extends TrainerSplit {
  features: number;
  classes: number;
  /** Validation rows; without them the last 10% of the rows validate (Keras's validation_split). */
  validation?: TrainerSplit;
}

/** A checked split: x [rows, features] f32, y [rows] class ids. */
export interface HostSplit {
  x: Float32Array;
  y: Uint8Array | Int32Array;
  rows: number;
  features: number;
}

/** Checks a split's shapes, values and class ids (the message names the field and row). */
export function toHostSplit(s: TrainerSplit, features: number, classes: number, what: string): HostSplit {
  let x: Float32Array;
  if (s.x instanceof Float32Array) {
    if (s.x.length % features !== 0) {
      throw new RangeError(`${what}.x has ${s.x.length} values: not whole rows of ${features} features`);
    }
    x = s.x;
  } else {
    const rowsIn = s.x;
    x = new Float32Array(rowsIn.length * features);
    rowsIn.forEach((r, i) => {
      if (r.length !== features) {
        throw new RangeError(`${what}.x row ${i} has ${r.length} values; features is ${features}`);
      }
      x.set(r, i * features);
    });
  }
  const rows = x.length / features;
  if (rows === 0) throw new RangeError(`${what} has no rows`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(
        `${what}.x row ${Math.floor(i / features)} holds ${x[i]}; features must be finite`,
      );
    }
  }
  if (s.y.length !== rows) throw new RangeError(`${what}.y has ${s.y.length} labels for ${rows} rows of x`);
  for (let i = 0; i < rows; i++) {
    const v = s.y[i] ?? NaN;
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new RangeError(`${what}.y[${i}] is ${v}; class ids must be integers 0..${classes - 1}`);
    }
  }
  const y = s.y instanceof Uint8Array || s.y instanceof Int32Array ? s.y : Int32Array.from(s.y);
  return { x, y, rows, features };
}

/** The training and validation splits of `.data`, checked. */
export function customSplits(d: TrainerData): { train: HostSplit; validation: HostSplit } {
  if (!Number.isSafeInteger(d.features) || d.features <= 0) {
    throw new RangeError(`data.features must be a positive integer, got ${d.features}`);
  }
  if (!Number.isSafeInteger(d.classes) || d.classes < 2) {
    throw new RangeError(`data.classes must be an integer ≥ 2, got ${d.classes}`);
  }
  const all = toHostSplit(d, d.features, d.classes, 'data');
  if (d.validation) {
    return { train: all, validation: toHostSplit(d.validation, d.features, d.classes, 'data.validation') };
  }
  // The tail validates, as Keras's validation_split (and the demo's MNIST split) take it.
  const v = Math.max(1, Math.round(all.rows * 0.1));
  const n = all.rows - v;
  if (n < 1) throw new RangeError(`data has ${all.rows} row(s): too few to keep 10% for validation`);
  const f = d.features;
  return {
    train: { x: all.x.subarray(0, n * f), y: all.y.subarray(0, n), rows: n, features: f },
    validation: { x: all.x.subarray(n * f), y: all.y.subarray(n), rows: v, features: f },
  };
}

/** A checked split on the GPU (f32 features, class-id targets). */
export function hostGpuData(engine: Engine, s: HostSplit, label: string): GpuData {
  return new GpuData(engine, {
    inputs: [{ data: s.x, width: s.features }],
    targets: [{ data: s.y, width: 1 }],
    label,
  });
}

const fetched = new Map<string, { trainRows: number; testRows: number; data: Promise<MnistData> }>();

/**
 * The first rows of MNIST from `url` (resolved against the page), or from the demo's
 * ./mnist/ through its shared cache (mnist.ts) when `url` is undefined. A second call for no
 * more rows reuses the first download.
 */
export function loadMnistAt(
  url: string | undefined,
  trainRows: number,
  testRows: number,
): Promise<MnistData> {
  if (url === undefined) return loadMnist(trainRows, testRows);
  const base = new URL(url, document.baseURI).href;
  const cut = (d: MnistData): MnistData => ({
    train: head(d.train, trainRows),
    test: head(d.test, testRows),
  });
  const known = fetched.get(base);
  if (known && known.trainRows >= trainRows && known.testRows >= testRows) return known.data.then(cut);
  const want = {
    trainRows: Math.max(trainRows, known?.trainRows ?? 0),
    testRows: Math.max(testRows, known?.testRows ?? 0),
  };
  const promise = data.fetchMnist(base, want);
  fetched.set(base, { ...want, data: promise });
  promise.catch(() => {
    if (fetched.get(base)?.data === promise) fetched.delete(base); // retried next time
  });
  return promise.then(cut);
}

/**
 * GPU datasets kept between runs while their key is the same (each entry of the key is
 * compared with ===: the engine, the data source, the rows), disposed when it changes.
 */
export class Kept<T> {
  private key: readonly unknown[] | undefined;
  private value: T | undefined;

  constructor(private readonly parts: (value: T) => GpuData[]) {}

  async get(key: readonly unknown[], make: () => Promise<T>): Promise<T> {
    const k = this.key;
    if (this.value !== undefined && k?.length === key.length && k.every((v, i) => v === key[i])) {
      return this.value;
    }
    this.dispose();
    const value = await make();
    this.key = key;
    this.value = value;
    return value;
  }

  dispose(): void {
    if (this.value !== undefined) for (const d of this.parts(this.value)) d.dispose();
    this.value = undefined;
    this.key = undefined;
  }
}

/** The GPU datasets of one run. */
export interface RunData {
  train: GpuData;
  validation: GpuData;
  /** MNIST's test rows (none for an app's own data). */
  test: GpuData | undefined;
  features: number;
  classes: number;
  /** "MNIST, 4,500 training + 500 validation rows" */
  label: string;
}

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * <mlp-trainer>'s GPU datasets, kept between runs: MNIST's training/validation rows while
 * the URL and row count stay the same, its test rows likewise, or the app's `.data` while it
 * is the same object.
 */
export class TrainerDatasets {
  private readonly mnist = new Kept<{ train: GpuData; validation: GpuData }>((v) => [v.train, v.validation]);
  private readonly mnistTest = new Kept<GpuData>((v) => [v]);
  private readonly custom = new Kept<{ train: GpuData; validation: GpuData }>((v) => [v.train, v.validation]);

  async get(
    engine: Engine,
    source: { data: TrainerData | undefined; mnistUrl: string | undefined },
    trainRows: number,
    testRows: number,
  ): Promise<RunData> {
    const d = source.data;
    if (d) {
      const sets = await this.custom.get([engine, d], () => {
        const { train, validation } = customSplits(d);
        return Promise.resolve(pair(engine, train, validation, 'trainer'));
      });
      return {
        ...sets,
        test: undefined,
        features: d.features,
        classes: d.classes,
        label: `${count(sets.train.rows)} training + ${count(sets.validation.rows)} validation rows`,
      };
    }
    const url = source.mnistUrl;
    const host = loadMnistAt(url, trainRows, testRows);
    const sets = await this.mnist.get([engine, url, trainRows], async () => {
      const { train, validation } = trainValidation((await host).train, trainRows, 0.1);
      const t = gpuSplit(engine, train, 'mnist train');
      try {
        return { train: t, validation: gpuSplit(engine, validation, 'mnist validation') };
      } catch (e) {
        t.dispose();
        throw e;
      }
    });
    const test = await this.mnistTest.get([engine, url, testRows], async () =>
      gpuSplit(engine, (await host).test, 'mnist test'),
    );
    return {
      ...sets,
      test,
      features: 784,
      classes: 10,
      label: `MNIST, ${count(sets.train.rows)} training + ${count(sets.validation.rows)} validation rows`,
    };
  }

  dispose(): void {
    this.mnist.dispose();
    this.mnistTest.dispose();
    this.custom.dispose();
  }
}

function pair(
  engine: Engine,
  train: HostSplit,
  validation: HostSplit,
  label: string,
): { train: GpuData; validation: GpuData } {
  const t = hostGpuData(engine, train, `${label} train`);
  try {
    return { train: t, validation: hostGpuData(engine, validation, `${label} validation`) };
  } catch (e) {
    t.dispose();
    throw e;
  }
}
