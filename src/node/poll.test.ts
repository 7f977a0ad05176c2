/**
 * Waiting on Dawn without spinning a core (poll.ts), on the machine's software adapter: a
 * readback of products that keep the adapter busy for a while, awaited as the engine awaits
 * it and as Dawn alone would; Dawn's polls counted through spies on the global setImmediate
 * and setTimeout, a JavaScript setImmediate made during the wait seen to pass through, the
 * result checked against float64, and the globals put back.
 */
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMatmul } from '../kernels/matmul.js';
import { dawnSource, initEngine, type Engine } from './index.js';
import { politeWait, POLL_MS, SPIN_MS } from './poll.js';

type SetImmediate = typeof globalThis.setImmediate;
type SetTimeout = typeof globalThis.setTimeout;

/** A native function without a name: Dawn's poll, or a promise's resolve function. */
const isNativeUnnamed = (fn: unknown): boolean =>
  typeof fn === 'function' &&
  fn.name === '' &&
  Function.prototype.toString.call(fn).includes('[native code]');

/** Whether the spy was called straight from Node's immediate or timer queue (Dawn's poll). */
const fromNodeTimers = (): boolean => {
  const frames = new Error().stack?.split('\n') ?? [];
  const own = frames.findIndex((f) => f.includes('spyImmediate'));
  const next = frames.slice(own + 1).find((f) => !f.includes('spacedSetImmediate')) ?? '';
  return /\b(processImmediate|listOnTimeout)\b/.test(next);
};

describe('politeWait: Dawn polls at its pace for SPIN_MS, then every POLL_MS', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await initEngine({ adapter: 'software', log: false });
  });
  afterAll(() => engine.dispose());

  it('the software source hands it to the engine; a product read back polls far less and comes back exact', async () => {
    const found = await dawnSource.find('software');
    expect(found?.wait).toBe(politeWait);

    const n = 512;
    const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13 - 0.5);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const bufA = engine.createBufferWithData(a, usage, 'poll test A');
    const bufC = engine.createBuffer({ size: 4 * n * n, usage, label: 'poll test C' });
    const realImmediate = globalThis.setImmediate;
    const realTimeout = globalThis.setTimeout;
    const counts = { dawnImmediate: 0, dawnTimer: 0, probe: 0 };
    // A promise's resolve function: native and unnamed like Dawn's poll, but passed by JavaScript.
    let probe: unknown;
    function spyImmediate(fn: (...args: unknown[]) => void, ...args: unknown[]) {
      if (fn === probe) counts.probe++;
      else if (isNativeUnnamed(fn) && fromNodeTimers()) counts.dawnImmediate++;
      return realImmediate(fn, ...args);
    }
    const spyTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      if (isNativeUnnamed(fn)) counts.dawnTimer++;
      return realTimeout(fn, ms, ...args);
    }) as unknown as SetTimeout;
    const rounds = async (count: number, wait: 'engine' | 'dawn') => {
      for (let r = 0; r < count; r++) {
        encodeMatmul(engine, { m: n, n, k: n }, { a: bufA, b: bufA, c: bufC }, 'poll');
      }
      Object.assign(counts, { dawnImmediate: 0, dawnTimer: 0, probe: 0 });
      const t0 = performance.now();
      let out: Float32Array | undefined;
      if (wait === 'engine') {
        // After SPIN_MS, a JavaScript setImmediate of a native function (a resolve) must
        // still go straight through: it is not Dawn's poll.
        realTimeout(() => {
          void new Promise<void>((resolve) => {
            probe = resolve;
            setImmediate(resolve);
          });
        }, 3 * SPIN_MS);
        out = new Float32Array(await engine.read(bufC, 4 * n * n, 'poll test C'));
      } else {
        engine.submitPending();
        await engine.device.queue.onSubmittedWorkDone();
      }
      return { ...counts, ms: performance.now() - t0, out };
    };
    globalThis.setImmediate = spyImmediate as unknown as SetImmediate;
    globalThis.setTimeout = spyTimeout;
    try {
      await rounds(1, 'engine'); // compiles the pipeline
      // Enough products for a wait of at least 20 SPIN_MS, however fast the adapter.
      let count = 8;
      let spun = await rounds(count, 'dawn');
      while (spun.ms < 20 * SPIN_MS && count < 256) {
        count *= 2;
        spun = await rounds(count, 'dawn');
      }
      const got = await rounds(count, 'engine');
      expect(got.ms).toBeGreaterThan(10 * SPIN_MS);
      // Dawn alone polls back to back for the whole wait; spaced, it polls as often for
      // SPIN_MS only, then once a timer tick (at most one per POLL_MS, fewer on a busy host).
      expect(spun.dawnImmediate / spun.ms).toBeGreaterThan(5 * (got.dawnImmediate / got.ms));
      expect(got.dawnTimer).toBeGreaterThanOrEqual(1);
      expect(got.dawnTimer).toBeLessThanOrEqual((2 * got.ms) / POLL_MS + 1);
      expect(spun.dawnTimer).toBe(0);
      expect(isNativeUnnamed(probe)).toBe(true);
      expect(got.probe).toBe(1);
      // The globals are the ones it found.
      expect(globalThis.setImmediate).toBe(spyImmediate);
      // C = A·A, against float64 at a few places.
      for (const [i, j] of [
        [0, 0],
        [n - 1, n - 1],
        [137, 300],
      ] as const) {
        let ref = 0;
        for (let k = 0; k < n; k++) ref += (a[i * n + k] ?? NaN) * (a[k * n + j] ?? NaN);
        expect(Math.abs((got.out?.[i * n + j] ?? NaN) - ref)).toBeLessThan(1e-4);
      }
    } finally {
      globalThis.setImmediate = realImmediate;
      globalThis.setTimeout = realTimeout;
      engine.releaseBuffer(bufA);
      engine.releaseBuffer(bufC);
    }
  });

  it('overlapping waits share one window; the global comes back after the last, or a rejection', async () => {
    const real = globalThis.setImmediate;
    try {
      let resolveA: (v: number) => void = () => undefined;
      let resolveB: (v: number) => void = () => undefined;
      const a = politeWait(new Promise<number>((r) => (resolveA = r)));
      const swapped = globalThis.setImmediate;
      expect(swapped).not.toBe(real);
      // util.promisify works on it, as on the one it replaced.
      expect(await promisify(globalThis.setImmediate)('value')).toBe('value');
      const b = politeWait(new Promise<number>((r) => (resolveB = r)));
      expect(globalThis.setImmediate).toBe(swapped);
      resolveA(1);
      expect(await a).toBe(1);
      expect(globalThis.setImmediate).toBe(swapped);
      resolveB(2);
      expect(await b).toBe(2);
      expect(globalThis.setImmediate).toBe(real);
      await expect(politeWait(Promise.reject(new Error('lost')))).rejects.toThrow('lost');
      expect(globalThis.setImmediate).toBe(real);
    } finally {
      globalThis.setImmediate = real;
    }
  });
});
