/**
 * npm start: the course's MNIST lab, trained headlessly on the GPU (a software adapter on a
 * machine without one): 784 → 512 relu → BN → dropout → 512 relu → BN → dropout → 10 softmax,
 * Adam, batch 128, a progress bar, then test loss and accuracy, the model saved in the
 * TF.js layers format, and two pictures: the learning curves (history.svg) and the model's
 * diagram (model.svg), as the course draws them with matplotlib and keras.utils.plot_model.
 *
 *   npm start [-- --epochs 3 --batch-size 128 --optimizer adam|sgd|rmsprop|nadam
 *                 --no-bn --dropout 0.2 --software|--hardware --out out/mnist]
 */
import { parseArgs } from 'node:util';
import { callbacks, GpuData, initEngine, layers, sequential } from '../../src/node/index.js';
import { adapterFromArgs } from '../../src/node/cli.js';
import { loadMnist } from '../../src/node/mnist.js';
import { plotHistory, plotModel } from '../../src/utils/index.js';

const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv,
  options: {
    epochs: { type: 'string' },
    'batch-size': { type: 'string', default: '128' },
    optimizer: { type: 'string', default: 'adam' },
    'no-bn': { type: 'boolean', default: false },
    dropout: { type: 'string', default: '0.2' },
    software: { type: 'boolean', default: false },
    hardware: { type: 'boolean', default: false },
    out: { type: 'string', default: 'out/mnist' },
    seed: { type: 'string', default: '1' },
  },
  strict: true,
});

const engine = await initEngine({ adapter: adapterFromArgs(argv) });
// A software adapter trains about 1,000 samples/s on two cores: 2 epochs take ~2-3 minutes
// and reach about 97% on the test set. A GPU runs the course's 10.
const epochs = Number(values.epochs ?? (engine.adapter.isFallback ? 2 : 10));
const batchSize = Number(values['batch-size']);
const dropout = Number(values.dropout);
const bn = !values['no-bn'];

const mnist = await loadMnist();
const VAL = 5000; // the last 5,000 training images validate, as a validation split would
const trainRows = mnist.train.rows - VAL;
const pixels = (images: Uint8Array, start: number, end: number) => ({
  data: images.subarray(start * 784, end * 784),
  width: 784,
  scale: 1 / 255, // the gather kernel scales the u8 pixels to [0, 1] on the GPU
});
const labels = (l: Uint8Array, start: number, end: number) => ({ data: l.subarray(start, end), width: 1 });
const train = new GpuData(engine, {
  inputs: [pixels(mnist.train.images, 0, trainRows)],
  targets: [labels(mnist.train.labels, 0, trainRows)],
  label: 'mnist train',
});
const val = new GpuData(engine, {
  inputs: [pixels(mnist.train.images, trainRows, mnist.train.rows)],
  targets: [labels(mnist.train.labels, trainRows, mnist.train.rows)],
  label: 'mnist validation',
});
const test = new GpuData(engine, {
  inputs: [pixels(mnist.test.images, 0, mnist.test.rows)],
  targets: [labels(mnist.test.labels, 0, mnist.test.rows)],
  label: 'mnist test',
});

const seed = Number(values.seed);
const hidden = (i: number) => [
  layers.dense({
    units: 512,
    activation: 'relu',
    kernelInitializer: { className: 'GlorotUniform', config: { seed: seed + i } },
    ...(i === 0 ? { inputShape: [784] } : {}),
  }),
  ...(bn ? [layers.batchNormalization()] : []),
  ...(dropout > 0 ? [layers.dropout({ rate: dropout, seed: seed + 10 + i })] : []),
];
const model = sequential({
  name: 'mnist_lab',
  layers: [
    ...hidden(0),
    ...hidden(1),
    layers.dense({
      units: 10,
      activation: 'softmax',
      kernelInitializer: { className: 'GlorotUniform', config: { seed } },
    }),
  ],
});
model.compile({ optimizer: values.optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
model.summary();

const checkpoint = callbacks.modelCheckpoint({
  filepath: `file://${values.out}`,
  monitor: 'val_loss',
  saveBestOnly: true,
});
const t0 = performance.now();
const history = await model.fit(train, undefined, {
  epochs,
  batchSize,
  validationData: [val, undefined],
  callbacks: [checkpoint],
  verbose: 1,
  seed,
});
const seconds = (performance.now() - t0) / 1000;
const result = await model.evaluate(test, undefined, { batchSize: 1024 });
const samples = trainRows * history.epoch.length;
console.log(
  `\ntrained ${history.epoch.length} epoch(s) in ${seconds.toFixed(1)} s (${Math.round(samples / seconds)} samples/s, ` +
    `validation included) on "${engine.adapter.name}"`,
);
console.log(
  `test loss ${result.loss?.toFixed(4)}, test accuracy ${((result.accuracy ?? NaN) * 100).toFixed(2)}%`,
);
console.log(`best model (val_loss) saved to ${values.out}/model.json`);
// Pictures: optional packages (vega, vega-lite, @viz-js/viz); a missing one is a note, not a
// failed run, since the model is already trained and saved.
for (const [what, draw] of [
  ['learning curves', () => plotHistory(history, { toFile: `${values.out}/history.svg` })],
  ['model diagram', () => plotModel(model, { toFile: `${values.out}/model.svg`, showShapes: true, dpi: 96 })],
] as const) {
  try {
    const { file } = await draw();
    console.log(`${what} written to ${file}`);
  } catch (e) {
    console.log(`no ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
for (const d of [train, val, test]) d.dispose();
await model.dispose();
engine.dispose();
