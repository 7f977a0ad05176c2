/**
 * The harness itself: a deliberately wrong reference must be caught, with the index and
 * the values in the message; NaN must not match Inf, nor +Inf match -Inf.
 */
import { ops, tensor, type Engine } from '../../src/index.js';
import { binaryReference } from '../../src/kernels/elementwise.js';
import { expectClose, expectError, KernelMismatchError, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';

export const cases: KernelCase[] = [
  {
    name: 'harness: a deliberately wrong reference fails, naming the index and the values',
    async run(engine: Engine) {
      const a = uniformF32(100, -1, 1, 1);
      const b = uniformF32(100, -1, 1, 2);
      const c = await ops
        .add(tensor(a, [100], 'f32', { engine }), tensor(b, [100], 'f32', { engine }))
        .read();
      const right = binaryReference('add', a, [100], b, [100], [100]);
      expectClose(c, right, { atol: 0, rtol: 2.4e-7 }, 'right reference passes');
      const wrong = Float64Array.from(right);
      wrong[17] = (wrong[17] as number) + 1e-3;
      const err = await expectError(
        () => expectClose(c, wrong, { atol: 1e-5, rtol: 1e-5 }, 'add vs wrong reference'),
        KernelMismatchError,
        [/1 of 100 values differ/, /index 17: got /, new RegExp(`expected ${wrong[17]}`)],
        'wrong reference',
      );
      if (!err.message.includes(String(c[17])))
        throw new Error(`message lacks the GPU value: ${err.message}`);
      await expectError(
        () => expectClose([NaN], [Infinity], { atol: 1, rtol: 1 }, 'nan'),
        KernelMismatchError,
        [/NaN\/Inf mismatch/],
        'NaN vs Inf',
      );
      await expectError(
        () => expectClose([Infinity], [-Infinity], { atol: 1, rtol: 1 }, 'inf'),
        KernelMismatchError,
        [/got Infinity, expected -Infinity/],
        '+Inf vs -Inf',
      );
      await expectError(
        () => expectClose([1], [NaN], { atol: 1, rtol: 1 }, 'n'),
        KernelMismatchError,
        [/expected NaN/],
        'number vs NaN',
      );
    },
  },
];
