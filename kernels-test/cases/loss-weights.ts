/**
 * The per-row sample weights applied after a loss head's kernel (encodeWeightRows): each
 * row's loss and gradient row multiplied in place by the row's weight, against the float64
 * reference. A product of two f32 values is correctly rounded, so the comparison is exact
 * (atol 0, rtol 2^-24 covers the reference's float64 product rounded once to f32); NaN
 * weights and NaN losses propagate; shapes over one workgroup and a 2-D folded grid.
 */
import type { Engine } from '../../src/index.js';
import { encodeWeightRows, weightRowsReference } from '../../src/kernels/losses.js';
import { CaseBuffers } from '../buffers.js';
import { expectClose, expectEqual, expectError, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';

const TOL = { atol: 0, rtol: 2 ** -24 };

async function check(
  engine: Engine,
  rows: number,
  cols: number,
  seed: number,
  edit?: (w: Float32Array, l: Float32Array) => void,
): Promise<void> {
  const b = new CaseBuffers(engine);
  try {
    const w = uniformF32(rows, 0, 3, seed);
    const loss = uniformF32(rows, 0, 5, seed + 1);
    const dpred = uniformF32(rows * cols, -1, 1, seed + 2);
    edit?.(w, loss);
    const wb = b.data(w, 'weights');
    const lb = b.data(loss, 'loss');
    const db = b.data(dpred, 'dpred');
    encodeWeightRows(engine, { rows, cols }, { weights: wb, loss: lb, dpred: db });
    const ref = weightRowsReference({ rows, cols }, w, loss, dpred);
    expectClose(await b.read(lb, rows, 'loss'), ref.loss, TOL, `loss [${rows}]`);
    expectClose(await b.read(db, rows * cols, 'dpred'), ref.dpred, TOL, `dpred [${rows}, ${cols}]`);
  } finally {
    b.release();
  }
}

export const cases: KernelCase[] = [
  {
    name: 'row losses and gradient rows times the row weight (1 to 10 columns, a partial workgroup)',
    async run(engine) {
      for (const [rows, cols] of [
        [1, 1],
        [7, 3],
        [33, 10],
        [300, 1],
      ] as const)
        await check(engine, rows, cols, rows * 31 + cols);
    },
  },
  {
    name: 'zero weights zero the row, NaN weights and NaN losses propagate',
    async run(engine) {
      await check(engine, 5, 4, 9, (w, l) => {
        w[0] = 0;
        w[2] = NaN;
        l[3] = NaN;
      });
    },
  },
  {
    name: 'over 65,535 workgroups of work (2-D folded grid)',
    async run(engine) {
      await check(engine, 70_000, 300, 5);
    },
  },
  {
    name: 'wrong buffer sizes are refused by name, nothing dispatched',
    async run(engine) {
      const b = new CaseBuffers(engine);
      try {
        const before = engine.stats().dispatches;
        await expectError(
          () =>
            encodeWeightRows(
              engine,
              { rows: 4, cols: 2 },
              { weights: b.empty(3, 'w'), loss: b.empty(4, 'l'), dpred: b.empty(8, 'd') },
            ),
          RangeError,
          [/weights/],
          'short weights',
        );
        expectEqual(engine.stats().dispatches, before, 'dispatches after a refused call');
      } finally {
        b.release();
      }
    },
  },
];
