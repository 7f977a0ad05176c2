/**
 * Plan-time autotuning of the tiled matmul (issue 21): for each distinct product of a plan
 * (transposes and shape: the epilogue does not change which geometry is fastest), a few
 * candidate tilings are timed on random operands and the fastest whose output agrees with
 * the default's is kept, per engine and in a cache per device.
 *
 * The engine's tune mode (initEngine({ tune }), in engine.profile.tune):
 *   'off'     no tuning, no cache: the profile's choice (the cpu profile's default).
 *   'cached'  choices from the cache are used; nothing new is timed (GPU profiles' default).
 *   'on'      products without a choice are noted while a plan compiles; the executor then
 *             times them (tunePending, within engine.profile.tuneBudgetMs: initEngine's
 *             tuneBudgetMs, 3 s by default; products left over wait for the next epoch),
 *             saves the choices, and compiles its plans again if a choice differs from the
 *             default.
 *
 * Candidates: the profile's own choice first, then 64×64 and 32×32 tiles at k-steps 8 and
 * 16, and 32×32 tiles with k split in 2, 4 or 8 where each chunk keeps 4 k-steps. Each is
 * timed with GPU timestamps (wall time where the adapter has none) over `reps` products;
 * then, fastest first, each is checked against the default's output until one agrees within
 * 2·γ_(k+1)·k (operands in [−1, 1]: any summation order stays within it); the default
 * always agrees with itself, so a tuned product is never slower than the default as
 * measured.
 *
 * The cache: a MatmulTuneStore keyed by the device (adapter vendor, architecture, device,
 * name, runtime and profile), one record of { product: tiling } each. Node registers a
 * file store (src/node/matmul-tune-store.ts); a browser uses IndexedDB; elsewhere it lives
 * in memory for the process.
 */
import type { Engine } from '../gpu/engine.js';
import { DeviceLostError } from '../gpu/errors.js';
import { profile } from '../gpu/profiler.js';
import { matmulWorkgroupBytes } from '../../shaders/matmul.js';
import {
  DEFAULT_TILING,
  encodeMatmul,
  matmulKernelFor,
  matmulTiling,
  type MatmulSpec,
  type MatmulTiling,
} from './matmul.js';
import { lookupTiling, matmulTuneKey, tuningOf } from './tune-table.js';

export { matmulTuneKey };

/** The tilings tuneMatmul times for `spec` on `engine`: the profile's choice first. */
export function matmulCandidates(engine: Engine, spec: MatmulSpec): MatmulTiling[] {
  const base = matmulTiling(spec, engine.profile);
  const wide = { ...DEFAULT_TILING, bm: spec.m <= 32 ? 1 : 2, bn: spec.n <= 32 ? 1 : 2 };
  const small = { ...DEFAULT_TILING, bm: 1, bn: 1 };
  const list: MatmulTiling[] = [base, wide, { ...wide, tk: 16 }, small, { ...small, tk: 16 }];
  for (const splitK of [2, 4, 8]) {
    if (Math.floor(spec.k / (4 * 16)) >= splitK) list.push({ ...small, tk: 16, splitK });
  }
  // Register prefetch of the next k-step (a GPU hides its loads' latency behind the products;
  // a CPU adapter, whose profile does not tune, would gain nothing).
  if (engine.profile.name !== 'cpu') {
    list.push({ ...base, prefetch: true }, { ...wide, tk: 16, prefetch: true });
  }
  const seen = new Set<string>();
  return list.filter((t) => {
    const key = JSON.stringify({
      ...t,
      splitK: (t.splitK ?? 1) > 1 ? t.splitK : 1,
      prefetch: t.prefetch ?? false,
    });
    if (seen.has(key)) return false;
    seen.add(key);
    return fits(engine, t);
  });
}

export interface MatmulTuneResult {
  key: string;
  /** The tiling kept. */
  chosen: MatmulTiling;
  /** Every candidate's time per product (ms), the default's first. */
  timings: { tiling: MatmulTiling; ms: number }[];
}

/** A deterministic fill in [−1, 1). */
function operand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 2 * (s / 2 ** 32) - 1;
  });
}

