/**
 * crossValScore / crossValidate / GridSearchCV / RandomizedSearchCV. Most cases use a small
 * host estimator (nearest centroid, exact in float64) so every fold's score can be recomputed
 * independently; one search runs a KerasClassifier end to end.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { sequential, type LayersModel } from '../model/model.js';
import { optimizers } from '../nn/optimizers.js';
import { kFold, stratifiedKFold } from '../data/prep.js';
import { createRng } from '../util/random.js';
import { seededDense } from '../../kernels-test/models.js';
import {
  crossValidate,
  crossValScore,
  GridSearchCV,
  logUniform,
  randint,
  RandomizedSearchCV,
  uniform,
  type Fold,
} from './model-selection.js';
import { KerasClassifier, type KerasMeta } from './wrappers.js';
import type { Labels, Matrix, Splitter } from './types.js';
import { makePipeline } from './pipeline.js';
import { StandardScaler } from './preprocessing.js';
import { scorer } from './metrics.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/**
 * Nearest centroid on the features after column 0 (column 0 is the row's index, recorded by
 * fit so tests can see the folds). `shift` moves every centroid's first feature (a worse
 * model as it grows); `tag` changes nothing (ties); `fail` makes fit throw.
 */
class Centroid {
  readonly estimatorType = 'classifier';
  params: Record<string, unknown> = { shift: 0, tag: 'a', fail: false };
  centroids = new Map<number | string, number[]>();
  static fits: number[][] = [];
  getParams(): Record<string, unknown> {
    return { ...this.params };
  }
  setParams(p: Record<string, unknown>): this {
    Object.assign(this.params, p);
    return this;
  }
  clone(): Centroid {
    return new Centroid().setParams(this.params);
  }
  fit(x: Matrix, y?: Labels): this {
    if (this.params.fail) throw new Error('asked to fail');
    Centroid.fits.push(x.map((r) => r[0] as number));
    const sums = new Map<number | string, number[]>();
    (y ?? []).forEach((c, i) => {
      const s = sums.get(c) ?? [0, 0, 0];
      s[0] = (s[0] as number) + ((x[i] as number[])[1] as number);
      s[1] = (s[1] as number) + ((x[i] as number[])[2] as number);
      s[2] = (s[2] as number) + 1;
      sums.set(c, s);
    });
    for (const [c, [a, b, n]] of sums)
      this.centroids.set(c, [
        (a as number) / (n as number) + (this.params.shift as number),
        (b as number) / (n as number),
      ]);
    return this;
  }
  predict(x: Matrix): (number | string)[] {
    return x.map((r) => {
      let best: number | string = '';
      let bestD = Infinity;
      for (const [c, [a, b]] of this.centroids) {
        const d = ((r[1] as number) - (a as number)) ** 2 + ((r[2] as number) - (b as number)) ** 2;
        if (d < bestD) [best, bestD] = [c, d];
      }
      return best;
    });
  }
  score(x: Matrix, y: Labels): number {
    const p = this.predict(x);
    return p.filter((v, i) => v === y[i]).length / p.length;
  }
}

/** 2 overlapping classes ('a', 'b'), 30 rows, [index, f1, f2]. */
function data(): { x: number[][]; y: string[] } {
  const rng = createRng(21);
  const x: number[][] = [];
  const y: string[] = [];
  for (let i = 0; i < 30; i++) {
    const c = i % 2;
    x.push([i, c + 0.8 * rng.normal(), 0.8 * rng.normal()]);
    y.push(c ? 'b' : 'a');
  }
  return { x, y };
}

/** Fixed folds as a Splitter: rows i with i % 3 === f are fold f's test rows. */
const byThree: Splitter = {
  getNSplits: () => 3,
  *split(x: Matrix | number) {
    const n = typeof x === 'number' ? x : x.length;
    for (let f = 0; f < 3; f++) {
      const test = [...Array(n).keys()].filter((i) => i % 3 === f);
      yield [[...Array(n).keys()].filter((i) => i % 3 !== f), test] as [number[], number[]];
    }
  },
};

/** The score of a fresh Centroid(params) fitted on the fold's training rows. */
function foldScore(x: number[][], y: string[], [train, test]: Fold, params: Record<string, unknown>): number {
  const e = new Centroid().setParams(params).fit(
    train.map((i) => x[i] as number[]),
    train.map((i) => y[i] as string),
  );
  return e.score(
    test.map((i) => x[i] as number[]),
    test.map((i) => y[i] as string),
  );
}

