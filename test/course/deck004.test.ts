/**
 * Deck 004 (Deep-learning basics): Dense(units=2), a Sequential without input shape, the L1/L2,
 * Dropout and BatchNormalization models on 10,000 inputs, EarlyStopping passed alone, and the
 * last-layer activation / loss table.
 */
import { describe, expect, vi } from 'vitest';
import { callbacks, layers, regularizers, sequential } from '../../src/node/index.js';
import { blobs, kw, regression, single, slide, uniform, useEngine } from './course.js';

useEngine();

describe('deck 004', () => {
  slide(4, 'Multi Output Neuron').both('Dense(units=2): z_i = w_0,i + Σ_j x_j·w_j,i', async (s) => {
    const layer = layers.dense(kw(s, { units: 2, input_dim: 3 }));
    const m = sequential({ layers: [layer] });
    await layer.setWeights([Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([0.5, -0.5])]);
    expect(layer.outputShape).toEqual([null, 2]);
    expect([...single(await m.predict([[1, 1, 1]])).data]).toEqual([1 + 3 + 5 + 0.5, 2 + 4 + 6 - 0.5]);
  });

  slide(4, 'Operation of an ANN').it(
    'Sequential([Dense(n), Dense(1)]) without input shape is built by its first data',
    async () => {
      const n = 5;
      const m = sequential({ layers: [layers.dense(n), layers.dense(1)] });
      expect(m.isBuilt).toBe(false);
      expect(() => m.summary(() => undefined)).toThrow(/not yet been built/);
      m.compile({ optimizer: 'adam', loss: 'mse' });
      const { x, y } = regression(32, 4);
      await m.fit(x, y, { epochs: 1, verbose: 0 });
      expect(m.countParams()).toBe(4 * 5 + 5 + 6);
    },
  );

  slide(4, 'Dealing with OverFitting in NN: weight regularization').both(
    'Dense(16, kernel_regularizer=l1(0.001), input_shape=(10000,)), Dense(16, l2(0.001)), Dense(1, sigmoid); l2(0.001) adds 0.001·Σw²',
    async (s) => {
      const m = sequential({
        layers: [
          layers.dense(
            16,
            kw(s, { kernel_regularizer: regularizers.l1(0.001), activation: 'relu', input_shape: [10000] }),
          ),
          layers.dense(16, kw(s, { kernel_regularizer: regularizers.l2(0.001), activation: 'relu' })),
          layers.dense(1, kw(s, { activation: 'sigmoid' })),
        ],
      });
      expect(m.countParams()).toBe(160016 + 272 + 17);
      m.compile({ loss: 'binary_crossentropy', optimizer: 'adam' });
      const x = { data: uniform(4, 10000), shape: [4, 10000] };
      const y = [[0], [1], [0], [1]];
      const [withReg] = await m.evaluate(x, y);
      const w = await m.getWeights();
      const l1 = 0.001 * [...(w[0]?.data ?? [])].reduce((a, v) => a + Math.abs(v), 0);
      const l2 = 0.001 * [...(w[2]?.data ?? [])].reduce((a, v) => a + v * v, 0);
      const plain = sequential({
        layers: [
          layers.dense(16, kw(s, { activation: 'relu', input_shape: [10000] })),
          layers.dense(16, kw(s, { activation: 'relu' })),
          layers.dense(1, kw(s, { activation: 'sigmoid' })),
        ],
      });
      await plain.setWeights(w);
      plain.compile({ loss: 'binary_crossentropy', optimizer: 'adam' });
      const [base] = await plain.evaluate(x, y);
      expect(withReg).toBeCloseTo((base as number) + l1 + l2, 3);
    },
  );

  slide(4, 'Dealing with OverFitting in NN: Dropout').both(
    'Dropout(0.5) after each Dense: no parameters, off at inference',
    async (s) => {
      const m = sequential({
        layers: [
          layers.dense(16, kw(s, { activation: 'relu', input_shape: [10000] })),
          layers.dropout(0.5),
          layers.dense(16, kw(s, { activation: 'relu' })),
          layers.dropout(0.5),
          layers.dense(1, kw(s, { activation: 'sigmoid' })),
        ],
      });
      expect(m.layers.map((l) => l.countParams())).toEqual([160016, 0, 272, 0, 17]);
      const x = { data: uniform(3, 10000), shape: [3, 10000] };
      expect([...single(await m.predict(x)).data]).toEqual([...single(await m.predict(x)).data]);
    },
  );

  slide(4, 'Dealing with OverFitting in NN: Batch Normalization').both(
    'Dense → BatchNormalization → Dense → BatchNormalization → Dense(1, sigmoid): 64 non-trainable moving statistics',
    (s) => {
      const m = sequential({
        layers: [
          layers.dense(16, kw(s, { activation: 'relu', input_shape: [10000] })),
          layers.batchNormalization(),
          layers.dense(16, kw(s, { activation: 'relu' })),
          layers.batchNormalization(),
          layers.dense(1, kw(s, { activation: 'sigmoid' })),
        ],
      });
      const lines: string[] = [];
      m.summary(kw(s, { print_fn: (l: string) => lines.push(l) }));
      expect(lines).toEqual(
        expect.arrayContaining([
          'Total params: 160,433',
          'Trainable params: 160,369',
          'Non-trainable params: 64',
        ]),
      );
    },
  );

  const es = slide(4, 'Dealing with OverFitting in NN: Early Stopping');
  es.both(
    "EarlyStopping(monitor='val_loss', mode='min', verbose=1, patience=50); fit(train_X, train_y, callbacks=ES) without validation data: a clear error",
    async (s) => {
      const { x, y } = regression(20, 3);
      const m = sequential({ layers: [layers.dense(1, kw(s, { input_shape: [3] }))] });
      m.compile({ optimizer: 'adam', loss: 'mse' });
      const ES = callbacks.earlyStopping(
        kw(s, { monitor: 'val_loss', mode: 'min' as const, verbose: 1, patience: 50 }),
      );
      await expect(m.fit(x, y, { callbacks: ES, verbose: 0 })).rejects.toThrow(
        /monitor 'val_loss' is a validation metric, but this fit has no validation data/,
      );
    },
  );
  es.both(
    "the same callback (one, not a list) with validation_split stops and prints Keras's line",
    async (s) => {
      const { x, y } = regression(40, 3);
      const m = sequential({ layers: [layers.dense(1, kw(s, { input_shape: [3] }))] });
      m.compile({ optimizer: 'sgd', loss: 'mse' });
      const ES = callbacks.earlyStopping(
        kw(s, { monitor: 'val_loss', mode: 'min' as const, verbose: 1, patience: 1, min_delta: 1e9 }),
      );
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        const h = await m.fit(
          x,
          y,
          kw(s, { callbacks: ES, epochs: 50, validation_split: 0.25, verbose: 0 as const }),
        );
        expect(h.epoch).toHaveLength(2);
        expect(log.mock.calls.map((c) => String(c[0]))).toContain('Epoch 2: early stopping');
      } finally {
        log.mockRestore();
      }
    },
  );

  slide(4, 'Universal workflow of ML-DL: last-layer activation and loss').both(
    'sigmoid + binary_crossentropy, softmax + categorical_crossentropy, sigmoid multilabel, linear + mse, sigmoid + mse: each compiles and trains',
    async (s) => {
      const { x, y } = blobs(40, 3, 2);
      const cases: [number, string | undefined, string, number[][]][] = [
        [1, 'sigmoid', 'binary_crossentropy', y.map((c) => [c])],
        [2, 'softmax', 'categorical_crossentropy', y.map((c) => (c ? [0, 1] : [1, 0]))],
        [2, 'sigmoid', 'binary_crossentropy', y.map((c) => [c, 1 - c])],
        [1, undefined, 'mean_squared_error', y.map((c) => [3 * c])],
        [1, 'sigmoid', 'mean_squared_error', y.map((c) => [c])],
      ];
      for (const [units, activation, loss, target] of cases) {
        const m = sequential({
          layers: [layers.dense(units, kw(s, { input_shape: [3], ...(activation ? { activation } : {}) }))],
        });
        m.compile({ loss, optimizer: 'adam' });
        const h = await m.fit(x, target, kw(s, { epochs: 2, verbose: 0 as const }));
        expect(Number.isFinite(h.history.loss?.[1])).toBe(true);
      }
    },
  );
});
