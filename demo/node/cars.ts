/**
 * npm run example:cars: regression on a real table, the cars of `vega-datasets` (the UCI
 * Auto MPG data: 406 cars of 1970-1982). Miles per gallon is predicted from the other
 * numeric columns (cylinders, displacement, horsepower, weight, acceleration, model year);
 * rows with a missing value are dropped. A seeded 80/20 train/test split, standard scaling
 * fitted on the training rows, MSE loss with the MAE metric, and the wide & deep functional
 * model of the course with two inputs: a wide input (a few features straight to the output)
 * and a deep one (every feature through two hidden layers), concatenated into one linear unit.
 *
 *   npm run example:cars [-- --epochs 100 --seed 1 --software|--hardware]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainModule } from '../../src/node/cli.js';
import {
  adapterFromArgs,
  data,
  initEngine,
  input,
  layers,
  model,
  optimizers,
  type Prediction,
} from '../../src/node/index.js';

export interface CarsOptions {
  /** Training epochs (default 100). */
  epochs?: number;
  /** Seeds the split, the weights and the shuffles (default 1). */
  seed?: number;
  /** Fraction of the rows held out for the test (default 0.2). */
  testSize?: number;
  /** 1 prints the model summary and the test results (default 0). */
  verbose?: 0 | 1;
}

export interface CarsResult {
  /** Test mean squared error (mpg²), from model.evaluate's loss. */
  testMse: number;
  /** Test mean absolute error (mpg), computed on the host from predict(). */
  testMae: number;
  /** Test MAE of predicting the training mean for every car. */
  baselineMae: number;
  /** Test MAE from model.evaluate's 'mae' metric, when the library computes it. */
  evaluateMae: number | undefined;
  /** The model's test predictions (mpg) and the true values, in test-row order. */
  predictions: Float32Array;
  targets: Float32Array;
  trainRows: number;
  testRows: number;
}

/** The numeric columns used as features, in matrix column order. */
export const CAR_FEATURES = [
  'Cylinders',
  'Displacement',
  'Horsepower',
  'Weight_in_lbs',
  'Acceleration',
  'Year',
] as const;
/** The wide path's columns: weight, horsepower and model year explain most of mpg nearly linearly. */
export const WIDE_FEATURES = ['Weight_in_lbs', 'Horsepower', 'Year'] as const;
const TARGET = 'Miles_per_Gallon';

/**
 * The cars table: features [rows, 6] row-major (Year as a number, e.g. 1970) and mpg [rows],
 * rows with a missing feature or target dropped. The JSON file ships inside the package; its
 * JavaScript entry only builds CDN URLs, so the file is read from the package folder.
 */
export function loadCars(): { x: Float32Array; y: Float32Array; dropped: number } {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('vega-datasets');
  } catch (cause) {
    throw new Error(`the 'vega-datasets' package is not installed (npm install -D vega-datasets)`, { cause });
  }
  const file = join(dirname(entry), '..', 'data', 'cars.json');
  const records = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
  const value = (r: Record<string, unknown>, key: string): number => {
    const v = r[key];
    if (key === 'Year' && typeof v === 'string') return Number(v.slice(0, 4)); // "1970-01-01"
    return typeof v === 'number' && Number.isFinite(v) ? v : NaN;
  };
  const xs: number[] = [];
  const ys: number[] = [];
  for (const r of records) {
    const row = CAR_FEATURES.map((k) => value(r, k));
    const target = value(r, TARGET);
    if (!Number.isFinite(target) || !row.every(Number.isFinite)) continue;
    xs.push(...row);
    ys.push(target);
  }
  return { x: Float32Array.from(xs), y: Float32Array.from(ys), dropped: records.length - ys.length };
}

/** Columns `cols` (indices) of the row-major matrix x [rows, width]. */
function takeColumns(x: Float32Array, width: number, cols: readonly number[]): Float32Array {
  const rows = x.length / width;
  const out = new Float32Array(rows * cols.length);
  for (let r = 0; r < rows; r++)
    cols.forEach((c, j) => (out[r * cols.length + j] = x[r * width + c] as number));
  return out;
}

function meanAbsoluteError(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += Math.abs((predicted[i] as number) - (actual[i] as number));
  return s / actual.length;
}