describe('crossValScore / crossValidate', () => {
  it('cv as a number is StratifiedKFold for a classifier; scores are each fold refitted', async () => {
    const { x, y } = data();
    const ids = y.map((v) => (v === 'a' ? 0 : 1));
    const folds = stratifiedKFold(ids, { folds: 3 }).map((f): Fold => [
      Array.from(f.train),
      Array.from(f.test),
    ]);
    Centroid.fits = [];
    const scores = await crossValScore(new Centroid(), x, y, { cv: 3 });
    expect(Centroid.fits).toEqual(folds.map(([train]) => train));
    expect(Array.from(scores)).toEqual(folds.map((f) => foldScore(x, y, f, {})));

    const r = await crossValidate(new Centroid(), x, y, {
      cv: byThree,
      returnTrainScore: true,
      scoring: 'accuracy',
    });
    const three = [...byThree.split(x)];
    expect(Array.from(r.test_score)).toEqual(three.map((f) => foldScore(x, y, f, {})));
    expect(Array.from(r.train_score ?? [])).toEqual(
      three.map(([train]) => foldScore(x, y, [train, train], {})),
    );
    expect(r.fit_time).toHaveLength(3);
    expect(r.score_time).toHaveLength(3);
  });

  it('given a build function it is src/tune crossValScore', async () => {
    const build = (): LayersModel => {
      const m = sequential({ layers: [seededDense(2, 'softmax', 1, { inputShape: [2] })] });
      m.compile({
        optimizer: optimizers.sgd({ learningRate: 0.1 }),
        loss: 'sparse_categorical_crossentropy',
      });
      return m;
    };
    const x = { data: Float32Array.from({ length: 16 }, (_, i) => (i % 4) - 1.5), shape: [8, 2] };
    const r = await crossValScore(build, x, Uint32Array.from([0, 1, 0, 1, 0, 1, 0, 1]), {
      folds: 2,
      scoring: 'loss',
    });
    expect(r.scores).toHaveLength(2);
    expect(r.mean).toBeCloseTo(((r.scores[0] as number) + (r.scores[1] as number)) / 2, 12);
  });
});

