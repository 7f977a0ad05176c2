/**
 * The timestamp profiler: one timing per dispatch, labelled and in dispatch order, no more
 * than asked for, and the profiled function's result passed through. Times themselves are
 * not asserted (software adapters and quantized browser timestamps): only that each is a
 * finite, non-negative number and that they add up to the total.
 */
import { ops, profile, tensor, type Engine } from '../../src/index.js';
import { expectClose, expectEqual } from '../harness.js';
import type { KernelCase } from './types.js';

export const cases: KernelCase[] = [
  {
    name: 'profiler: one labelled, non-negative GPU time per dispatch, in order; the rest counted as untimed',
    async run(engine: Engine) {
      const x = tensor(new Float32Array(4096).fill(0.5), [64, 64], 'f32', { engine });
      const before = engine.stats().dispatches;
      const p = await profile(engine, () => {
        const y = ops.add(x, x); // binary_add
        const z = ops.exp(y); // unary_exp
        const w = ops.matmul(z, z);
        return [y, z, w];
      });
      const made = engine.stats().dispatches - before;
      expectEqual(p.dispatches.length, made, 'one timing per dispatch');
      expectEqual(p.untimed, 0, 'nothing untimed');
      expectEqual(p.dispatches[0]?.label, 'binary_add', 'first label');
      expectEqual(p.dispatches[1]?.label, 'unary_exp', 'second label');
      expectEqual(
        /matmul/.test(p.dispatches[2]?.label ?? ''),
        true,
        `third label is the matmul's (${p.dispatches[2]?.label})`,
      );
      for (const d of p.dispatches) {
        expectEqual(
          Number.isFinite(d.ms) && d.ms >= 0,
          true,
          `time of ${d.label} is a non-negative number (${d.ms})`,
        );
      }
      const sum = p.dispatches.reduce((s, d) => s + d.ms, 0);
      expectClose([p.totalMs], [sum], { atol: 1e-9, rtol: 1e-12 }, 'total is the sum');
      // The profiled work ran: its result is what the ops compute.
      const [, , w] = p.result;
      expectClose(
        (await w?.read())?.slice(0, 1) ?? [],
        [64 * Math.exp(1) ** 2],
        { atol: 0, rtol: 1e-5 },
        'matmul result',
      );

      const limited = await profile(engine, () => [ops.add(x, x), ops.add(x, x), ops.add(x, x)], {
        maxDispatches: 2,
      });
      expectEqual(limited.dispatches.length, 2, 'timed dispatches capped');
      expectEqual(limited.untimed, 1, 'the third is counted as untimed');
      for (const t of [x, ...p.result, ...limited.result]) t.dispose();
    },
  },
];
