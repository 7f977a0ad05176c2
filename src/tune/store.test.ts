/**
 * Tuner projects on disk (directory / projectName / overwrite): a search stopped, cut off by
 * an error or run with a smaller maxTrials, then resumed by a new tuner on the same folder,
 * runs exactly the trials of an uninterrupted search with the same seed (random and Bayesian);
 * a finished project trains nothing more; the reloaded best model predicts what the saved
 * one did; overwrite starts over; another space, searcher or a corrupt file is refused by
 * name. The generator's resumable state and the file codecs are checked on the host.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { createRng } from '../util/random.js';
import { sequential, type LayersModel, type Prediction } from '../model/model.js';
import { layers } from '../nn/layers/index.js';
import { optimizers } from '../nn/optimizers.js';
import { seededDense } from '../../kernels-test/models.js';
import { bayesianOptimization } from './bayesian.js';
import { HyperParameterError, type HpValues, type HyperParameters } from './hyperparameters.js';
import { gridSearch, hyperband, randomSearch } from './searchers.js';
import {
  decodeWeights,
  encodeWeights,
  jsonDecode,
  jsonEncode,
  registerTunerStoreHost,
  resumableRng,
} from './store.js';
import type { Trial, TrialEventDetail, Tuner } from './tuner.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

const folders: string[] = [];
afterAll(() => {
  for (const f of folders) fs.rmSync(f, { recursive: true, force: true });
});
function tempDir(): string {
  const f = fs.mkdtempSync(join(os.tmpdir(), 'tuner-store-'));
  folders.push(f);
  return f;
}

/** Two classes around (±1.5, ±1.5), seeded. */
function blobs(n: number, seed: number) {
  const rng = createRng(seed);
  const x = new Float32Array(n * 2);
  const y = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    y[i] = c;
    x[2 * i] = (c ? 1.5 : -1.5) + rng.normal();
    x[2 * i + 1] = (c ? 1.5 : -1.5) + rng.normal();
  }
  return { x: { data: x, shape: [n, 2] }, y };
}
const data = blobs(64, 1);
const fit = { epochs: 2, batchSize: 16, validationSplit: 0.25, seed: 1, shuffle: false } as const;

/** A build whose weights are seeded: the same values train to the same score. */
function builder(counter: { builds: number }, units: readonly number[] = [2, 4, 8, 16]) {
  return (hp: HyperParameters): LayersModel => {
    counter.builds++;
    const m = sequential({
      layers: [
        layers.dense({
          units: hp.choice('units', units),
          activation: 'relu',
          inputShape: [2],
          kernelInitializer: { className: 'GlorotUniform', config: { seed: 1 } },
        }),
        seededDense(2, 'softmax', 2),
      ],
    });
    const lr = hp.float('learning_rate', 1e-3, 1e-1, { sampling: 'log' });
    m.compile({ optimizer: optimizers.adam({ learningRate: lr }), loss: 'sparse_categorical_crossentropy' });
    return m;
  };
}

const values = (ts: readonly Trial[]): HpValues[] => ts.map((t) => t.hyperparameters);
const scores = (ts: readonly Trial[]): (number | undefined)[] => ts.map((t) => t.score);
const trialsRun = (t: Tuner): { n: number } => {
  const c = { n: 0 };
  t.events.addEventListener('trial', () => c.n++);
  return c;
};
const quiet = { objective: 'val_loss', verbose: 0 } as const;

describe('tuner projects: a trial cut short by stop()', () => {
  it('is not saved as finished: the resumed search runs it whole, as an uninterrupted one', async () => {
    const plain = randomSearch(builder({ builds: 0 }), { ...quiet, maxTrials: 4, seed: 3 });
    const full = await plain.search(data.x, data.y, fit);
    const project = { directory: tempDir(), projectName: 'cut' };
    const first = randomSearch(builder({ builds: 0 }), { ...quiet, ...project, maxTrials: 4, seed: 3 });
    let epochs = 0;
    // Trial 2 (the third), first of its 2 epochs.
    const cutter = {
      onEpochEnd: () => {
        if (++epochs === 5) first.stop();
      },
    };
    const ran = await first.search(data.x, data.y, { ...fit, callbacks: [cutter] });
    expect(ran).toHaveLength(3);
    expect(ran[2]?.epochs).toBe(1); // in memory: recorded with the epoch it finished
    const files = fs.readdirSync(join(project.directory, 'cut'));
    expect(files.filter((f) => f.startsWith('trial_')).sort()).toEqual(['trial_0.json', 'trial_1.json']);
    const second = randomSearch(builder({ builds: 0 }), { ...quiet, ...project, maxTrials: 4 });
    const resumed = await second.search(data.x, data.y, fit);
    expect(resumed.map((t) => t.id)).toEqual([2, 3]);
    expect(values(second.trials)).toEqual(values(full));
    expect(scores(second.trials)).toEqual(scores(full));
  });
});