/**
 * Times every candidate of `spec` (its product only) and returns the fastest whose output
 * agrees with the default's. A spec the tiled kernel does not run on this engine (at most 8
 * rows; on a CPU adapter also the products matmulKernelFor gives the thin kernel) keeps the
 * default.
 */
export async function tuneMatmul(engine: Engine, spec: MatmulSpec, reps = 3): Promise<MatmulTuneResult> {
  const plain: MatmulSpec = {
    m: spec.m,
    n: spec.n,
    k: spec.k,
    transA: spec.transA ?? false,
    transB: spec.transB ?? false,
  };
  const key = matmulTuneKey(plain);
  const candidates =
    matmulKernelFor(plain, engine.profile) === 'tiled' ? matmulCandidates(engine, plain) : [];
  const base = candidates[0];
  if (!base) return { key, chosen: matmulTiling(plain, engine.profile), timings: [] };
  const { m, n, k } = plain;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const made: GPUBuffer[] = [];
  try {
    const a = engine.createBufferWithData(operand(m * k, 1), usage, 'tune A');
    made.push(a);
    const b = engine.createBufferWithData(operand(k * n, 2), usage, 'tune B');
    made.push(b);
    const c = engine.createBuffer({ size: 4 * m * n, usage, label: 'tune C' });
    made.push(c);
    const run = (t: MatmulTiling): void => encodeMatmul(engine, plain, { a, b, c }, 'tune', t);
    const timings: { tiling: MatmulTiling; ms: number }[] = [];
    for (const tiling of candidates) {
      try {
        timings.push({ tiling, ms: await timeProduct(engine, () => run(tiling), reps) });
      } catch (e) {
        if (e instanceof DeviceLostError) throw e;
        // A candidate this adapter refuses is no candidate (the default is checked below).
      }
    }
    // The default's output, then the candidates fastest first until one agrees with it. C is
    // filled with NaN before each run, so a candidate that leaves part of C unwritten fails.
    const nan = new Float32Array(m * n).fill(NaN);
    const output = async (t: MatmulTiling): Promise<Float32Array> => {
      engine.writeBuffer(c, 0, nan);
      run(t);
      return new Float32Array(await engine.read(c, 4 * m * n, 'tune C'));
    };
    const reference = await output(base);
    const u = 2 ** -24;
    const tolerance = ((2 * ((k + 1) * u)) / (1 - (k + 1) * u)) * k;
    let chosen = base;
    for (const { tiling } of [...timings].sort((x, y) => x.ms - y.ms)) {
      if (tiling === base) break;
      const got = await output(tiling);
      if (got.every((v, i) => Math.abs(v - (reference[i] ?? NaN)) <= tolerance)) {
        chosen = tiling;
        break;
      }
    }
    return { key, chosen, timings };
  } finally {
    for (const buf of made) engine.releaseBuffer(buf);
  }
}

/**
 * ms per product of `reps` runs of `product`: GPU timestamps where the adapter has them and
 * no other timing is running (a user's profile() around fit), else wall time to completion.
 */
async function timeProduct(engine: Engine, product: () => void, reps: number): Promise<number> {
  product(); // warm: the pipeline compiles
  await engine.flush();
  if (engine.features.has('timestamp-query') && !engine.isTiming) {
    const p = await profile(engine, () => {
      for (let r = 0; r < reps; r++) product();
    });
    return p.totalMs / reps;
  }
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) product();
  await engine.flush();
  return (performance.now() - t0) / reps;
}

// ------------------------------------------------------------------ per-engine choices

/**
 * The tuned tiling for `spec` on `engine`, if any (never in mode 'off', never for the thin
 * kernel's products). In mode 'on' a product without one is noted for tunePending.
 */
export function tunedTiling(engine: Engine, spec: MatmulSpec): MatmulTiling | undefined {
  return matmulKernelFor(spec, engine.profile) === 'tiled' ? lookupTiling(engine, spec) : undefined;
}