describe('GridSearchCV', () => {
  it('split scores, mean, population std and min ranks recomputed from the given folds', async () => {
    const { x, y } = data();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    Centroid.fits = [];
    const gs = new GridSearchCV(
      new Centroid(),
      { shift: [0, 3], tag: ['a', 'b', 'c'] },
      { cv: byThree, verbose: 1 },
    );
    await gs.fit(x, y);
    expect(log).toHaveBeenCalledWith('Fitting 3 folds for each of 6 candidates, totalling 18 fits');
    log.mockRestore();
    const r = gs.cvResults;
    if (!r) throw new Error('no cvResults');
    // Keys sorted, last varying fastest (scikit-learn's ParameterGrid).
    expect(r.params).toEqual([0, 3].flatMap((shift) => ['a', 'b', 'c'].map((tag) => ({ shift, tag }))));
    const folds = [...byThree.split(x)];
    // 6 candidates × 3 folds, then the refit on all 30 rows.
    expect(Centroid.fits).toEqual([
      ...Array<number[][]>(6)
        .fill(folds.map(([train]) => train))
        .flat(),
      [...x.keys()],
    ]);
    const means: number[] = [];
    r.params.forEach((p, c) => {
      const s = folds.map((f) => foldScore(x, y, f, p));
      s.forEach((v, f) => expect((r[`split${f}_test_score`] as Float64Array)[c]).toBe(v));
      const mean = s.reduce((a, v) => a + v, 0) / 3;
      const std = Math.sqrt(s.reduce((a, v) => a + (v - mean) ** 2, 0) / 3);
      expect(r.mean_test_score[c]).toBeCloseTo(mean, 14);
      expect(r.std_test_score[c]).toBeCloseTo(std, 14);
      means.push(mean);
    });
    // shift 3 moves a centroid far off: worse. tag changes nothing: three-way ties share rank 1 and 4.
    expect(means[0]).toBeGreaterThan(means[3] as number);
    expect(Array.from(r.rank_test_score)).toEqual([1, 1, 1, 4, 4, 4]);
    expect(gs.bestParams).toEqual({ shift: 0, tag: 'a' });
    expect(gs.bestScore).toBe(r.mean_test_score[0]);
    expect(await gs.score(x, y)).toBe(new Centroid().fit(x, y).score(x, y));
  });

  it('a failing candidate scores NaN, ranks last, warns', async () => {
    const { x, y } = data();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const gs = new GridSearchCV(
      new Centroid(),
      { fail: [true, false], shift: [0, 1] },
      { cv: 3, refit: false },
    );
    await gs.fit(x, y);
    expect(warn.mock.calls.some(([m]) => /non-finite/.test(String(m)))).toBe(true);
    warn.mockRestore();
    const r = gs.cvResults;
    expect(Array.from(r?.mean_test_score ?? []).slice(0, 2)).toEqual([NaN, NaN]);
    expect(Array.from(r?.rank_test_score ?? []).slice(0, 2)).toEqual([3, 3]);
    expect(gs.bestParams?.fail).toBe(false);
    expect(gs.bestEstimator).toBeUndefined();
  });

  it('refuses unknown parameter names (listing the real ones) and empty grids', () => {
    expect(() => new GridSearchCV(new Centroid(), { shfit: [1] })).toThrow(
      /"shfit" is not a parameter of the estimator; its parameters: shift, tag, fail/,
    );
    expect(() => new GridSearchCV(new Centroid(), {})).toThrow(/grid is empty/);
    expect(() => new GridSearchCV(new Centroid(), [])).toThrow(/grid is empty/);
    expect(() => new GridSearchCV(new Centroid(), { shift: [] })).toThrow(/"shift" needs a non-empty list/);
    const clf = new KerasClassifier(() => {
      throw new Error('not built here');
    });
    expect(() => new GridSearchCV(clf, { model__hidden: [2], epochs: [1], optimizer: ['sgd'] })).toThrow(
      /"optimizer" is not a parameter.*model, epochs, batch_size/,
    );
  });

  it('searches a KerasClassifier over kFold folds and refits the best', async () => {
    const build = (p: Record<string, unknown>, meta: KerasMeta): LayersModel => {
      const m = sequential({
        layers: [seededDense(meta.nClasses ?? 2, 'softmax', 1, { inputShape: [meta.nFeaturesIn] })],
      });
      m.compile({
        optimizer: optimizers.sgd({ learningRate: p.lr as number }),
        loss: 'sparse_categorical_crossentropy',
      });
      return m;
    };
    const { x, y } = data();
    const xs = x.map((r) => r.slice(1));
    const folds = kFold(30, { folds: 2 }).map((f): Fold => [Array.from(f.train), Array.from(f.test)]);
    const before = engine.stats();
    const gs = new GridSearchCV(
      new KerasClassifier(build, { lr: 0.1, epochs: 2, batch_size: 8, shuffle: false }),
      { lr: [0.001, 0.5] },
      { cv: folds },
    );
    await gs.fit(xs, y);
    const r = gs.cvResults;
    if (!r) throw new Error('no cvResults');
    const [m0, m1] = r.mean_test_score;
    const best = (m0 as number) >= (m1 as number) ? 0 : 1;
    expect(gs.bestParams).toEqual(r.params[best]);
    expect(gs.bestScore).toBe(r.mean_test_score[best]);
    const e = gs.bestEstimator as KerasClassifier;
    expect(e.getParams().lr).toBe(r.params[best]?.lr);
    expect(e.classes_).toEqual(['a', 'b']);
    const pred = await gs.predict(xs);
    expect(await gs.score(xs, y)).toBe(pred.filter((v, i) => v === y[i]).length / 30);
    await gs.dispose();
    const after = engine.stats();
    // Every fold's model and the refitted one are freed.
    expect([after.liveBuffers, after.liveBytes]).toEqual([before.liveBuffers, before.liveBytes]);
  });

  it("one-hot y: cv as a number is KFold (scikit-learn does not stratify it), scores as the ids'", async () => {
    const build = (_p: Record<string, unknown>, meta: KerasMeta): LayersModel => {
      const m = sequential({
        layers: [seededDense(meta.nClasses ?? 2, 'softmax', 1, { inputShape: [meta.nFeaturesIn] })],
      });
      m.compile({ optimizer: optimizers.sgd({ learningRate: 0.3 }), loss: 'categorical_crossentropy' });
      return m;
    };
    const { x, y } = data();
    const xs = x.map((r) => r.slice(1));
    const ids = y.map((v) => (v === 'a' ? 0 : 1));
    const dummy = ids.map((c) => (c ? [0, 1] : [1, 0]));
    const clf = new KerasClassifier(build, { epochs: 2, batch_size: 8, shuffle: false });
    const folds = kFold(30, { folds: 3 }).map((f): Fold => [Array.from(f.train), Array.from(f.test)]);
    const byIds = await crossValScore(clf, xs, ids, { cv: folds });
    expect(await crossValScore(clf, xs, dummy, { cv: 3 })).toEqual(byIds);
    await expect(crossValScore(clf, xs, dummy, { cv: stratifiedKFold({ folds: 3 }) })).rejects.toThrow(
      'crossValidate: StratifiedKFold supports binary and multiclass targets; y holds one-hot rows',
    );
  });
});

