/**
 * MNIST for the demo: the IDX files served at ./mnist/ (demo/mnist-assets.ts), fetched once
 * (only the rows asked for: HTTP Range requests) and kept. Panels share the host arrays;
 * each makes the GPU datasets it needs.
 */
import { data, GpuData, type Engine } from '../../src/index.js';
import type { MnistData, MnistSplit } from '../../src/data/mnist.js';

/** Where the page finds the IDX files (relative to the page, so a built site can live anywhere). */
export function mnistBaseUrl(): string {
  return new URL('mnist/', document.baseURI).href;
}

let loaded: { url: string; trainRows: number; testRows: number; data: Promise<MnistData> } | undefined;

/**
 * The first `trainRows` training and `testRows` test images (defaults: all 60,000 and
 * 10,000) from the IDX files at `url` (default: the page's ./mnist/; an element's
 * `mnist-url`). A second call for no more rows from the same place reuses the first download.
 */
export function loadMnist(trainRows = 60_000, testRows = 10_000, url?: string): Promise<MnistData> {
  const base = url ? new URL(url.endsWith('/') ? url : `${url}/`, document.baseURI).href : mnistBaseUrl();
  if (loaded?.url !== base) loaded = undefined;
  if (loaded && loaded.trainRows >= trainRows && loaded.testRows >= testRows) {
    return loaded.data.then((d) => ({ train: head(d.train, trainRows), test: head(d.test, testRows) }));
  }
  const want = {
    trainRows: Math.max(trainRows, loaded?.trainRows ?? 0),
    testRows: Math.max(testRows, loaded?.testRows ?? 0),
  };
  const promise = data.fetchMnist(base, want);
  loaded = { url: base, ...want, data: promise };
  promise.catch(() => {
    if (loaded?.data === promise) loaded = undefined; // a failed download is retried next time
  });
  return loaded.data.then((d) => ({ train: head(d.train, trainRows), test: head(d.test, testRows) }));
}

/** The first `rows` rows of a split (views, no copy). */
export function head(split: MnistSplit, rows: number): MnistSplit {
  if (rows >= split.rows) return split;
  return { images: split.images.subarray(0, rows * 784), labels: split.labels.subarray(0, rows), rows };
}

/** Rows [start, end) of a split (views, no copy). */
export function rowsOf(split: MnistSplit, start: number, end: number): MnistSplit {
  return {
    images: split.images.subarray(start * 784, end * 784),
    labels: split.labels.subarray(start, end),
    rows: end - start,
  };
}

/** A split on the GPU: u8 pixels scaled to [0, 1] by the gather kernel, sparse labels. */
export function gpuSplit(engine: Engine, split: MnistSplit, label: string): GpuData {
  return new GpuData(engine, {
    inputs: [{ data: split.images, width: 784, scale: 1 / 255 }],
    targets: [{ data: split.labels, width: 1 }],
    label,
  });
}

/**
 * The course's split of the first `rows` training images: the last `validationSplit` of
 * them validate (Keras's validation_split takes the tail too).
 */
export function trainValidation(
  split: MnistSplit,
  rows: number,
  validationSplit = 0.1,
): { train: MnistSplit; validation: MnistSplit } {
  const n = Math.min(rows, split.rows);
  const v = Math.max(1, Math.round(n * validationSplit));
  return { train: rowsOf(split, 0, n - v), validation: rowsOf(split, n - v, n) };
}
