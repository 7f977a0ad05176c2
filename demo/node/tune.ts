/**
 * npm run example:tune: the course's Keras Tuner example on MNIST. The model builder
 * (784 → units relu → 10 softmax, Adam) tunes hp.int('units', 32, 512, step 32) and
 * hp.choice('learning_rate', [1e-2, 1e-3, 1e-4]); Hyperband (objective val_accuracy,
 * maxEpochs 10, factor 3) searches it, with EarlyStopping(val_loss, patience 5) in every
 * trial as in the Keras Tuner tutorial. It prints the bracket schedule, each trial as it ends,
 * the results table, the best hyperparameters and the best model's test accuracy.
 *
 * The data go to the GPU once (u8 pixels scaled on the GPU): the first 80% of the training
 * rows train, the last 20% validate (validation_split=0.2), the 10,000 test images test.
 * On a software adapter it uses 3,000 training rows and maxEpochs 4 (10 trials, 26 epochs)
 * unless told otherwise; a GPU runs all 60,000 rows and maxEpochs 10 (30 trials, 120 epochs).
 *
 *   npm run example:tune [-- --search hyperband|random|grid --trials 10 --epochs 2
 *                            --rows 3000 --max-epochs 10 --factor 3 --seed 1 --software|--hardware]
 */
import { parseArgs } from 'node:util';
import {
  callbacks,
  GpuData,
  gridSearch,
  hyperband,
  initEngine,
  layers,
  optimizers,
  randomSearch,
  sequential,
  type Engine,
  type HyperParameters,
  type HpValues,
  type Trial,
  type Tuner,
} from '../../src/node/index.js';
import { adapterFromArgs, isMainModule } from '../../src/node/cli.js';
import { loadMnist } from '../../src/node/mnist.js';

export type SearchKind = 'hyperband' | 'random' | 'grid';

export interface TuneOptions {
  search?: SearchKind;
  /** Training rows before the 80/20 split (default 60,000; 3,000 on a software adapter). */
  rows?: number;
  /** Test rows (default 10,000). */
  testRows?: number;
  /** Hyperband's maxEpochs (default 10; 4 on a software adapter) and factor (3). */
  maxEpochs?: number;
  factor?: number;
  /** Random search's trials (default 10); grid search's maxTrials (default: the whole grid). */
  trials?: number;
  /** Epochs per trial for random and grid search (default 2); Hyperband's schedule sets its own. */
  epochs?: number;
  seed?: number;
  /** Lines go here (default console.log). */
  print?: (line: string) => void;
}

export interface TuneResult {
  trials: Trial[];
  best: HpValues;
  /** The best trial's score (val_accuracy at its best epoch). */
  bestScore: number;
  /** The best model (weights of the best trial's best epoch) on the test rows. */
  testAccuracy: number;
  /** The best model on the validation rows: equals bestScore. */
  valAccuracy: number;
  trainRows: number;
  valRows: number;
  seconds: number;
}