describe('review fixes', () => {
  it('a Pipeline with a Keras model frees every fold model; names match in either spelling', async () => {
    const build = (_p: Record<string, unknown>, meta: KerasMeta): LayersModel => {
      const m = sequential({
        layers: [seededDense(meta.nClasses ?? 2, 'softmax', 1, { inputShape: [meta.nFeaturesIn] })],
      });
      m.compile({
        optimizer: optimizers.sgd({ learningRate: 0.1 }),
        loss: 'sparse_categorical_crossentropy',
      });
      return m;
    };
    const { x, y } = data();
    const xs = x.map((r) => r.slice(1));
    const before = engine.stats();
    const pipe = makePipeline(new StandardScaler(), new KerasClassifier(build, { epochs: 1, batch_size: 8 }));
    // batchSize as camelCase, with_mean as snake_case: setParams takes both, so the search does.
    const gs = new GridSearchCV(
      pipe,
      { kerasclassifier__batchSize: [8, 16], standardscaler__with_mean: [true] },
      { cv: 2 },
    );
    await gs.fit(xs, y);
    expect(gs.cvResults?.params).toHaveLength(2);
    await gs.dispose();
    await pipe.dispose();
    const after = engine.stats();
    expect([after.liveBuffers, after.liveBytes]).toEqual([before.liveBuffers, before.liveBytes]);
  });

  it('roc_auc refuses three classes; a scoring error scores NaN with a warning', async () => {
    const three = { predictProba: () => [[0.2, 0.3, 0.5]] } as unknown as Parameters<
      ReturnType<typeof scorer>['score']
    >[0];
    await expect(scorer('roc_auc').score(three, [[0, 0]], [1])).rejects.toThrow(/3 columns.*two classes/);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { x, y } = data();
    const scores = await crossValScore(new Centroid(), x, y, {
      cv: 3,
      scoring: () => {
        throw new Error('cannot score');
      },
    });
    expect([...scores].every((v) => Number.isNaN(v))).toBe(true);
    expect(warn.mock.calls.some((c) => /scoring failed.*cannot score/.test(String(c[0])))).toBe(true);
    warn.mockRestore();
  });
});

describe('RandomizedSearchCV', () => {
  it('is reproducible with randomState; draws stay in their distributions', async () => {
    const { x, y } = data();
    const dists = { shift: uniform(0, 2), tag: ['a', 'b'], fail: [false] };
    const run = async (seed: number) => {
      const rs = new RandomizedSearchCV(new Centroid(), dists, {
        nIter: 5,
        cv: 3,
        randomState: seed,
        refit: false,
      });
      await rs.fit(x, y);
      return rs.cvResults?.params ?? [];
    };
    const a = await run(4);
    expect(await run(4)).toEqual(a);
    expect(await run(5)).not.toEqual(a);
    for (const p of a) {
      expect(p.shift as number).toBeGreaterThanOrEqual(0);
      expect(p.shift as number).toBeLessThan(2);
      expect(['a', 'b']).toContain(p.tag);
    }
    // Lists only: drawn from the grid without repeats, at most its size.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const grid = new RandomizedSearchCV(
      new Centroid(),
      { shift: [0, 1], tag: ['a', 'b'] },
      { nIter: 9, cv: 3 },
    );
    await grid.fit(x, y);
    warn.mockRestore();
    const seen = (grid.cvResults?.params ?? []).map((p) => JSON.stringify(p)).sort();
    expect(seen).toEqual([
      '{"shift":0,"tag":"a"}',
      '{"shift":0,"tag":"b"}',
      '{"shift":1,"tag":"a"}',
      '{"shift":1,"tag":"b"}',
    ]);
    // randint: integers in [lo, hi); logUniform in [lo, hi).
    const rng = createRng(1);
    const ri = randint(2, 5);
    const lu = logUniform(1e-3, 1e-1);
    for (let i = 0; i < 200; i++) {
      const v = ri.rvs(rng);
      expect(Number.isInteger(v) && v >= 2 && v < 5).toBe(true);
      const w = lu.rvs(rng);
      expect(w >= 1e-3 && w < 1e-1).toBe(true);
    }
    expect(() => new RandomizedSearchCV(new Centroid(), { nope: [1] })).toThrow(/"nope" is not a parameter/);
  });
});
