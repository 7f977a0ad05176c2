/**
 * Waiting on Dawn without spinning a core (poll.ts), on the machine's software adapter: a
 * readback of a product that keeps the adapter busy for a while, awaited as the engine awaits
 * it and as Dawn alone would; Dawn's polls counted through a spy on the global setImmediate,
 * the result checked against float64, and the global put back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMatmul } from '../kernels/matmul.js';
import { dawnSource, initEngine, type Engine } from './index.js';
import { politeWait, POLL_MS, SPIN_MS } from './poll.js';

type SetImmediate = typeof globalThis.setImmediate;

/** Dawn's poll callback: native, unnamed (N-API), which no JavaScript function is. */
const isNativeUnnamed = (fn: unknown): boolean =>
  typeof fn === 'function' &&
  fn.name === '' &&
  Function.prototype.toString.call(fn).includes('[native code]');

describe('politeWait: Dawn polls at its pace for SPIN_MS, then every POLL_MS', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await initEngine({ adapter: 'software', log: false });
  });
  afterAll(() => engine.dispose());

  it('the software source hands it to the engine; a product read back polls far less and comes back exact', async () => {
    const found = await dawnSource.find('software');
    expect(found?.wait).toBe(politeWait);
    expect([SPIN_MS, POLL_MS]).toEqual([2, 1]);

    // 512×512·512×512 a few times over: tens of ms of a software adapter's time each round.
    const n = 512;
    const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13 - 0.5);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const bufA = engine.createBufferWithData(a, usage, 'poll test A');
    const bufC = engine.createBuffer({ size: 4 * n * n, usage, label: 'poll test C' });
    const real = globalThis.setImmediate;
    let dawnPolls = 0;
    let jsCalls = 0;
    const spy = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
      if (isNativeUnnamed(fn)) dawnPolls++;
      else jsCalls++;
      return real(fn, ...args);
    }) as unknown as SetImmediate;
    const rounds = async (wait: 'engine' | 'dawn') => {
      for (let r = 0; r < 8; r++)
        encodeMatmul(engine, { m: n, n, k: n }, { a: bufA, b: bufA, c: bufC }, 'poll');
      dawnPolls = 0;
      const t0 = performance.now();
      let out: Float32Array | undefined;
      if (wait === 'engine') {
        out = new Float32Array(await engine.read(bufC, 4 * n * n, 'poll test C'));
      } else {
        engine.submitPending();
        await engine.device.queue.onSubmittedWorkDone();
      }
      return { polls: dawnPolls, ms: performance.now() - t0, out };
    };
    globalThis.setImmediate = spy;
    try {
      const spun = await rounds('dawn');
      // A JavaScript callback queued during a wait goes through at once, as before.
      let ran = false;
      const polite = rounds('engine');
      setImmediate(() => {
        ran = true;
      });
      const got = await polite;
      expect(ran).toBe(true);
      expect(jsCalls).toBeGreaterThanOrEqual(1);
      // Dawn alone polls back to back for the whole wait; spaced, it polls for SPIN_MS and
      // then once a timer tick, whatever the wait lasts.
      expect(spun.ms).toBeGreaterThan(10 * SPIN_MS);
      expect(got.ms).toBeGreaterThan(10 * SPIN_MS);
      expect(spun.polls / spun.ms).toBeGreaterThan(5 * (got.polls / got.ms));
      // The global setImmediate is the one it found.
      expect(globalThis.setImmediate).toBe(spy);
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
      globalThis.setImmediate = real;
      engine.releaseBuffer(bufA);
      engine.releaseBuffer(bufC);
    }
  });

  it('overlapping waits share one window and put the global back after the last', async () => {
    const real = globalThis.setImmediate;
    let resolveA: (v: number) => void = () => undefined;
    let resolveB: (v: number) => void = () => undefined;
    const a = politeWait(new Promise<number>((r) => (resolveA = r)));
    const swapped = globalThis.setImmediate;
    expect(swapped).not.toBe(real);
    const b = politeWait(new Promise<number>((r) => (resolveB = r)));
    expect(globalThis.setImmediate).toBe(swapped);
    resolveA(1);
    expect(await a).toBe(1);
    expect(globalThis.setImmediate).toBe(swapped);
    resolveB(2);
    expect(await b).toBe(2);
    expect(globalThis.setImmediate).toBe(real);
    // A rejected wait puts it back too, and passes the error on.
    await expect(politeWait(Promise.reject(new Error('lost')))).rejects.toThrow('lost');
    expect(globalThis.setImmediate).toBe(real);
  });
});