/** The choices of `engine` so far, { product: tiling } (for a report, or a test). */
export function tunedChoices(engine: Engine): Record<string, MatmulTiling> {
  return Object.fromEntries(tuningOf(engine).choices);
}

/** The products noted and not yet tuned. */
export function pendingTunes(engine: Engine): string[] {
  return [...tuningOf(engine).pending.keys()];
}

/**
 * Times the noted products (mode 'on'), at most until `budgetMs` has passed (the rest stay
 * noted for the next call; the budget is checked before each product, so a round can pass
 * it by one product's tuning), keeps the choices and saves them to the store (a failed save
 * is ignored: the next run tunes again). A product whose tuning fails keeps the default.
 * Rounds run one at a time per engine. `changed`: a choice differs from the profile's
 * default, so plans compiled before should be compiled again.
 */
export function tunePending(
  engine: Engine,
  budgetMs = engine.profile.tuneBudgetMs,
): Promise<{ tuned: MatmulTuneResult[]; changed: boolean }> {
  // One round at a time per engine (two models training on one engine share its products).
  const t = tuningOf(engine);
  const round = t.running.then(() => tuneRound(engine, budgetMs));
  t.running = round.then(
    () => undefined,
    () => undefined,
  );
  return round;
}

async function tuneRound(
  engine: Engine,
  budgetMs: number,
): Promise<{ tuned: MatmulTuneResult[]; changed: boolean }> {
  await loadTuning(engine);
  const t = tuningOf(engine);
  const start = performance.now();
  const tuned: MatmulTuneResult[] = [];
  let changed = false;
  for (const [key, spec] of [...t.pending]) {
    if (performance.now() - start >= budgetMs) break;
    t.pending.delete(key);
    let r: MatmulTuneResult;
    try {
      r = await tuneMatmul(engine, spec);
    } catch (e) {
      if (e instanceof DeviceLostError) throw e;
      // Tuning is an optimisation: a product it cannot time keeps the default.
      r = { key, chosen: matmulTiling(spec, engine.profile), timings: [] };
    }
    t.choices.set(key, r.chosen);
    tuned.push(r);
    if (JSON.stringify(r.chosen) !== JSON.stringify(matmulTiling(spec, engine.profile))) changed = true;
  }
  if (tuned.length > 0) {
    await store.save(tuneDeviceKey(engine), Object.fromEntries(t.choices)).catch(() => undefined);
  }
  return { tuned, changed };
}

// ------------------------------------------------------------------ the cache

/** Where tuned choices persist, by device. */
export interface MatmulTuneStore {
  /** For messages: a file, 'IndexedDB "webgpu-mlp-kernels"', 'memory'. */
  readonly where: string;
  load(device: string): Promise<unknown>;
  save(device: string, choices: Record<string, MatmulTiling>): Promise<void>;
}

/** The device a cache entry belongs to: the adapter as it describes itself, and the profile. */
export function tuneDeviceKey(engine: Engine): string {
  const a = engine.adapter;
  return [a.vendor, a.architecture, a.device, a.name, a.runtime, engine.profile.name].join('|');
}

function memoryStore(): MatmulTuneStore {
  const records = new Map<string, Record<string, MatmulTiling>>();
  return {
    where: 'memory',
    load: (device) => Promise.resolve(records.get(device)),
    save: (device, choices) => {
      records.set(device, { ...choices });
      return Promise.resolve();
    },
  };
}

/**
 * IndexedDB (database "webgpu-mlp-kernels", object store "matmul", a record per device).
 * Loading never creates the database (a site that never tuned gets none), and gives up
 * after LOAD_TIMEOUT_MS (a blocked or stuck open reads as no cache).
 */
