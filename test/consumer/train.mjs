// The consumer's Node script: `import 'webgpu-mlp'` resolves to the Dawn entry under Node.
// Fits y = 3x − 0.5 with one linear unit, saves it as Keras's .keras file and loads it back
// (h5wasm and fflate, the package's own dependencies, loaded on first use), and prints the
// loaded model's predictions at -0.5, 0, 0.5 as JSON.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, layers, loadModel, optimizers, sequential } from 'webgpu-mlp';

await initEngine({ log: () => {} });
const x = Float32Array.from({ length: 64 }, (_, i) => -1 + (2 * i) / 63);
const y = x.map((v) => 3 * v - 0.5);
const model = sequential({ layers: [layers.dense({ units: 1, inputShape: [1] })] });
model.compile({ optimizer: optimizers.adam({ learningRate: 0.1 }), loss: 'mse' });
await model.fit(
  { data: x, shape: [64, 1] },
  { data: y, shape: [64, 1] },
  { epochs: 150, batchSize: 64, verbose: 0 },
);
const file = join(mkdtempSync(join(tmpdir(), 'consumer-')), 'line.keras');
await model.save(file);
const loaded = await loadModel(file);
const p = await loaded.predict({ data: Float32Array.of(-0.5, 0, 0.5), shape: [3, 1] });
console.log(JSON.stringify({ predictions: Array.from(p.data) }));