export async function runCars(options: CarsOptions = {}): Promise<CarsResult> {
  const epochs = options.epochs ?? 100;
  const seed = options.seed ?? 1;
  const verbose = options.verbose ?? 0;
  const width = CAR_FEATURES.length;
  const { x, y } = loadCars();
  const { train, test } = data.trainTestSplit(y.length, { testSize: options.testSize ?? 0.2, seed });

  const scaler = data.standardScaler().fit(data.takeRows(x, width, train), width);
  const deepTrain = scaler.transform(data.takeRows(x, width, train));
  const deepTest = scaler.transform(data.takeRows(x, width, test));
  const wideCols = WIDE_FEATURES.map((k) => CAR_FEATURES.indexOf(k));
  const wideTrain = takeColumns(deepTrain, width, wideCols);
  const wideTest = takeColumns(deepTest, width, wideCols);
  const yTrain = data.takeRows(y, 1, train);
  const yTest = data.takeRows(y, 1, test);
  const trainMean = yTrain.reduce((a, b) => a + b, 0) / yTrain.length;

  const init = (k: number) => ({ className: 'GlorotUniform', config: { seed: seed * 100 + k } });
  const wide = input({ shape: [wideCols.length], name: 'wide' });
  const deep = input({ shape: [width], name: 'deep' });
  const hidden1 = layers
    .dense({ units: 32, activation: 'relu', kernelInitializer: init(0), name: 'hidden1' })
    .apply(deep);
  const hidden2 = layers
    .dense({ units: 32, activation: 'relu', kernelInitializer: init(1), name: 'hidden2' })
    .apply(hidden1);
  const merged = layers.concatenate({ name: 'wide_and_deep' }).apply([wide, hidden2]);
  // The output starts at the training mean (its bias), so training begins from the baseline.
  const output = layers
    .dense({
      units: 1,
      kernelInitializer: init(2),
      biasInitializer: { className: 'Constant', config: { value: trainMean } },
      name: 'mpg',
    })
    .apply(merged);
  const m = model({ inputs: [wide, deep], outputs: output, name: 'wide_and_deep_mpg' });

  // Keras's 'mae' metric when the library has it; the host MAE below is computed either way.
  let evaluateMae: number | undefined;
  let withMae = true;
  const compile = (metrics: string[]) =>
    m.compile({ optimizer: optimizers.adam({ learningRate: 0.01 }), loss: 'mse', metrics });
  try {
    compile(['mae']);
  } catch (e) {
    if (!(e instanceof Error && /not supported yet/.test(e.message))) throw e;
    withMae = false;
    compile([]);
  }
  if (verbose) m.summary();

  try {
    await m.fit([wideTrain, deepTrain], yTrain, { epochs, batchSize: 32, verbose: 0, seed });
    const logs = await m.evaluate([wideTest, deepTest], yTest);
    if (withMae) evaluateMae = logs.mae ?? logs.mean_absolute_error;
    const p = (await m.predict([wideTest, deepTest])) as Prediction;
    const result: CarsResult = {
      testMse: logs.loss ?? NaN,
      testMae: meanAbsoluteError(p.data, yTest),
      baselineMae: meanAbsoluteError(new Float32Array(yTest.length).fill(trainMean), yTest),
      evaluateMae,
      predictions: p.data,
      targets: yTest,
      trainRows: train.length,
      testRows: test.length,
    };
    return result;
  } finally {
    await m.dispose();
  }
}

if (isMainModule(import.meta.url)) {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv,
    options: {
      epochs: { type: 'string', default: '100' },
      seed: { type: 'string', default: '1' },
      software: { type: 'boolean', default: false },
      hardware: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const engine = await initEngine({ adapter: adapterFromArgs(argv) });
  const { dropped } = loadCars();
  const t0 = performance.now();
  const r = await runCars({ epochs: Number(values.epochs), seed: Number(values.seed), verbose: 1 });
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `cars: ${r.trainRows} train / ${r.testRows} test rows (${dropped} with missing values dropped), ` +
      `${values.epochs} epochs in ${seconds} s`,
  );
  console.log(`test MSE ${r.testMse.toFixed(3)} mpg², test MAE ${r.testMae.toFixed(3)} mpg`);
  if (r.evaluateMae !== undefined)
    console.log(`test MAE from evaluate's 'mae' metric ${r.evaluateMae.toFixed(3)}`);
  console.log(
    `baseline (predict the training mean): MAE ${r.baselineMae.toFixed(3)} mpg; ` +
      `the model's MAE is ${((r.testMae / r.baselineMae) * 100).toFixed(1)}% of it`,
  );
  engine.dispose();
}