function indexedDbStore(): MatmulTuneStore | undefined {
  let idb: Pick<IDBFactory, 'open'> | undefined;
  try {
    idb = (globalThis as { indexedDB?: Pick<IDBFactory, 'open'> }).indexedDB;
  } catch {
    return undefined; // a sandbox whose getter throws
  }
  if (!idb) return undefined;
  const factory = idb;
  const request = <T>(r: IDBRequest<T>): Promise<T> =>
    new Promise((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
    });
  const open = (create: boolean): Promise<IDBDatabase> => {
    const r = factory.open('webgpu-mlp-kernels', 1);
    r.onupgradeneeded = () => {
      if (!create) {
        r.transaction?.abort(); // no database yet: loading does not make one
        return;
      }
      if (!r.result.objectStoreNames.contains('matmul')) r.result.createObjectStore('matmul');
    };
    const opened = request(r);
    r.onblocked = () => undefined; // another tab's old version: wait, bounded below
    return opened;
  };
  const done = (tx: IDBTransaction): Promise<void> =>
    new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  return {
    where: 'IndexedDB "webgpu-mlp-kernels"',
    async load(device) {
      const read = (async (): Promise<unknown> => {
        const db = await open(false);
        try {
          const record: unknown = await request(
            db.transaction('matmul', 'readonly').objectStore('matmul').get(device),
          );
          return record;
        } finally {
          db.close();
        }
      })();
      const timeout = new Promise<undefined>((resolve) =>
        setTimeout(() => resolve(undefined), LOAD_TIMEOUT_MS),
      );
      return Promise.race([read, timeout]);
    },
    async save(device, choices) {
      const db = await open(true);
      try {
        const tx = db.transaction('matmul', 'readwrite');
        tx.objectStore('matmul').put(choices, device);
        await done(tx);
      } finally {
        db.close();
      }
    },
  };
}

/** How long a browser's cache read may take before it counts as no cache. */
const LOAD_TIMEOUT_MS = 2000;

let store: MatmulTuneStore = indexedDbStore() ?? memoryStore();

/** Sets where choices persist (the Node entry registers its file store); gives the previous one. */
export function registerMatmulTuneStore(next: MatmulTuneStore | undefined): MatmulTuneStore {
  const before = store;
  store = next ?? memoryStore();
  return before;
}

/** A tiling read from a cache, or undefined when it is not one (a cache edited by hand, an old one). */
function asTiling(x: unknown): MatmulTiling | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const t = x as Record<string, unknown>;
  const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
  if (!['wgX', 'wgY', 'bm', 'bn', 'tk'].every((k) => count(t[k])) || typeof t.pad !== 'boolean')
    return undefined;
  if ((t.tk as number) % 4 !== 0 || (t.splitK !== undefined && !count(t.splitK))) return undefined;
  if (t.prefetch !== undefined && typeof t.prefetch !== 'boolean') return undefined;
  const tiling: MatmulTiling = {
    wgX: t.wgX as number,
    wgY: t.wgY as number,
    bm: t.bm as number,
    bn: t.bn as number,
    tk: t.tk as number,
    pad: t.pad,
  };
  return {
    ...tiling,
    ...(t.splitK !== undefined ? { splitK: t.splitK } : {}),
    ...(t.prefetch === true ? { prefetch: true } : {}),
  };
}

/** The tiling's threads and workgroup memory within the engine's limits (for either transpose). */
function fits(engine: Engine, t: MatmulTiling): boolean {
  const l = engine.limits;
  const bytes = Math.max(matmulWorkgroupBytes(t, false), matmulWorkgroupBytes(t, true));
  return t.wgX * t.wgY <= l.maxComputeInvocationsPerWorkgroup && bytes <= l.maxComputeWorkgroupStorageSize;
}

/**
 * Reads the device's cached choices into the engine, once (modes 'cached' and 'on'). A
 * cache that cannot be read, or entries that are not tilings, are skipped: tuning is an
 * optimisation, never a reason to fail.
 */
export function loadTuning(engine: Engine): Promise<void> {
  if (engine.profile.tune === 'off') return Promise.resolve();
  const t = tuningOf(engine);
  t.loaded ??= store
    .load(tuneDeviceKey(engine))
    .then((record) => {
      if (typeof record !== 'object' || record === null) return;
      for (const [key, value] of Object.entries(record)) {
        const tiling = asTiling(value);
        if (tiling && fits(engine, tiling) && !t.choices.has(key)) t.choices.set(key, tiling);
      }
    })
    .catch(() => undefined);
  return t.loaded;
}
