/**
 * A tuner project in a browser (headless Chromium, SwiftShader): a random search saved to
 * IndexedDB ('webgpu-mlp-tuner') and resumed by a new tuner runs the trials of an
 * uninterrupted search with the same seed; the reloaded best model predicts what the saved
 * one did; overwrite: true leaves no record of the project.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type ChromiumSession } from '../../kernels-test/browser/chromium.js';

type Lib = typeof import('../../src/index.js');

let session: ChromiumSession | undefined;
beforeAll(async () => {
  session = await openPage('/kernels-test/browser/index.html', (line) => {
    if (/error|fail/i.test(line)) console.log(line);
  });
});
afterAll(async () => {
  await session?.close();
});

interface Result {
  uninterrupted: Record<string, unknown>[];
  saved: Record<string, unknown>[];
  reloaded: Record<string, unknown>[];
  resumed: Record<string, unknown>[];
  newTrials: number;
  keys: string[];
  before: number[];
  after: number[];
  afterOverwrite: number;
  keysAfterOverwrite: number;
}

/** In the page: search 2 trials into a project, resume it to 4 in a new tuner, then overwrite it. */
async function inPage(): Promise<Result> {
  if (!session) throw new Error('no page');
  return session.page.evaluate(async () => {
    // The page's own import(): an import() written in this file would be rewritten for Node.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed string, in the test page
    const pageImport = new Function('p', 'return import(p)') as (p: string) => Promise<unknown>;
    const lib = (await pageImport('/src/index.ts')) as Lib;
    await lib.initEngine({ log: false });
    // Two classes on either side of x0 + x1 = 0, spread deterministically.
    const n = 32;
    const x = new Float32Array(n * 2);
    const y = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % 2;
      y[i] = c;
      x[2 * i] = (c ? 1 : -1) + Math.sin(i) * 0.5;
      x[2 * i + 1] = (c ? 1 : -1) + Math.cos(i) * 0.5;
    }
    const data = { data: x, shape: [n, 2] };
    const build = (hp: InstanceType<Lib['HyperParameters']>) => {
      const m = lib.sequential({
        layers: [
          lib.layers.dense({
            units: hp.choice('units', [2, 4, 8]),
            activation: 'relu',
            inputShape: [2],
            kernelInitializer: { className: 'GlorotUniform', config: { seed: 1 } },
          }),
          lib.layers.dense({
            units: 2,
            activation: 'softmax',
            kernelInitializer: { className: 'GlorotUniform', config: { seed: 2 } },
          }),
        ],
      });
      const lr = hp.choice('learning_rate', [0.01, 0.03, 0.1]);
      m.compile({
        optimizer: lib.optimizers.adam({ learningRate: lr }),
        loss: 'sparse_categorical_crossentropy',
      });
      return m;
    };
    const fit = { epochs: 2, batchSize: 8, seed: 1, shuffle: false };
    const projectName = `browser-test-${Date.now()}`;
    const options = { objective: 'loss', verbose: 0, directory: 'tuners', projectName } as const;
    const values = (ts: { hyperparameters: Record<string, unknown> }[]) => ts.map((t) => t.hyperparameters);

    const plain = lib.randomSearch(build, { objective: 'loss', verbose: 0, maxTrials: 4, seed: 9 });
    const uninterrupted = values(await plain.search(data, y, fit));

    const first = lib.randomSearch(build, { ...options, maxTrials: 2, seed: 9 });
    const saved = values(await first.search(data, y, fit));
    const [bestSaved] = await first.getBestModels(1);
    const before = Array.from(((await bestSaved?.predict(data)) as { data: Float32Array }).data);
    await bestSaved?.dispose();

    const keys = await new Promise<string[]>((resolve, reject) => {
      const r = indexedDB.open(lib.TUNER_DATABASE);
      r.onerror = () => reject(r.error ?? new Error('open failed'));
      r.onsuccess = () => {
        const all = r.result.transaction('files').objectStore('files').getAllKeys();
        all.onsuccess = () => {
          resolve(all.result.map(String).filter((k) => k.startsWith(`tuners/${projectName}/`)));
          r.result.close();
        };
      };
    });

    const second = lib.randomSearch(build, { ...options, maxTrials: 4 });
    const reloaded = values(await second.reload());
    const [bestReloaded] = await second.getBestModels(1);
    const after = Array.from(((await bestReloaded?.predict(data)) as { data: Float32Array }).data);
    await bestReloaded?.dispose();
    const newTrials = (await second.search(data, y, fit)).length;
    const resumed = values(second.trials);

    const third = lib.randomSearch(build, { ...options, maxTrials: 4, overwrite: true });
    const afterOverwrite = (await third.reload()).length;
    const store = lib.indexedDbTunerStore('tuners', projectName);
    const keysAfterOverwrite = (await store?.read('oracle.json')) === undefined ? 0 : 1;
    return {
      uninterrupted,
      saved,
      reloaded,
      resumed,
      newTrials,
      keys,
      before,
      after,
      afterOverwrite,
      keysAfterOverwrite,
    };
  });
}

describe('tuner projects in IndexedDB (Chromium)', () => {
  it('save, reload and resume a random search; overwrite clears it', async () => {
    const r = await inPage();
    expect(r.uninterrupted).toHaveLength(4);
    expect(r.saved).toEqual(r.uninterrupted.slice(0, 2));
    // oracle.json, one file per trial, the best model's weights.
    expect(r.keys.map((k) => k.split('/').pop()).sort()).toEqual([
      'oracle.json',
      'trial_0.json',
      'trial_1.json',
      expect.stringMatching(/^weights_\d+\.bin$/) as unknown as string,
    ]);
    expect(r.reloaded).toEqual(r.saved);
    expect(r.newTrials).toBe(2);
    expect(r.resumed).toEqual(r.uninterrupted);
    expect(r.before).toHaveLength(32 * 2);
    expect(r.after).toEqual(r.before);
    expect(r.afterOverwrite).toBe(0);
    expect(r.keysAfterOverwrite).toBe(0);
  });
});
