/**
 * Matmul autotuning (src/kernels/tune.ts): candidates timed and checked, choices kept per
 * engine and applied by encodeMatmul, the cache (a store per device; Node's file), the
 * modes, and an executor that tunes its plans before training, ending where an untuned one
 * does. Times are never asserted; which tiling wins on this adapter is not either.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniformF32 } from '../../kernels-test/harness.js';
import { GpuData } from '../graph/dataset.js';
import { Executor } from '../graph/executor.js';
import { Graph } from '../graph/ir.js';
import * as ops from '../graph/ops/index.js';
import { profile } from '../gpu/profiler.js';
import { initEngine, type Engine } from '../node/index.js';
import { matmulTuneFile, nodeMatmulTuneStore } from '../node/matmul-tune-store.js';
import { encodeMatmul, matmulReference, type MatmulSpec, type MatmulTiling } from './matmul.js';
import {
  loadTuning,
  matmulCandidates,
  matmulTuneKey,
  pendingTunes,
  registerMatmulTuneStore,
  tunedChoices,
  tunedTiling,
  tuneDeviceKey,
  tuneMatmul,
  tunePending,
  type MatmulTuneStore,
} from './tune.js';

/** A store in memory that records its calls. */
function recordingStore(initial: Record<string, unknown> = {}): MatmulTuneStore & { saves: string[] } {
  const records = new Map(Object.entries(initial));
  const saves: string[] = [];
  return {
    where: 'test',
    saves,
    load: (device) => Promise.resolve(records.get(device)),
    save: (device, choices) => {
      saves.push(device);
      records.set(device, choices);
      return Promise.resolve();
    },
  };
}

const engines: Engine[] = [];
async function engineWith(tune: 'off' | 'cached' | 'on', kernels: 'cpu' | 'nvidia' = 'cpu'): Promise<Engine> {
  // A budget no run reaches: which products are tuned must not depend on the machine's speed.
  const e = await initEngine({ adapter: 'software', log: false, kernels, tune, tuneBudgetMs: 600_000 });
  engines.push(e);
  return e;
}
let before: MatmulTuneStore;
beforeAll(() => {
  before = registerMatmulTuneStore(undefined);
});
afterEach(() => {
  registerMatmulTuneStore(undefined);
});
afterAll(() => {
  registerMatmulTuneStore(before);
  for (const e of engines) e.dispose();
});

/** Runs `spec` with bias + relu on `engine` (its own tiling choice); C against float64 within γ_(k+1). */
async function checkProduct(engine: Engine, spec: MatmulSpec): Promise<string[]> {
  const { m, n, k } = spec;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const full: MatmulSpec = { ...spec, bias: true, activation: { name: 'relu' } };
  const [a, b, bias] = [uniformF32(m * k, -1, 1, 1), uniformF32(k * n, -1, 1, 2), uniformF32(n, -1, 1, 3)];
  const bufs = [
    engine.createBufferWithData(a, usage, 'A'),
    engine.createBufferWithData(b, usage, 'B'),
    engine.createBuffer({ size: 4 * m * n, usage, label: 'C' }),
    engine.createBufferWithData(bias, usage, 'bias'),
  ] as const;
  const labels: string[] = [];
  const dispatch = engine.dispatch.bind(engine);
  engine.dispatch = (p, buffers, w, label, work) => {
    labels.push(label);
    dispatch(p, buffers, w, label, work);
  };
  try {
    encodeMatmul(engine, full, { a: bufs[0], b: bufs[1], c: bufs[2], bias: bufs[3] });
  } finally {
    engine.dispatch = dispatch;
  }
  const got = new Float32Array(await engine.read(bufs[2], 4 * m * n, 'C'));
  const ref = matmulReference(full, a, b, bias).c;
  const bound = (k + 2) * 2 ** -24 * 1.01 * (k + 1); // γ_(k+2)·(k + 1): |A|,|B|,|bias| ≤ 1
  const worst = got.reduce((w, v, i) => Math.max(w, Math.abs(v - (ref[i] ?? NaN))), 0);
  expect(worst).toBeLessThanOrEqual(bound);
  for (const x of bufs) engine.releaseBuffer(x);
  return labels;
}

