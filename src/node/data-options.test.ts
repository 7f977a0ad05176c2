/**
 * The data loaders' options: an unknown key is refused with the closest valid one (issue 17:
 * never silently ignored), for IDX parsing, MNIST loading and GPU datasets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpuDataset } from '../data/gpu.js';
import { parseIdx } from '../data/idx.js';
import { initEngine, type Engine } from './index.js';
import { loadMnist } from './mnist.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

describe('data loaders refuse options they do not know', () => {
  it('parseIdx, loadMnist and gpuDataset name the unknown key and the closest valid one', async () => {
    const labels = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]); // IDX u8 [3]
    expect(Array.from(parseIdx(labels, { rows: 2 }).data)).toEqual([7, 2]);
    expect(() => parseIdx(labels, { row: 2 } as never)).toThrow(
      /parseIdx: unknown option 'row'; did you mean 'rows'\?/,
    );
    await expect(loadMnist({ train_rows: 10, tset_rows: 5 } as never)).rejects.toThrow(
      /loadMnist: unknown option 'tset_rows'; did you mean 'test_rows'\?/,
    );
    expect(() => gpuDataset({ inputs: [], target: [] } as never)).toThrow(
      /gpuDataset: unknown option 'target'; did you mean 'targets'\?/,
    );
    expect(() =>
      gpuDataset({ inputs: [{ data: new Float32Array(4), width: 2, scael: 2 } as never] }),
    ).toThrow(/gpuDataset: column 0: unknown option 'scael'; did you mean 'scale'\?/);
  });
});
