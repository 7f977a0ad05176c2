/**
 * Deck 002 (MLPs with Keras): the Fashion-MNIST-shaped Sequential classifier (summary,
 * layers[1].get_weights(), fit/evaluate/predict_classes), the regression MLP with SGD(lr=),
 * the Wide & Deep functional models (one and two inputs), saving, build_model().
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import {
  data,
  input,
  layers,
  loadModel,
  model,
  optimizers,
  sequential,
  sklearn,
  utils,
} from '../../src/node/index.js';
import { argmax, kw, regression, rows, single, slide, uniform, useEngine } from './course.js';

useEngine();

const fashion = (s: 'snake_case' | 'camelCase', last = 10) =>
  sequential({
    layers: [
      layers.flatten(kw(s, { input_shape: [28, 28] })),
      layers.dense(300, kw(s, { activation: 'relu' })),
      layers.dense(100, kw(s, { activation: 'relu' })),
      layers.dense(last, kw(s, { activation: 'softmax' })),
    ],
  });

describe('deck 002', () => {
  slide(2, 'Creating the model using the Sequential API').both(
    'model.add(Flatten(input_shape=[28, 28])), Dense(300), Dense(100), Dense(100, softmax) as written: 275,700 parameters',
    (s) => {
      const m = sequential();
      m.add(layers.flatten(kw(s, { input_shape: [28, 28] })));
      m.add(layers.dense(300, kw(s, { activation: 'relu' })));
      m.add(layers.dense(100, kw(s, { activation: 'relu' })));
      m.add(layers.dense(100, kw(s, { activation: 'softmax' })));
      expect(m.countParams()).toBe(235500 + 30100 + 10100);
      expect(m.layers[0]?.countParams()).toBe(0);
    },
  );

  slide(2, 'Easier way to define model').both("Sequential([...]).summary() as the slide's table", (s) => {
    const m = fashion(s);
    const lines: string[] = [];
    m.summary(kw(s, { print_fn: (l: string) => lines.push(l) }));
    const text = lines.join('\n');
    expect(text).toMatch(/flatten(_\d+)? \(Flatten\)\s+\(None, 784\)\s+0/);
    expect(text).toMatch(/\(None, 300\)\s+235,500/);
    expect(text).toMatch(/\(None, 100\)\s+30,100/);
    expect(text).toMatch(/\(None, 10\)\s+1,010/);
    expect(lines).toEqual(
      expect.arrayContaining([
        'Total params: 266,610',
        'Trainable params: 266,610',
        'Non-trainable params: 0',
      ]),
    );
  });

  slide(2, 'Accessing parameters for each layer').both(
    'hidden1 = model.layers[1]; weights, biases = hidden1.get_weights(): (784, 300) random, (300,) zeros',
    async (s) => {
      const m = fashion(s);
      const hidden1 = m.layers[1];
      expect(hidden1?.name).toBe(m.getLayer(hidden1?.name ?? '').name);
      const [weights, biases] = (await hidden1?.getWeights()) ?? [];
      expect([weights?.shape, biases?.shape]).toEqual([[784, 300], [300]]);
      expect([...(biases?.data ?? [])].every((b) => b === 0)).toBe(true);
      const limit = Math.sqrt(6 / (784 + 300));
      expect([...(weights?.data ?? [])].every((w) => Math.abs(w) <= limit)).toBe(true);
      expect(new Set(weights?.data).size).toBeGreaterThan(1000);
    },
  );

  slide(2, 'Training and evaluating the model').both(
    "compile(sparse_categorical_crossentropy, 'sgd', ['accuracy']); fit(validation_data=...); history.params / epoch / history; evaluate; predict and predict_classes",
    async (s) => {
      const m = fashion(s);
      m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'sgd', metrics: ['accuracy'] });
      const xTrain = { data: uniform(64, 784, 1), shape: [64, 28, 28] };
      const xValid = { data: uniform(32, 784, 2), shape: [32, 28, 28] };
      const yTrain = Array.from({ length: 64 }, (_, i) => i % 10);
      const yValid = Array.from({ length: 32 }, (_, i) => i % 10);
      const history = await m.fit(
        xTrain,
        yTrain,
        kw(s, { epochs: 3, validation_data: [xValid, yValid] as const, verbose: 0 as const }),
      );
      expect(history.epoch).toEqual([0, 1, 2]);
      expect(history.params).toMatchObject({ epochs: 3, steps: 2 });
      expect(Object.keys(history.history)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy']);
      const [testLoss, testAcc] = await m.evaluate(xValid, yValid);
      expect(testLoss).toBeCloseTo(history.history.val_loss?.[2] as number, 4);
      expect(testAcc).toBeCloseTo(history.history.val_accuracy?.[2] as number, 4);
      const xNew = { data: xValid.data.slice(0, 3 * 784), shape: [3, 28, 28] };
      const yProba = rows(single(await m.predict(xNew)).data, 10);
      yProba.forEach((r) => expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5));
      expect([...(await m.predictClasses(xNew))]).toEqual(yProba.map(argmax));
    },
  );

  slide(2, 'Visualizing the model').both(
    'keras.utils.plot_model(model, "my_fashion_mnist_model.png", show_shapes=True): the diagram as SVG (PNG has no renderer here)',
    async (s) => {
      const m = fashion(s);
      const dir = mkdtempSync(join(tmpdir(), 'course-002-plot-'));
      await expect(
        utils.plotModel(m, join(dir, 'my_fashion_mnist_model.png'), kw(s, { show_shapes: true })),
      ).rejects.toThrow(/\.png.*\.svg/);
      const plot = await utils.plotModel(
        m,
        join(dir, 'my_fashion_mnist_model.svg'),
        kw(s, { show_shapes: true }),
      );
      expect(readFileSync(join(dir, 'my_fashion_mnist_model.svg'), 'utf8')).toBe(plot.svg);
      // One box per layer, with Keras's shape text: Flatten, Dense 300, Dense 100, Dense 10.
      expect(plot.svg.match(/<g id="node\d+" class="node">/g)).toHaveLength(m.layers.length);
      for (const shape of ['(None, 28, 28)', '(None, 784)', '(None, 300)', '(None, 100)', '(None, 10)'])
        expect(plot.svg).toContain(shape);
    },
  );

  slide(2, 'Plotting learning curves').both(
    'pd.DataFrame(history.history).plot(): utils.plotHistory draws loss and accuracy, train against validation',
    async (s) => {
      const m = fashion(s);
      m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'sgd', metrics: ['accuracy'] });
      const x = { data: uniform(32, 784, 3), shape: [32, 28, 28] };
      const y = Array.from({ length: 32 }, (_, i) => i % 10);
      const history = await m.fit(x, y, kw(s, { epochs: 3, validation_split: 0.25, verbose: 0 as const }));
      const plot = await utils.plotHistory(history);
      // Two panels (loss, accuracy), each with a training and a validation line of 3 points.
      for (const title of ['loss', 'accuracy']) expect(plot.svg).toContain(title);
      const lines = plot.svg.match(/<path[^>]*aria-roledescription="line mark"[^>]*d="M[^"]*"/g) ?? [];
      expect(lines).toHaveLength(4);
      for (const l of lines)
        expect((/d="([^"]*)"/.exec(l)?.[1] ?? '').split(/[ML]/).filter(Boolean)).toHaveLength(3);
    },
  );

  slide(2, 'Regression MLP using the sequential API').both(
    'StandardScaler, Dense(30, relu, input_shape=X_train.shape[1:]), Dense(1), SGD(lr=1e-3), fit with validation_data, evaluate, predict(X_new[:3])',
    async (s) => {
      const { x, y } = regression(200, 8, 4);
      const split = data.trainTestSplit(200, kw(s, { random_state: 42 }));
      expect([split.train.length, split.test.length]).toEqual([150, 50]);
      const scaler = data.standardScaler();
      const pick = <T>(a: T[], idx: Uint32Array) => [...idx].map((i) => a[i] as T);
      const xTrain = rows(scaler.fitTransform(pick(x, split.train).flat(), 8), 8);
      const xTest = rows(scaler.transform(pick(x, split.test).flat()), 8);
      const model_ = sequential({
        layers: [layers.dense(30, kw(s, { activation: 'relu', input_shape: [8] })), layers.dense(1)],
      });
      model_.compile({ loss: 'mean_squared_error', optimizer: optimizers.SGD(kw(s, { lr: 1e-3 })) });
      expect(model_.optimizer?.learningRate).toBeCloseTo(1e-3, 9);
      const history = await model_.fit(
        xTrain,
        pick(y, split.train),
        kw(s, { epochs: 20, validation_data: [xTest, pick(y, split.test)] as const, verbose: 0 as const }),
      );
      expect(history.history.val_loss).toHaveLength(20);
      const [mseTest] = await model_.evaluate(xTest, pick(y, split.test));
      expect(mseTest).toBeGreaterThan(0);
      const yPred = single(await model_.predict(xTest.slice(0, 3)));
      expect(yPred.shape).toEqual([3, 1]);
    },
  );

  slide(2, 'Building a complex model').both(
    'Wide & Deep: Input(shape=[8]) → Dense(30) → Dense(30), concatenate([input_, hidden2]) → Dense(1): 1,239 parameters',
    async (s) => {
      const input_ = input(kw(s, { shape: [8] }));
      const hidden1 = layers.dense(30, kw(s, { activation: 'relu' })).apply(input_);
      const hidden2 = layers.dense(30, kw(s, { activation: 'relu' })).apply(hidden1);
      const concat = layers.concatenate().apply([input_, hidden2]);
      const output = layers.dense(1).apply(concat);
      const m = model({ inputs: [input_], outputs: [output] });
      expect(m.layers.map((l) => l.countParams())).toEqual([0, 270, 930, 0, 39]);
      expect(m.layers[3]?.outputShape).toEqual([null, 38]);
      expect(m.countParams()).toBe(1239);
      m.compile({ loss: 'mse', optimizer: optimizers.SGD(kw(s, { lr: 1e-3 })) });
      const { x, y } = regression(64, 8);
      const h = await m.fit(x, y, kw(s, { epochs: 2, validation_split: 0.25, verbose: 0 as const }));
      expect(h.history.val_loss).toHaveLength(2);
    },
  );

  slide(2, 'Implementation').both(
    'two inputs (wide_input [5], deep_input [6]): fit((X_train_A, X_train_B), y, validation_data=((A, B), y)), predict((X_new_A, X_new_B))',
    async (s) => {
      const inputA = input(kw(s, { shape: [5], name: 'wide_input' }));
      const inputB = input(kw(s, { shape: [6], name: 'deep_input' }));
      const hidden1 = layers.dense(30, kw(s, { activation: 'relu' })).apply(inputB);
      const hidden2 = layers.dense(30, kw(s, { activation: 'relu' })).apply(hidden1);
      const concat = layers.concatenate().apply([inputA, hidden2]);
      const output = layers.dense(1, kw(s, { name: 'output' })).apply(concat);
      const m = model({ inputs: [inputA, inputB], outputs: [output] });
      m.compile({ loss: 'mse', optimizer: optimizers.SGD(kw(s, { lr: 1e-3 })) });
      const { x, y } = regression(80, 8);
      const A = x.map((r) => r.slice(0, 5));
      const B = x.map((r) => r.slice(2));
      const history = await m.fit(
        [A.slice(0, 60), B.slice(0, 60)],
        y.slice(0, 60),
        kw(s, {
          epochs: 20,
          validation_data: [[A.slice(60), B.slice(60)], y.slice(60)] as const,
          verbose: 0 as const,
        }),
      );
      expect(history.history.val_loss).toHaveLength(20);
      expect(single(await m.predict([A.slice(60, 63), B.slice(60, 63)])).shape).toEqual([3, 1]);
    },
  );

  slide(2, 'Case of multiple outputs').both(
    "outputs=[output, aux_output], loss=['mse', 'mse'], loss_weights=[0.9, 0.1]: the loss is 0.9·main + 0.1·aux",
    async (s) => {
      const inputA = input(kw(s, { shape: [5], name: 'wide_input' }));
      const inputB = input(kw(s, { shape: [6], name: 'deep_input' }));
      const hidden2 = layers.dense(30, kw(s, { activation: 'relu' })).apply(inputB);
      const concat = layers.concatenate().apply([inputA, hidden2]);
      const output = layers.dense(1, kw(s, { name: 'main_output' })).apply(concat);
      const auxOutput = layers.dense(1, kw(s, { name: 'aux_output' })).apply(hidden2);
      const m = model({ inputs: [inputA, inputB], outputs: [output, auxOutput] });
      m.compile(kw(s, { loss: ['mse', 'mse'], loss_weights: [0.9, 0.1], optimizer: 'sgd' }));
      const { x, y } = regression(40, 8);
      const A = x.map((r) => r.slice(0, 5));
      const B = x.map((r) => r.slice(2));
      await m.fit([A, B], [y, y], kw(s, { epochs: 2, verbose: 0 as const }));
      const r = await m.evaluate([A, B], [y, y], kw(s, { return_dict: true }));
      expect(r.loss).toBeCloseTo(
        0.9 * (r.main_output_loss as number) + 0.1 * (r.aux_output_loss as number),
        4,
      );
    },
  );

  const saving = slide(2, 'Saving and restoring a model');
  saving.both(
    "model.save('my_keras_model.h5'), load_model(...): Keras's HDF5 file, compiled again on load",
    async (s) => {
      const m = sequential({
        layers: [layers.dense(30, kw(s, { activation: 'relu', input_shape: [8] })), layers.dense(1)],
      });
      m.compile({ loss: 'mse', optimizer: optimizers.SGD(kw(s, { lr: 1e-3 })) });
      const { x, y } = regression(48, 8);
      await m.fit(x, y, kw(s, { epochs: 1, verbose: 0 as const }));
      const file = join(mkdtempSync(join(tmpdir(), 'course-002-h5-')), 'my_keras_model.h5');
      await m.save(file);
      const modelNew = await loadModel(file);
      expect([...single(await modelNew.predict(x)).data]).toEqual([...single(await m.predict(x)).data]);
      // compile settings come back, so training continues: the loss is the same on both.
      expect(modelNew.optimizer?.learningRate).toBeCloseTo(1e-3, 9);
      const [a, b] = [await m.evaluate(x, y), await modelNew.evaluate(x, y)];
      expect(b[0]).toBe(a[0]);
    },
  );
  saving.both('the model saved to file:// and loaded back predicts the same', async (s) => {
    const m = sequential({
      layers: [
        layers.dense(30, kw(s, { activation: 'relu', input_shape: [8] })),
        layers.dense(30, kw(s, { activation: 'relu' })),
        layers.dense(1),
      ],
    });
    expect(m.countParams()).toBe(270 + 930 + 31);
    m.compile({ loss: 'mse', optimizer: optimizers.SGD(kw(s, { lr: 1e-3 })) });
    const { x, y } = regression(48, 8);
    await m.fit(x, y, kw(s, { epochs: 2, validation_split: 0.25, verbose: 0 as const }));
    const dir = join(mkdtempSync(join(tmpdir(), 'course-002-')), 'my_keras_model');
    await m.save(`file://${dir}`);
    const modelNew = await loadModel(`file://${dir}`);
    expect([...single(await modelNew.predict(x)).data]).toEqual([...single(await m.predict(x)).data]);
  });

  slide(2, 'Exploring hyperparameter space').both(
    'keras_reg = KerasRegressor(build_model); GridSearchCV and RandomizedSearchCV over n_hidden, n_neurons, learning_rate',
    async (s) => {
      const buildModel = (p: Record<string, unknown>) => {
        const m = sequential();
        m.add(layers.inputLayer(kw(s, { input_shape: p.input_shape as number[] })));
        for (let i = 0; i < (p.n_hidden as number); i++)
          m.add(layers.dense(p.n_neurons as number, kw(s, { activation: 'relu' })));
        m.add(layers.dense(1));
        m.compile({ loss: 'mse', optimizer: optimizers.SGD(kw(s, { lr: p.learning_rate as number })) });
        return m;
      };
      const defaults = { n_hidden: 1, n_neurons: 30, learning_rate: 3e-3, input_shape: [8] };
      const kerasReg = new sklearn.KerasRegressor(buildModel, { ...defaults, epochs: 2, verbose: 0 });
      const { x, y } = regression(60, 8);
      const target = y.map((r) => r[0] as number);
      const grid = new sklearn.GridSearchCV(kerasReg, { n_hidden: [0, 1], n_neurons: [4, 8] }, { cv: 3 });
      await grid.fit(x, target);
      const r = grid.cvResults;
      if (!r) throw new Error('no cvResults');
      expect(r.params).toHaveLength(4);
      // rank 1 is the best mean score, which is bestScore, and its params are bestParams.
      const best = [...r.mean_test_score].indexOf(Math.max(...r.mean_test_score));
      expect(r.rank_test_score[best]).toBe(1);
      expect(grid.bestScore).toBe(r.mean_test_score[best]);
      expect(grid.bestParams).toEqual(r.params[best]);
      // The mean is over the three split scores.
      const splits = [0, 1, 2].map(
        (i) => (r as unknown as Record<string, Float64Array>)[`split${i}_test_score`]?.[best] ?? NaN,
      );
      expect(r.mean_test_score[best]).toBeCloseTo(splits.reduce((a, v) => a + v, 0) / 3, 12);
      const search = (): InstanceType<typeof sklearn.RandomizedSearchCV> =>
        new sklearn.RandomizedSearchCV(
          kerasReg,
          { n_hidden: [0, 1, 2], n_neurons: [4, 8, 16], learning_rate: sklearn.logUniform(3e-4, 3e-2) },
          kw(s, { n_iter: 2, cv: 2, random_state: 42, refit: false }),
        );
      const [a, b] = [search(), search()];
      await a.fit(x, target);
      await b.fit(x, target);
      expect(a.cvResults?.params).toEqual(b.cvResults?.params);
      for (const p of a.cvResults?.params ?? []) {
        expect(p.learning_rate as number).toBeGreaterThanOrEqual(3e-4);
        expect(p.learning_rate as number).toBeLessThanOrEqual(3e-2);
      }
      expect(() => new sklearn.GridSearchCV(kerasReg, { n_hiden: [1] })).toThrow(/n_hiden/);
    },
  );

  slide(2, 'Exploring hyperparameter space').both(
    'build_model(n_hidden, n_neurons, learning_rate, input_shape) with InputLayer(input_shape=...) and SGD(lr=learning_rate)',
    (s) => {
      const buildModel = (nHidden = 1, nNeurons = 30, learningRate = 3e-3, inputShape = [8]) => {
        const m = sequential();
        m.add(layers.inputLayer(kw(s, { input_shape: inputShape })));
        for (let i = 0; i < nHidden; i++) m.add(layers.dense(nNeurons, kw(s, { activation: 'relu' })));
        m.add(layers.dense(1));
        m.compile({ loss: 'mse', optimizer: optimizers.SGD(kw(s, { lr: learningRate })) });
        return m;
      };
      const m = buildModel();
      expect(m.layers).toHaveLength(2);
      expect(m.countParams()).toBe(270 + 31);
      expect(m.optimizer?.learningRate).toBeCloseTo(3e-3, 9);
      expect(buildModel(3, 10).countParams()).toBe(90 + 110 + 110 + 11);
    },
  );
});
