/**
 * The trainer's models: for MNIST the demo's buildModel; for an app's data the same layers
 * with its input width and classes. Parameter counts against the closed form Σ (in+1)·out
 * (the course's 784-300-100-10 has 266,610), and BN's 4 per unit (2 trainable). The Train
 * tab's learning-rate schedules against the course's formulas, in a real fit().
 */
import { describe, expect, it } from 'vitest';
import { EarlyStopping, initEngine, layers, LearningRateScheduler } from '../../src/node/index.js';
import { buildDeepModel } from './deep-models.js';
import { DEFAULT_CONFIG } from './models.js';
import { architecture, buildMlp, scheduleFunction, trainCallbacks } from './trainer-model.js';

const dense = (sizes: number[]): number =>
  sizes.slice(1).reduce((s, out, i) => s + ((sizes[i] ?? 0) + 1) * out, 0);

describe('buildMlp', () => {
  it("builds the course's 784-300-100-10 MNIST model (266,610 parameters)", () => {
    const m = buildMlp({ ...DEFAULT_CONFIG, hidden: [300, 100] });
    expect(m.name).toBe('mnist_mlp');
    expect(m.countParams()).toBe(266_610);
    expect(m.countParams()).toBe(dense([784, 300, 100, 10]));
  });

  it('builds the same MLP for other inputs and classes, with BN and dropout', () => {
    const c = { ...DEFAULT_CONFIG, hidden: [16, 8], batchNorm: true, dropout: 0.2 };
    const m = buildMlp(c, 4, 3);
    expect(m.outputs[0]?.shape).toEqual([3]);
    expect(m.inputs[0]?.shape).toEqual([4]);
    expect(m.countParams()).toBe(dense([4, 16, 8, 3]) + 4 * (16 + 8));
    const lines: string[] = [];
    m.summary((l) => lines.push(l));
    expect(lines.filter((l) => l.includes('(BatchNormalization)'))).toHaveLength(2);
    expect(lines.filter((l) => l.includes('(Dropout)'))).toHaveLength(2);
    expect(lines.join('\n')).toContain(`Non-trainable params: ${2 * (16 + 8)}`);
    expect(architecture(c, 4, 3)).toBe('4-16-8-3 relu + BN, dropout 0.2');
  });

  it("names each model's layers from dense as a fresh Keras session does, leaving the library's own counters alone", () => {
    const before = layers.dense({ units: 1 }).name; // the page's own layers count on
    for (let run = 0; run < 2; run++) {
      const m = buildMlp({ ...DEFAULT_CONFIG, hidden: [16, 8], batchNorm: true, dropout: 0.2 });
      expect(m.layers.map((l) => l.name)).toEqual([
        'dense',
        'batch_normalization',
        'activation',
        'dropout',
        'dense_1',
        'batch_normalization_1',
        'activation_1',
        'dropout_1',
        'dense_2',
      ]);
    }
    const deep = buildDeepModel('residual-bn', { depth: 3, units: 8 });
    const names = deep.layers.map((l) => l.name);
    expect(names.filter((n) => n.startsWith('dense'))).toEqual(['dense', 'dense_1', 'dense_2', 'dense_3']);
    expect(names.filter((n) => n.startsWith('add'))).toEqual(['add', 'add_1']);
    const after = layers.dense({ units: 1 }).name;
    const count = (n: string) => Number(/_(\d+)$/.exec(n)?.[1] ?? 0);
    expect(count(after)).toBe(count(before) + 1);
  });

  it('checks the configuration', () => {
    expect(() => buildMlp({ ...DEFAULT_CONFIG, hidden: [] }, 4, 3)).toThrow(/at least one hidden layer/);
  });
});

describe('trainCallbacks', () => {
  it("gives the course's schedules: lr0/(1 + decay·epoch) and lr0·drop^floor((1 + epoch)/epochsDrop)", () => {
    const time = scheduleFunction({ kind: 'time', decay: 0.5 }, 0.1);
    const step = scheduleFunction({ kind: 'step', drop: 0.5, epochsDrop: 2 }, 0.1);
    expect([0, 1, 2, 3].map((e) => time?.(e))).toEqual([0.1, 0.1 / 1.5, 0.1 / 2, 0.1 / 2.5]);
    expect([0, 1, 2, 3].map((e) => step?.(e))).toEqual([0.1, 0.05, 0.05, 0.025]);
    expect(scheduleFunction({ kind: 'constant' }, 0.1)).toBeUndefined();
    const both = trainCallbacks(true, { kind: 'time', decay: 0.5 }, 0.1);
    expect(both.map((c) => c.constructor)).toEqual([EarlyStopping, LearningRateScheduler]);
    expect(trainCallbacks(false)).toEqual([]);
  });

  it("sets each epoch's learning rate in fit(), from the form's rate", async () => {
    const engine = await initEngine({
      adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto',
      log: false,
    });
    const m = buildMlp(
      { ...DEFAULT_CONFIG, hidden: [8], optimizer: 'sgd', learningRate: 0.2, epochs: 4, seed: 3 },
      4,
      3,
    );
    try {
      const x = Float32Array.from({ length: 64 * 4 }, (_, i) => Math.sin(i));
      const y = Uint8Array.from({ length: 64 }, (_, i) => i % 3);
      const seen: number[] = [];
      await m.fit(
        { data: x, shape: [64, 4] },
        { data: y, shape: [64, 1] },
        {
          epochs: 4,
          batchSize: 16,
          verbose: 0,
          callbacks: [
            ...trainCallbacks(false, { kind: 'step', drop: 0.5, epochsDrop: 2 }, 0.2),
            { onEpochEnd: () => void seen.push(m.learningRate) },
          ],
        },
      );
      expect(seen).toEqual([0.2, 0.1, 0.1, 0.05]);
    } finally {
      await m.dispose();
      engine.dispose();
    }
  });
});
