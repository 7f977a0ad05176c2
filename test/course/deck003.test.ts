/**
 * Deck 003 (Neural Network with TensorFlow & Keras): the five-step lifecycle, Sequential vs
 * functional, validation_split / train_test_split, StratifiedKFold + cross_val_score,
 * to_categorical, scalers, the time-based and drop-based learning-rate schedules.
 */
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
  utils,
  type Callback,
  type LayersModel,
} from '../../src/node/index.js';
import { blobs, kw, rows, single, slide, useEngine, type Spelling } from './course.js';

useEngine();

const binary = () => {
  const { x, y } = blobs(60, 3, 2, 3);
  return { X: x, Y: y.map((c) => [c]), labels: y };
};

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
});
