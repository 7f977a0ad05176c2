/**
 * A search's rows uploaded once: a Keras wrapper fitted on a fold's GPU rows (GpuData.subset
 * views) gives the model fitted on the same rows sent from the host, bit for bit (shuffled,
 * with a validation split, for every target encoding); cross-validation and the searches
 * upload X once whatever the number of folds and candidates, create no pipeline after the
 * first candidate, and free every buffer; Stop ends a search after the fit running now;
 * verbose 2 and 3 print scikit-learn's per-fit lines.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { sequential, type LayersModel } from '../model/model.js';
import { optimizers } from '../nn/optimizers.js';
import { createRng } from '../util/random.js';
import { blobs3 as blobs, seededDense } from '../../kernels-test/models.js';
import { FoldRows, SearchRows } from './gpu-rows.js';
import { crossValidate, GridSearchCV } from './model-selection.js';
import { KerasClassifier, KerasRegressor, type KerasMeta } from './wrappers.js';
import type { Matrix, Target } from './types.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

function build(p: Record<string, unknown>, meta: KerasMeta): LayersModel {
  const m = sequential({
    layers: [
      seededDense((p.hidden as number | undefined) ?? 5, 'tanh', 1, { inputShape: [meta.nFeaturesIn] }),
      seededDense((p.units as number | undefined) ?? meta.nClasses ?? 1, p.activation as string, 2),
    ],
  });
  m.compile({
    optimizer: optimizers.adam({ learningRate: (p.lr as number | undefined) ?? 0.05 }),
    loss: p.loss as string,
  });
  return m;
}

/** Fitting like the deck: shuffled with a seed, the last quarter validating. */
const FIT = { epochs: 3, batch_size: 7, validation_split: 0.25, random_state: 11 } as const;

const pick = <T>(a: readonly T[], idx: readonly number[]): T[] => idx.map((i) => a[i] as T);

/** Rows in a scattered order, so a view's rows are neither contiguous nor sorted. */
function scattered(n: number, take: number, seed: number): number[] {
  const rng = createRng(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
  }
  return idx.slice(0, take);
}

describe('a fold fitted on GPU rows', () => {
  const cases = [
    { name: 'class ids', loss: 'sparse_categorical_crossentropy', activation: 'softmax', k: 3 },
    { name: 'one-hot rows', loss: 'categorical_crossentropy', activation: 'softmax', k: 3 },
    { name: '0/1 targets', loss: 'binary_crossentropy', activation: 'sigmoid', k: 2, units: 1 },
  ];
  for (const c of cases) {
    it(`${c.name}: the same model as the fold's rows sent from the host, bit for bit`, async () => {
      const { x, ids } = blobs(c.k, 30);
      const labels = ids.map((i) => ['b', 'a', 'c'][i] as string);
      const train = scattered(x.length, 40, 3);
      const params = {
        ...FIT,
        loss: c.loss,
        activation: c.activation,
        ...(c.units ? { units: c.units } : {}),
      };
      const rows = new SearchRows('test', x, labels);
      const onGpu = new KerasClassifier(build, params);
      const onHost = new KerasClassifier(build, params);
      try {
        await onGpu.fit(rows.fold(train).asMatrix(), pick(labels, train));
        await onHost.fit(pick(x, train), pick(labels, train));
        expect(rows.uploads).toBe(1);
        const gpuHistory = (onGpu.history_ as { history: Record<string, number[]> }).history;
        const hostHistory = (onHost.history_ as { history: Record<string, number[]> }).history;
        expect(Object.keys(gpuHistory).sort()).toEqual(['loss', 'val_loss']);
        expect(gpuHistory).toEqual(hostHistory);
        // Predictions: on host rows, and on the search's GPU rows of the others.
        expect(await onGpu.predictProba(x)).toEqual(await onHost.predictProba(x));
        const rest = [...Array(x.length).keys()].filter((i) => !train.includes(i));
        expect(await onGpu.predictProba(rows.fold(rest).asMatrix())).toEqual(
          await onHost.predictProba(pick(x, rest)),
        );
        expect(onGpu.classes_).toEqual(['a', 'b', 'c'].slice(0, c.k));
      } finally {
        await onGpu.dispose();
        await onHost.dispose();
        rows.dispose();
      }
    });
  }

  it('a regressor: values, bit for bit; a fold lacking a class goes up from the host', async () => {
    const { x } = blobs(2, 15);
    const y = x.map(([a, b, c]) => 0.5 * (a as number) - (b as number) + 0.1 * (c as number) ** 2);
    const train = scattered(x.length, 24, 9);
    const params = { ...FIT, loss: 'mse', units: 1, activation: 'linear' };
    const rows = new SearchRows('test', x, y);
    const onGpu = new KerasRegressor(build, params);
    const onHost = new KerasRegressor(build, params);
    try {
      await onGpu.fit(rows.fold(train).asMatrix(), pick(y, train));
      await onHost.fit(pick(x, train), pick(y, train));
      expect(await onGpu.predict(x)).toEqual(await onHost.predict(x));
      expect(rows.uploads).toBe(1);
    } finally {
      await onGpu.dispose();
      await onHost.dispose();
      rows.dispose();
    }
    // Class 0 is missing from these training rows: the ids of the whole y would be off by one.
    const { x: xc, ids } = blobs(3, 10);
    const crows = new SearchRows('test', xc, ids);
    const fold = [...Array(30).keys()].filter((i) => ids[i] !== 0);
    const cParams = { ...FIT, loss: 'sparse_categorical_crossentropy', activation: 'softmax', units: 3 };
    const a = new KerasClassifier(build, cParams);
    const b = new KerasClassifier(build, cParams);
    try {
      await a.fit(crows.fold(fold).asMatrix(), pick(ids, fold));
      await b.fit(pick(xc, fold), pick(ids, fold));
      expect(crows.uploads).toBe(0);
      expect(a.classes_).toEqual([1, 2]);
      expect(await a.predictProba(xc)).toEqual(await b.predictProba(xc));
    } finally {
      await a.dispose();
      await b.dispose();
      crows.dispose();
    }
  });
});