/** The course's model_builder. */
export function buildModel(hp: HyperParameters) {
  const units = hp.int('units', 32, 512, { step: 32 });
  const learningRate = hp.choice('learning_rate', [1e-2, 1e-3, 1e-4]);
  const model = sequential({
    layers: [
      layers.flatten({ inputShape: [28, 28] }),
      layers.dense({ units, activation: 'relu' }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({
    optimizer: optimizers.adam({ learningRate }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  return model;
}

export async function runTune(engine: Engine, options: TuneOptions = {}): Promise<TuneResult> {
  const print = options.print ?? console.log;
  const soft = engine.adapter.isFallback;
  const search = options.search ?? 'hyperband';
  const rows = options.rows ?? (soft ? 3000 : 60000);
  const mnist = await loadMnist({ trainRows: rows, testRows: options.testRows ?? 10000 });
  const trainRows = Math.floor(mnist.train.rows * 0.8);
  const pixels = (images: Uint8Array, start: number, end: number) => ({
    data: images.subarray(start * 784, end * 784),
    width: 784,
    scale: 1 / 255, // the gather kernel scales the u8 pixels to [0, 1] on the GPU
  });
  const labels = (l: Uint8Array, start: number, end: number) => ({ data: l.subarray(start, end), width: 1 });
  const split = (which: 'train' | 'test', start: number, end: number, label: string) =>
    new GpuData(engine, {
      inputs: [pixels(mnist[which].images, start, end)],
      targets: [labels(mnist[which].labels, start, end)],
      label,
    });
  const train = split('train', 0, trainRows, 'mnist train');
  const val = split('train', trainRows, mnist.train.rows, 'mnist validation');
  const test = split('test', 0, mnist.test.rows, 'mnist test');
  try {
    const common = { objective: 'val_accuracy', seed: options.seed ?? 1, print };
    let tuner: Tuner;
    if (search === 'hyperband') {
      const maxEpochs = options.maxEpochs ?? (soft ? 4 : 10);
      tuner = hyperband(buildModel, { ...common, maxEpochs, factor: options.factor ?? 3 });
    } else if (search === 'random') {
      tuner = randomSearch(buildModel, { ...common, maxTrials: options.trials ?? 10 });
    } else {
      tuner = gridSearch(buildModel, { ...common, ...(options.trials ? { maxTrials: options.trials } : {}) });
    }
    print(
      `MNIST: ${trainRows} training rows, ${mnist.train.rows - trainRows} validation rows, ${mnist.test.rows} test rows` +
        ` on "${engine.adapter.name}"${soft ? ' (software adapter: fewer rows and epochs; --rows, --max-epochs for more)' : ''}`,
    );
    const t0 = performance.now();
    await tuner.search(train, undefined, {
      // Hyperband sets each trial's epochs; an --epochs given anyway is passed on, and the tuner says it is ignored.
      epochs: search === 'hyperband' ? options.epochs : (options.epochs ?? 2),
      batchSize: 128,
      validationData: [val],
      callbacks: [callbacks.earlyStopping({ monitor: 'val_loss', patience: 5 })],
      seed: options.seed ?? 1,
    });
    const seconds = (performance.now() - t0) / 1000;
    print('');
    tuner.resultsSummary(10, print);
    const best = tuner.getBestHyperparameters(1)[0]?.values;
    const bestTrial = tuner.ranked()[0];
    if (!best || !bestTrial) throw new Error('no trial completed');
    print('');
    print(
      `best hyperparameters: units ${best.units}, learning_rate ${best.learning_rate} ` +
        `(trial ${bestTrial.id}, val_accuracy ${bestTrial.score?.toFixed(4)} at epoch ${(bestTrial.bestEpoch ?? 0) + 1})`,
    );
    const model = await tuner.bestModel();
    try {
      const testLogs = await model.evaluate(test, undefined, { batchSize: 1024 });
      const valLogs = await model.evaluate(val, undefined, { batchSize: 1024 });
      print(
        `best model: test accuracy ${((testLogs.accuracy ?? NaN) * 100).toFixed(2)}%, test loss ${testLogs.loss?.toFixed(4)}` +
          ` (search: ${tuner.trials.length} trials in ${seconds.toFixed(1)} s)`,
      );
      return {
        trials: tuner.trials,
        best,
        bestScore: bestTrial.score ?? NaN,
        testAccuracy: testLogs.accuracy ?? NaN,
        valAccuracy: valLogs.accuracy ?? NaN,
        trainRows,
        valRows: mnist.train.rows - trainRows,
        seconds,
      };
    } finally {
      await model.dispose();
    }
  } finally {
    for (const d of [train, val, test]) d.dispose();
  }
}

if (isMainModule(import.meta.url)) {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv,
    options: {
      search: { type: 'string', default: 'hyperband' },
      trials: { type: 'string' },
      epochs: { type: 'string' },
      rows: { type: 'string' },
      'max-epochs': { type: 'string' },
      factor: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      software: { type: 'boolean', default: false },
      hardware: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const search = values.search as SearchKind;
  if (!['hyperband', 'random', 'grid'].includes(search)) {
    console.error(`--search must be hyperband, random or grid, got ${search}`);
    process.exit(2);
  }
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const engine = await initEngine({ adapter: adapterFromArgs(argv) });
  try {
    await runTune(engine, {
      search,
      trials: num(values.trials),
      epochs: num(values.epochs),
      rows: num(values.rows),
      maxEpochs: num(values['max-epochs']),
      factor: Number(values.factor),
      seed: Number(values.seed),
    });
  } finally {
    engine.dispose();
  }
}
