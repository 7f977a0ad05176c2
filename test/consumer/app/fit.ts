/**
 * What a consumer writes: fit y = 3x − 0.5 with one linear unit and predict at known points.
 * The consumer test compares the predictions with the line itself, an independent value.
 */
import { layers, optimizers, sequential, type Prediction } from 'webgpu-mlp';

export const POINTS = [-0.5, 0, 0.5];

export async function fitLine(): Promise<number[]> {
  // 64 rows of x evenly spread over [-1, 1]: x: [64, 1], y: [64, 1].
  const x = Float32Array.from({ length: 64 }, (_, i) => -1 + (2 * i) / 63);
  const y = x.map((v) => 3 * v - 0.5);
  const model = sequential({ layers: [layers.dense({ units: 1, inputShape: [1] })] });
  model.compile({ optimizer: optimizers.adam({ learningRate: 0.1 }), loss: 'mse' });
  await model.fit(
    { data: x, shape: [64, 1] },
    { data: y, shape: [64, 1] },
    { epochs: 150, batchSize: 64, verbose: 0 },
  );
  const p = (await model.predict({
    data: Float32Array.from(POINTS),
    shape: [POINTS.length, 1],
  })) as Prediction;
  return Array.from(p.data);
}