describe('matmul autotuning', () => {
  const spec: MatmulSpec = { m: 130, n: 40, k: 200, transA: true };

  it('times every candidate, the default first, and keeps one that agrees with the default', async () => {
    const engine = await engineWith('on', 'nvidia');
    const candidates = matmulCandidates(engine, spec);
    // The nvidia profile's own choice, 64×64 and 32×32 tiles at k-steps 8 and 16, a split of 2
    // (⌊200 / 64⌋ = 3 ≥ 2; not 4 or 8), then register prefetch of the profile's own and of
    // 64×64 tiles at k-step 16.
    // The profile's own: 32×32 tiles (10 of them), k split min(⌈256/10⌉, ⌊200/64⌋) = 3 ways.
    expect(candidates[0]).toEqual({ wgX: 8, wgY: 8, bm: 1, bn: 1, tk: 16, pad: false, splitK: 3 });
    const short = (t: MatmulTiling) =>
      `${t.bm}${t.bn}/${t.tk}/${t.splitK ?? 1}${t.prefetch ? ' prefetch' : ''}`;
    expect(candidates.map(short)).toEqual([
      '11/16/3',
      '22/8/1',
      '22/16/1',
      '11/8/1',
      '11/16/1',
      '11/16/2',
      '11/16/3 prefetch',
      '22/16/1 prefetch',
    ]);
    // A CPU profile times no prefetch (its adapters gain nothing from it).
    const cpu = await engineWith('on');
    expect(matmulCandidates(cpu, spec).some((t) => t.prefetch)).toBe(false);
    const r = await tuneMatmul(engine, spec);
    expect(r.key).toBe('TN 130x40x200');
    expect(r.timings.map((t) => t.tiling)).toEqual(candidates);
    for (const t of r.timings) expect(Number.isFinite(t.ms) && t.ms >= 0).toBe(true);
    expect(candidates).toContainEqual(r.chosen);
  });

  it("mode 'on': products are noted while encoding, tuned within the budget, applied and saved", async () => {
    const store = recordingStore();
    registerMatmulTuneStore(store);
    // The thin kernel's products are never tuned: up to 8 rows, and on a CPU adapter's
    // profile every product of A untransposed (with Aᵀ too on SwiftShader).
    const cpu = await engineWith('on');
    expect(tunedTiling(cpu, { m: 8, n: 64, k: 96 })).toBeUndefined();
    expect(tunedTiling(cpu, { m: 40, n: 64, k: 96 })).toBeUndefined();
    expect(pendingTunes(cpu)).toEqual([]);
    // The tiled kernel's: pinned to a GPU profile, which runs it for every adapter.
    const engine = await engineWith('on', 'nvidia');
    const other: MatmulSpec = { m: 40, n: 64, k: 96, transA: true };
    expect(tunedTiling(engine, spec)).toBeUndefined();
    expect(tunedTiling(engine, other)).toBeUndefined();
    expect(tunedTiling(engine, { m: 8, n: 64, k: 96 })).toBeUndefined();
    expect(pendingTunes(engine)).toEqual(['TN 130x40x200', 'TN 40x64x96']);
    // A budget of 0 tunes nothing; the products stay noted.
    expect((await tunePending(engine, 0)).tuned).toEqual([]);
    expect(pendingTunes(engine)).toHaveLength(2);
    const { tuned } = await tunePending(engine);
    expect(tuned.map((r) => r.key)).toEqual(['TN 130x40x200', 'TN 40x64x96']);
    expect(pendingTunes(engine)).toEqual([]);
    expect(store.saves).toEqual([tuneDeviceKey(engine)]);
    const chosen = tunedChoices(engine)['TN 130x40x200'];
    expect(tunedTiling(engine, spec)).toEqual(chosen);
    // encodeMatmul takes the choice (two dispatches where it splits k), for any epilogue.
    const labels = await checkProduct(engine, spec);
    expect(labels).toHaveLength((chosen?.splitK ?? 1) > 1 ? 2 : 1);
  });

  it("mode 'cached' applies the device's cached choices (prefetch too), skipping entries that are no tiling or too big; 'off' none", async () => {
    const split: MatmulTiling = { wgX: 8, wgY: 8, bm: 1, bn: 1, tk: 16, pad: false, splitK: 3 };
    const probe = await engineWith('cached', 'nvidia');
    const device = tuneDeviceKey(probe);
    const store = recordingStore({
      [device]: {
        [matmulTuneKey(spec)]: split,
        'NN 40x64x96': { wgX: 8, wgY: 8, bm: 1, bn: 1, tk: 6, pad: false }, // tk not a multiple of 4
        'NN 50x64x96': { wgX: 64, wgY: 64, bm: 1, bn: 1, tk: 8, pad: false }, // 4,096 threads
        'NN 60x64x96': 'fast',
        'NN 80x64x96': { wgX: 8, wgY: 8, bm: 1, bn: 1, tk: 8, pad: false, prefetch: 'yes' },
        'NN 90x64x96': { wgX: 8, wgY: 8, bm: 1, bn: 1, tk: 8, pad: false, prefetch: true },
      },
    });
    registerMatmulTuneStore(store);
    const engine = await engineWith('cached', 'nvidia');
    await loadTuning(engine);
    expect(tunedChoices(engine)).toEqual({
      [matmulTuneKey(spec)]: split,
      'NN 90x64x96': { wgX: 8, wgY: 8, bm: 1, bn: 1, tk: 8, pad: false, prefetch: true },
    });
    expect(tunedTiling(engine, { m: 70, n: 64, k: 96 })).toBeUndefined();
    expect(tunedTiling(engine, { m: 80, n: 64, k: 96 })).toBeUndefined(); // prefetch not a boolean
    expect(pendingTunes(engine)).toEqual([]); // 'cached' times nothing
    const labels = await checkProduct(engine, spec);
    expect(labels.map((l) => l.replace(/ .*/, ''))).toEqual(['matmul_TN_split3', 'matmul_TN_split_reduce']);
    const off = await engineWith('off');
    await loadTuning(off);
    expect(tunedTiling(off, spec)).toBeUndefined();
    expect(await checkProduct(off, spec)).toHaveLength(1);
  });

  it('an executor tunes its plans before training and ends the epoch where an untuned one does', async () => {
    const store = recordingStore();
    registerMatmulTuneStore(store);
    const build = (): Graph => {
      const g = new Graph();
      let x = g.input('x', 8);
      const layers: [number, number][] = [
        [8, 130],
        [130, 10],
      ];
      for (const [i, [a, b]] of layers.entries()) {
        const lim = Math.sqrt(6 / (a + b));
        const w = g.param(`d${i}/kernel`, [a, b], uniformF32(a * b, -lim, lim, 70 + i));
        const bias = g.param(`d${i}/bias`, [b], new Float32Array(b));
        x = ops.dense(g, `d${i}`, x, w, bias, { name: i === 1 ? 'softmax' : 'relu' });
      }
      g.loss(x, 'categorical_crossentropy', 'sparse');
      g.metric(0, 'sparse');
      return g;
    };
    const train = async (engine: Engine): Promise<{ loss: number; weights: Float32Array[] }> => {
      const rows = 260;
      const data = new GpuData(engine, {
        inputs: [{ data: uniformF32(rows * 8, -1, 1, 80), width: 8 }],
        targets: [{ data: Uint8Array.from(uniformF32(rows, 0, 9.99, 81), Math.floor), width: 1 }],
      });
      const t = new Executor(engine, build(), { spec: { kind: 'adam' }, learningRate: 1e-2 });
      const logs = await t.trainEpoch(data, { batchSize: 130, shuffle: false });
      const weights = await t.readWeights();
      t.dispose();
      data.dispose();
      return { loss: logs.loss, weights };
    };
    const tuned = await engineWith('on', 'nvidia');
    const plain = await engineWith('off', 'nvidia');
    const a = await train(tuned);
    const b = await train(plain);
    // Every tiled product of the step has a choice: both forwards, d1's dW (d0's has 8 rows,
    // the thin kernel's) and d1's dX (the input needs none).
    expect(Object.keys(tunedChoices(tuned)).sort()).toEqual(
      ['NN 130x130x8', 'NN 130x10x130', 'TN 130x10x130', 'NT 130x130x10'].sort(),
    );
    expect(pendingTunes(tuned)).toEqual([]);
    expect(store.saves).toEqual([tuneDeviceKey(tuned)]);
    expect(a.loss).toBeCloseTo(b.loss, 5);
    for (const [i, w] of a.weights.entries()) {
      const ref = b.weights[i] ?? new Float32Array(0);
      expect(w.reduce((m, v, j) => Math.max(m, Math.abs(v - (ref[j] ?? NaN))), 0)).toBeLessThan(1e-5);
    }
  });

  it('rounds run one at a time, inside a profile() too, and a cache that cannot be written fails nothing', async () => {
    const failing: MatmulTuneStore = {
      where: 'failing',
      load: () => Promise.reject(new Error('cannot read')),
      save: () => Promise.reject(new Error('cannot write')),
    };
    registerMatmulTuneStore(failing);
    const engine = await engineWith('on', 'nvidia');
    tunedTiling(engine, spec);
    tunedTiling(engine, { m: 40, n: 64, k: 96, transA: true });
    // Two rounds at once share the products: each is tuned once.
    const [first, second] = await Promise.all([tunePending(engine), tunePending(engine)]);
    expect([...first.tuned, ...second.tuned].map((r) => r.key).sort()).toEqual([
      'TN 130x40x200',
      'TN 40x64x96',
    ]);
    // A user's profile() around training: the tuner times by the wall clock instead.
    tunedTiling(engine, { m: 50, n: 64, k: 96, transA: true });
    const p = await profile(engine, () => tunePending(engine));
    expect(p.result.tuned.map((r) => r.key)).toEqual(['TN 50x64x96']);
    expect(p.result.tuned[0]?.timings.length).toBeGreaterThan(1);
  });

  it("Node's store: one JSON file under the cache folder, written whole; a broken file reads as none", async () => {
    expect(matmulTuneFile({ WEBGPU_MLP_CACHE_DIR: '/c' })).toBe('/c/matmul-tuning.json');
    expect(matmulTuneFile({ XDG_CACHE_HOME: '/x' })).toBe('/x/webgpu-mlp/matmul-tuning.json');
    expect(matmulTuneFile({})).toMatch(/\/\.cache\/webgpu-mlp\/matmul-tuning\.json$/);
    const file = join(mkdtempSync(join(tmpdir(), 'tune-')), 'sub', 'matmul-tuning.json');
    const s = nodeMatmulTuneStore(file);
    expect(await s.load('dev')).toBeUndefined();
    const t: MatmulTiling = { wgX: 8, wgY: 8, bm: 2, bn: 2, tk: 8, pad: false };
    await s.save('dev', { 'NN 1x2x3': t });
    await s.save('other', { 'TN 4x5x6': t });
    expect(await s.load('dev')).toEqual({ 'NN 1x2x3': t });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      dev: { 'NN 1x2x3': t },
      other: { 'TN 4x5x6': t },
    });
    writeFileSync(file, '{ not json');
    expect(await s.load('dev')).toBeUndefined();
  });

  it('initEngine refuses a tune mode it does not know; the profile says its mode', async () => {
    await expect(initEngine({ adapter: 'software', log: false, tune: 'auto' as 'on' })).rejects.toThrow(
      /tune must be one of off, cached, on, got auto/,
    );
    await expect(initEngine({ adapter: 'software', log: false, tuneBudgetMs: -1 })).rejects.toThrow(
      /tuneBudgetMs must be a number of ms >= 0, got -1/,
    );
    const e = await engineWith('on');
    expect(e.profile.tune).toBe('on');
    expect((await engineWith('cached', 'cpu')).profile.tune).toBe('cached');
  });
});