describe('searches on rows uploaded once', () => {
  const params = {
    epochs: 2,
    batch_size: 8,
    random_state: 1,
    loss: 'sparse_categorical_crossentropy',
    activation: 'softmax',
    hidden: 5,
    lr: 0.05,
  };

  it('GridSearchCV: X uploaded once for 2 candidates × 3 folds and the refit; candidates of the same shapes create no pipeline', async () => {
    const { x, ids } = blobs(3, 12);
    const uploads: string[] = [];
    const original = engine.createBufferWithData.bind(engine);
    const watch = vi.spyOn(engine, 'createBufferWithData').mockImplementation((data, usage, label) => {
      if (/input 0$/.test(label)) uploads.push(label);
      return original(data, usage, label);
    });
    const before = engine.stats();
    let afterFirst = before;
    let fits = 0;
    const counter = {
      onTrainEnd: () => {
        fits++;
        if (fits === 3) afterFirst = engine.stats();
      },
    };
    const grid = new GridSearchCV(
      new KerasClassifier(build, { ...params, callbacks: [counter] }),
      { lr: [0.05, 0.1] },
      { cv: 3 },
    );
    try {
      await grid.fit(x, ids);
    } finally {
      watch.mockRestore();
    }
    expect(fits).toBe(2 * 3 + 1);
    expect(uploads).toEqual(['search ids:1 input 0']);
    // Candidate 2 differs in its learning rate only (a uniform): every kernel is the first one's.
    expect(engine.stats().pipelines - afterFirst.pipelines).toBe(0);
    const scores = grid.cvResults?.mean_test_score as Float64Array;
    expect(scores).toHaveLength(2);

    await grid.dispose();
    expect(engine.stats().liveBuffers).toBe(before.liveBuffers);
  });

  it('crossValidate scores each fold as the fold fitted and scored from the host', async () => {
    const { x, ids } = blobs(2, 15);
    const est = new KerasClassifier(build, { ...params, hidden: 3 });
    const cv = await crossValidate(est, x, ids, { cv: 3, scoring: 'roc_auc', returnTrainScore: true });
    // KFold(3) without shuffle on 30 rows, stratified: StratifiedKFold(3) as scikit-learn uses for a classifier.
    const { stratifiedKFold } = await import('../data/prep.js');
    const folds = stratifiedKFold(ids, { folds: 3 });
    const { scorer } = await import('./metrics.js');
    for (const [f, { train, test }] of folds.entries()) {
      const e = est.clone();
      await e.fit(pick(x, Array.from(train)), pick(ids, Array.from(train)));
      expect(cv.test_score[f]).toBe(
        await scorer('roc_auc').score(e, pick(x, Array.from(test)), pick(ids, Array.from(test))),
      );
      expect(cv.train_score?.[f]).toBe(
        await scorer('roc_auc').score(e, pick(x, Array.from(train)), pick(ids, Array.from(train))),
      );
      await e.dispose();
    }
  });

  it('stop(): the fit running now ends, fit() resolves with the finished candidates, nothing leaks', async () => {
    const { x, ids } = blobs(3, 10);
    const before = engine.stats().liveBuffers;
    let epochs = 0;
    const stopper = {
      onEpochEnd: () => {
        epochs++;
        // Candidate 2, fold 1, epoch 1 of 5.
        if (epochs === 3 * 5 + 1) grid.stop();
      },
    };
    const grid = new GridSearchCV(
      new KerasClassifier(build, { ...params, epochs: 5, callbacks: [stopper] }),
      { hidden: [2, 3, 4] },
      { cv: 3 },
    );
    await grid.fit(x, ids);
    expect(epochs).toBe(3 * 5 + 1);
    expect(grid.stopped).toBe(true);
    expect(grid.cvResults?.params).toEqual([{ hidden: 2 }]);
    expect(grid.bestParams).toEqual({ hidden: 2 });
    expect(grid.bestEstimator).toBeUndefined();
    expect(engine.stats().liveBuffers).toBe(before);
    // The same search runs again to the end.
    epochs = -1000;
    await grid.fit(x, ids);
    expect(grid.stopped).toBe(false);
    expect(grid.cvResults?.params).toHaveLength(3);
    expect(grid.bestEstimator).toBeDefined();
    // A third search, stopped: the second one's refitted model does not answer for it.
    epochs = 0;
    await grid.fit(x, ids);
    expect([grid.stopped, grid.bestEstimator, grid.cvResults?.params]).toEqual([
      true,
      undefined,
      [{ hidden: 2 }],
    ]);
    expect(engine.stats().liveBuffers).toBe(before);
    await grid.dispose();
  });

  it('stop() while the last fold is scored keeps that candidate; a Stop ends one fit, not the next', async () => {
    const { x, ids } = blobs(2, 8);
    let scored = 0;
    const grid = new GridSearchCV(
      new KerasClassifier(build, { ...params }),
      { hidden: [2, 3] },
      {
        cv: 2,
        scoring: async (e, xs, ys) => {
          if (++scored === 2) grid.stop(); // candidate 1's last fold, fitted in full
          return (e.score as (a: typeof xs, b: typeof ys) => Promise<number>).call(e, xs, ys);
        },
      },
    );
    await grid.fit(x, ids);
    expect([grid.stopped, scored, grid.cvResults?.params]).toEqual([true, 2, [{ hidden: 2 }]]);
    await grid.dispose();

    const clf = new KerasClassifier(build, { ...params, epochs: 3 });
    clf.stopFit(); // no fit running: nothing to stop
    await clf.fit(x, ids);
    expect((clf.history_ as { epoch: number[] }).epoch).toEqual([0, 1, 2]);
    await clf.dispose();
  });

  it('host rows where the GPU rows would differ: NaN in X, a bad label in one test fold, a subclass', async () => {
    const { x, ids } = blobs(2, 9);
    const even = [...Array(18).keys()].filter((i) => i % 2 === 0);
    const odd = [...Array(18).keys()].filter((i) => i % 2 === 1);
    const folds: [number[], number[]][] = [
      [odd, even],
      [even, odd],
    ];
    const clf = new KerasClassifier(build, { ...params });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      // NaN in row 0: fold 0 cannot predict it, fold 1 cannot fit it (the host path's errors).
      const nan = x.map((r, i) => (i === 0 ? [NaN, ...r.slice(1)] : r));
      const a = await crossValidate(clf, nan, ids, { cv: folds });
      expect(Array.from(a.test_score)).toEqual([NaN, NaN]);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/NaN/);
      // Label NaN in row 0 only: fold 0 tests on it (it counts as a miss), fold 1 cannot fit.
      const labels = ids.map((c, i) => (i === 0 ? NaN : c));
      const b = await crossValidate(clf, x, labels, { cv: folds });
      expect(Number.isNaN(b.test_score[1])).toBe(true);
      const e = clf.clone();
      await e.fit(pick(x, folds[0]?.[0] ?? []), pick(labels, folds[0]?.[0] ?? []));
      expect(b.test_score[0]).toBe(
        await e.score(pick(x, folds[0]?.[1] ?? []), pick(labels, folds[0]?.[1] ?? [])),
      );
      await e.dispose();
    } finally {
      warn.mockRestore();
    }
    // A subclass may read X as rows: it gets rows.
    const seen: boolean[] = [];
    class Recording extends KerasClassifier {
      override async fit(xs: Matrix, y?: Target): Promise<this> {
        seen.push(Array.isArray(xs));
        return super.fit(xs, y);
      }
    }
    await crossValidate(new Recording(build, { ...params }), x, ids, { cv: folds });
    expect(seen).toEqual([true, true]);
  });

  it('a column of labels (numpy (n, 1)) is labels, for the classifier and the regressor', async () => {
    const { x, ids } = blobs(2, 10);
    const a = new KerasClassifier(build, { ...params, loss: 'sparse_categorical_crossentropy' });
    const b = new KerasClassifier(build, { ...params, loss: 'sparse_categorical_crossentropy' });
    await a.fit(
      x,
      ids.map((c) => [c]),
    );
    await b.fit(x, ids);
    expect(a.classes_).toEqual([0, 1]);
    expect(await a.predictProba(x)).toEqual(await b.predictProba(x));
    expect(
      await a.score(
        x,
        ids.map((c) => [c]),
      ),
    ).toBe(await b.score(x, ids));
    await a.dispose();
    await b.dispose();
    const reg = { ...params, loss: 'mse', units: 1, activation: 'linear' };
    const y = x.map(([u, v]) => (u as number) - (v as number));
    const r = new KerasRegressor(build, reg);
    const q = new KerasRegressor(build, reg);
    await r.fit(
      x,
      y.map((v) => [v]),
    );
    await q.fit(x, y);
    expect(await r.predict(x)).toEqual(await q.predict(x));
    expect(
      await r.score(
        x,
        y.map((v) => [v]),
      ),
    ).toBe(await q.score(x, y));
    await r.dispose();
    await q.dispose();
  });

  it("verbose 2 and 3 print scikit-learn's line per fit", async () => {
    const { x, ids } = blobs(2, 9);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((l: unknown) => void lines.push(String(l)));
    try {
      const est = new KerasClassifier(build, { ...params, epochs: 1 });
      await new GridSearchCV(est, { hidden: [2], lr: [0.1] }, { cv: 2, verbose: 2, refit: false }).fit(
        x,
        ids,
      );
      await new GridSearchCV(est, { hidden: [2] }, { cv: 2, verbose: 3, refit: false }).fit(x, ids);
    } finally {
      log.mockRestore();
    }
    // scikit-learn 1.2: the split only from verbose 3; joblib's time " %5.1fs".
    expect(lines[0]).toBe('Fitting 2 folds for each of 1 candidates, totalling 2 fits');
    expect(lines[1]).toMatch(/^\[CV\] END \.+hidden=2, lr=0\.1; total time= {3}\d\.\ds$/);
    expect(lines[2]).toMatch(/^\[CV\] END /);
    expect(lines[4]).toMatch(/^\[CV 1\/2\] END \.+hidden=2;, score=\d\.\d{3} total time= {3}\d\.\ds$/);
    expect(lines[5]).toMatch(/^\[CV 2\/2\] END /);
    expect(lines[1]).toHaveLength(80);
    expect(lines[4]).toHaveLength(80);
  });
});

// FoldRows is what a search hands a wrapper; anything else must get host rows.
it('FoldRows gives its rows on the host as the search saw them', () => {
  const rows = new SearchRows(
    't',
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
    [0, 1, 0],
  );
  expect(new FoldRows(rows, [2, 0]).matrix()).toEqual([
    [5, 6],
    [1, 2],
  ]);
  expect(() => new SearchRows('t', [[1, 2], [3]], undefined)).toThrow();
});