describe('tuner projects: random search', () => {
  const dir = tempDir();
  const project = { directory: dir, projectName: 'random' };
  let full: Trial[] = [];
  let bestBefore: Prediction | undefined;

  it('a stopped search resumed by a new tuner runs the trials of an uninterrupted one, in order', async () => {
    const plain = randomSearch(builder({ builds: 0 }), { ...quiet, maxTrials: 6, seed: 7 });
    full = await plain.search(data.x, data.y, fit);
    expect(full).toHaveLength(6);

    const first = randomSearch(builder({ builds: 0 }), { ...quiet, ...project, maxTrials: 6, seed: 7 });
    first.events.addEventListener('trial', (e) => {
      if ((e as CustomEvent<TrialEventDetail>).detail.index === 2) first.stop();
    });
    expect(await first.search(data.x, data.y, fit)).toHaveLength(3);
    // One file per finished trial, the state, and the best model's weights (keepModels 1).
    const files = fs.readdirSync(join(dir, 'random')).sort();
    expect(files.filter((f) => f.startsWith('trial_'))).toEqual([
      'trial_0.json',
      'trial_1.json',
      'trial_2.json',
    ]);
    expect(files).toContain('oracle.json');
    expect(files.filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);

    // No seed given: the project's generator continues.
    const counter = { builds: 0 };
    const second = randomSearch(builder(counter), { ...quiet, ...project, maxTrials: 6 });
    const ran = trialsRun(second);
    const resumed = await second.search(data.x, data.y, fit);
    expect(ran.n).toBe(3);
    expect(counter.builds).toBe(1 + 3); // the space's probe, then three trials
    expect(resumed.map((t) => t.id)).toEqual([3, 4, 5]);
    expect(values(second.trials)).toEqual(values(full));
    expect(scores(second.trials)).toEqual(scores(full));
    expect(second.trials.map((t) => t.history.val_loss)).toEqual(full.map((t) => t.history.val_loss));
    expect(second.getBestHyperparameters(1)[0]?.values).toEqual(plain.getBestHyperparameters(1)[0]?.values);
    const [best] = await second.getBestModels(1);
    bestBefore = (await best?.predict(data.x)) as Prediction;
    await best?.dispose();
  });

  it('a finished project trains nothing more; its best model predicts as before', async () => {
    const counter = { builds: 0 };
    const again = randomSearch(builder(counter), { ...quiet, ...project, maxTrials: 6 });
    const reloaded = await again.reload();
    expect(reloaded).toHaveLength(6);
    const lines: string[] = [];
    again.resultsSummary(10, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^Results: 6 trials \(6 completed, 0 failed\)/);
    const ran = trialsRun(again);
    expect(await again.search(data.x, data.y, fit)).toEqual([]);
    expect(ran.n).toBe(0);
    expect(counter.builds).toBe(1); // the probe only
    expect(values(again.trials)).toEqual(values(full));
    expect(again.trials.map((t) => t.epochs)).toEqual(full.map((t) => t.epochs));
    const [best] = await again.getBestModels(1);
    const p = (await best?.predict(data.x)) as Prediction;
    await best?.dispose();
    expect(bestBefore?.data.length).toBe(64 * 2);
    expect(p.data).toEqual(bestBefore?.data);
  });

  it('a larger maxTrials continues a finished project with the next draws', async () => {
    const plain = randomSearch(builder({ builds: 0 }), { ...quiet, maxTrials: 8, seed: 7 });
    const eight = await plain.search(data.x, data.y, fit);
    const more = randomSearch(builder({ builds: 0 }), { ...quiet, ...project, maxTrials: 8 });
    expect(await more.search(data.x, data.y, fit)).toHaveLength(2);
    expect(values(more.trials)).toEqual(values(eight));
  });

  it('overwrite: true starts the project over', async () => {
    const counter = { builds: 0 };
    const fresh = randomSearch(builder(counter), {
      ...quiet,
      ...project,
      maxTrials: 2,
      seed: 7,
      overwrite: true,
    });
    expect(await fresh.search(data.x, data.y, fit)).toHaveLength(2);
    expect(values(fresh.trials)).toEqual(values(full.slice(0, 2)));
    const files = fs.readdirSync(join(dir, 'random')).filter((f) => f.startsWith('trial_'));
    expect(files.sort()).toEqual(['trial_0.json', 'trial_1.json']);
  });

  it('another space, another searcher and a corrupt file are refused by name', async () => {
    const other = randomSearch(builder({ builds: 0 }, [2, 4, 8]), { ...quiet, ...project, maxTrials: 6 });
    await expect(other.search(data.x, data.y, fit)).rejects.toThrow(
      `the project ${join(dir, 'random')} was saved with another search space: 'units' was {"kind":"choice","values":[2,4,8,16]}, now {"kind":"choice","values":[2,4,8]}; use another directory / projectName, or overwrite: true`,
    );
    const grid = gridSearch(builder({ builds: 0 }), { ...quiet, ...project });
    await expect(grid.reload()).rejects.toThrow(
      `gridSearch: the project ${join(dir, 'random')} was saved by randomSearch, not gridSearch`,
    );
    const trial1 = join(dir, 'random', 'trial_1.json');
    fs.writeFileSync(trial1, '{"id": 1, "hyper');
    const broken = randomSearch(builder({ builds: 0 }), { ...quiet, ...project });
    await expect(broken.reload()).rejects.toThrow(`${trial1} is not valid JSON`);
    const oracle = join(dir, 'random', 'oracle.json');
    fs.writeFileSync(oracle, 'not json');
    await expect(randomSearch(builder({ builds: 0 }), { ...quiet, ...project }).reload()).rejects.toThrow(
      `${oracle} is not valid JSON`,
    );
  });
});

describe('tuner projects: Bayesian optimization', () => {
  it('a search cut off by an error mid-trial resumes with that trial and the same proposals', async () => {
    const dir = tempDir();
    const options = { ...quiet, maxTrials: 5, numInitialPoints: 3 };
    const plain = bayesianOptimization(builder({ builds: 0 }), { ...options, seed: 3 });
    const full = await plain.search(data.x, data.y, fit);
    expect(full).toHaveLength(5);

    // The third trial's build (a random draw) throws a search-ending error, as a process dying
    // would end it.
    const counter = { builds: 0 };
    const dying = (hp: HyperParameters): LayersModel => {
      if (counter.builds === 3) throw new HyperParameterError('the process died');
      return builder(counter)(hp);
    };
    const first = bayesianOptimization(dying, { ...options, seed: 3, directory: dir });
    await expect(first.search(data.x, data.y, fit)).rejects.toThrow('the process died');
    expect(first.trials).toHaveLength(2);

    // projectName defaults to untitled_project, as Keras Tuner's.
    const files = fs.readdirSync(join(dir, 'untitled_project'));
    expect(files.filter((f) => f.startsWith('trial_')).sort()).toEqual(['trial_0.json', 'trial_1.json']);
    // No seed: the project's generator continues (the third trial is a random one).
    const second = bayesianOptimization(builder({ builds: 0 }), { ...options, directory: dir });
    const ran = trialsRun(second);
    expect((await second.search(data.x, data.y, fit)).map((t) => t.id)).toEqual([2, 3, 4]);
    expect(ran.n).toBe(3);
    expect(values(second.trials)).toEqual(values(full));
    expect(scores(second.trials)).toEqual(scores(full));
  });
});

describe('tuner projects: Hyperband', () => {
  it('a search stopped inside a bracket resumes its rounds from the saved weights', async () => {
    const dir = tempDir();
    // maxEpochs 4, factor 2: brackets 4 × 1 ep → 2 × 2 ep → 1 × 4 ep, 3 × 2 ep → 2 × 4 ep, 3 × 4 ep.
    const options = { ...quiet, maxEpochs: 4, factor: 2 };
    const plain = hyperband(builder({ builds: 0 }), { ...options, seed: 5 });
    const full = await plain.search(data.x, data.y, fit);
    expect(full).toHaveLength(15);
    const plan = (ts: readonly Trial[]) =>
      ts.map((t) => [t.bracket, t.round, t.parent, t.initialEpoch, t.epochs]);

    const first = hyperband(builder({ builds: 0 }), {
      ...options,
      seed: 5,
      directory: dir,
      projectName: 'hb',
    });
    first.events.addEventListener('trial', (e) => {
      // Trial 4 is the first continuation of bracket 2's second round: trial 5 continues too.
      if ((e as CustomEvent<TrialEventDetail>).detail.index === 4) first.stop();
    });
    expect(await first.search(data.x, data.y, fit)).toHaveLength(5);
    const second = hyperband(builder({ builds: 0 }), { ...options, directory: dir, projectName: 'hb' });
    expect(await second.search(data.x, data.y, fit)).toHaveLength(10);
    expect(plan(second.trials)).toEqual(plan(full));
    expect(values(second.trials)).toEqual(values(full));
    // A continuation's score depends on the weights it started from: saved bit for bit.
    expect(scores(second.trials)).toEqual(scores(full));
  });
});

describe('tuner project files', () => {
  it('directory / projectName are refused where nothing can hold the project', async () => {
    const node = registerTunerStoreHost(undefined); // as in a worker without IndexedDB
    try {
      const t = randomSearch(builder({ builds: 0 }), { ...quiet, projectName: 'p' });
      await expect(t.reload()).rejects.toThrow(
        'randomSearch: directory / projectName need somewhere to save the project (./p)',
      );
    } finally {
      registerTunerStoreHost(node);
    }
  });

  it('a project saved in the first format is refused with what to do', async () => {
    const directory = tempDir();
    fs.mkdirSync(join(directory, 'old'));
    fs.writeFileSync(
      join(directory, 'old', 'oracle.json'),
      JSON.stringify({ format: 'webgpu-mlp tuner project', version: 1, rng: { seed: 1, draws: 4 } }),
    );
    const t = randomSearch(builder({ builds: 0 }), { ...quiet, directory, projectName: 'old' });
    await expect(t.reload()).rejects.toThrow(
      'was saved by an earlier version of this library; start it over with overwrite: true',
    );
  });

  it('a projectName that is not one folder is refused: overwrite would delete more', () => {
    for (const name of ['.', '..', 'a/b', 'a\\b', 'C:'])
      expect(() => randomSearch(builder({ builds: 0 }), { ...quiet, projectName: name })).toThrow(
        `randomSearch: projectName ${JSON.stringify(name)} must name one folder inside directory`,
      );
  });

  it('overwrite deletes the project files only: a folder named by mistake keeps its other files', async () => {
    const directory = tempDir();
    fs.mkdirSync(join(directory, 'notes'));
    fs.writeFileSync(join(directory, 'notes', 'thesis.txt'), 'keep me');
    const t = randomSearch(builder({ builds: 0 }), {
      ...quiet,
      directory,
      projectName: 'notes',
      maxTrials: 1,
    });
    await t.search(data.x, data.y, fit);
    expect(fs.readdirSync(join(directory, 'notes')).sort()).toEqual([
      'oracle.json',
      'thesis.txt',
      'trial_0.json',
      expect.stringMatching(/^weights_\d+\.bin$/) as unknown as string,
    ]);
    const again = randomSearch(builder({ builds: 0 }), {
      ...quiet,
      directory,
      projectName: 'notes',
      maxTrials: 1,
      overwrite: true,
    });
    await again.reload();
    expect(fs.readdirSync(join(directory, 'notes'))).toEqual(['thesis.txt']);
  });

  it("the generator's saved state continues createRng's sequence", () => {
    const a = resumableRng(11);
    const plain = createRng(11);
    const drawn = [a.next(), a.int(10), a.nextU32(), a.next()];
    expect(drawn).toEqual([plain.next(), plain.int(10), plain.nextU32(), plain.next()]);
    a.normal(); // leaves a Box–Muller value pending
    const state = a.state();
    expect(state.words).toHaveLength(4);
    expect(Number.isFinite(state.spare)).toBe(true); // the pair's second normal
    const b = resumableRng(99);
    b.restore(JSON.parse(JSON.stringify(state)) as typeof state);
    expect([b.normal(), b.int(1000), b.next(), b.shuffle([1, 2, 3, 4, 5])]).toEqual([
      a.normal(),
      a.int(1000),
      a.next(),
      a.shuffle([1, 2, 3, 4, 5]),
    ]);
    expect(() => b.restore({ words: [0, 0, 0, 0] })).toThrow('restore: not a generator state');
    expect(() => b.restore({ seed: 11, draws: 3 } as never)).toThrow('restore: not a generator state');
  });

  it('JSON keeps NaN and ±Infinity; weights round-trip bit for bit', () => {
    const history = { loss: [0.5, NaN, Infinity, -Infinity] };
    expect(jsonDecode(jsonEncode({ history, name: 'x' }), 'f')).toEqual({ history, name: 'x' });
    const kept = new Map([
      [3, [Float32Array.of(1, -2.5, 3e-8), Float32Array.of(NaN)]],
      [0, [Float32Array.of(7)]],
    ]);
    const back = decodeWeights(encodeWeights(kept), 'w.bin');
    expect([...back.keys()]).toEqual([0, 3]);
    expect(back.get(3)).toEqual(kept.get(3));
    expect(back.get(0)).toEqual(kept.get(0));
    expect(() => decodeWeights(encodeWeights(kept).subarray(0, 20), 'w.bin')).toThrow(
      /w\.bin is not a weights file/,
    );
  });
});
