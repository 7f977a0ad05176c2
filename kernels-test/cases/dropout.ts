/**
 * Dropout against its exact TypeScript reference and against the statistics a fair coin
 * must obey.
 *
 * Tolerances:
 * - The mask is compared EXACTLY with dropoutMaskReference: both are integer functions of
 *   (seed, stream, step, index), so any difference is a bug, and exact equality on every
 *   adapter is what makes a seed reproducible across them.
 * - Outputs are compared EXACTLY with fround(x · fround(1/(1 − rate))): WGSL rounds an f32
 *   multiply correctly. Against the real-number x/(1 − rate) that is two roundings, so
 *   within rtol 2·2^-24 (1.2e-7).
 * - Statistical checks allow 5σ of the binomial count they test (two-sided, a false alarm
 *   about once in 1.7 million runs); the seeds are fixed, so a pass is reproducible.
 */
import type { Engine } from '../../src/index.js';
import {
  dropoutMaskReference,
  dropoutReference,
  dropoutThreshold,
  encodeDropout,
  encodeDropoutGrad,
  philox4x32,
  type DropoutSpec,
} from '../../src/kernels/dropout.js';
import { EXACT, expectClose, expectEqual, expectError, KernelMismatchError, uniformF32 } from '../harness.js';
import { CaseBuffers } from '../buffers.js';
import type { KernelCase } from './types.js';

/**
 * Runs the forward on x and returns y. `step` is the step (a one-word step buffer) or the
 * whole step buffer's words (spec.stepWord picks the word).
 */
async function forward(
  engine: Engine,
  spec: DropoutSpec,
  x: Float32Array,
  step: number | Uint32Array,
): Promise<Float32Array> {
  const bufs = new CaseBuffers(engine);
  try {
    const xb = bufs.data(x, 'dropout test x');
    const yb = bufs.empty(spec.n, 'dropout test y');
    encodeDropout(engine, spec, {
      x: xb,
      y: yb,
      step: bufs.data(typeof step === 'number' ? new Uint32Array([step]) : step, 'dropout test step'),
    });
    return await bufs.read(yb, spec.n, 'dropout test y');
  } finally {
    bufs.release();
  }
}

/** The GPU's keep mask at (seed, step): the forward of an all-ones input is nonzero exactly where kept. */
async function gpuMask(engine: Engine, spec: DropoutSpec, step: number | Uint32Array): Promise<Uint8Array> {
  const y = await forward(engine, spec, new Float32Array(spec.n).fill(1), step);
  return Uint8Array.from(y, (v) => (v !== 0 ? 1 : 0));
}

function countOnes(mask: Uint8Array): number {
  let c = 0;
  for (const m of mask) c += m;
  return c;
}

/** Requires a Binomial(trials, p) count to be within 5σ of its mean. */
function expectBinomial(count: number, trials: number, p: number, what: string): void {
  const mean = trials * p;
  const sigma = Math.sqrt(trials * p * (1 - p));
  const z = (count - mean) / sigma;
  if (!(Math.abs(z) <= 5)) {
    throw new KernelMismatchError(
      `${what}: ${count} of ${trials}, expected ${mean.toFixed(1)} ± 5·${sigma.toFixed(1)} (z = ${z.toFixed(2)})`,
    );
  }
}

function expectSameMask(actual: Uint8Array, expected: Uint8Array, what: string): void {
  expectEqual(actual.length, expected.length, `${what}: length`);
  let diff = 0;
  let first = -1;
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      diff++;
      if (first < 0) first = i;
    }
  }
  if (diff > 0) {
    throw new KernelMismatchError(
      `${what}: ${diff} of ${expected.length} mask bits differ, first at index ${first}`,
    );
  }
}

/** The probability that an element is kept: 1 − threshold / 2^24. */
const keepProbability = (rate: number): number => 1 - dropoutThreshold(rate) / 2 ** 24;

export const cases: KernelCase[] = [
  {
    name: "dropout: Philox-4x32-10 reference reproduces Random123's known-answer vectors",
    run() {
      // Random123 tests/kat_vectors: counter, key, expected output.
      const kat: [number[], number[], number[]][] = [
        [
          [0, 0, 0, 0],
          [0, 0],
          [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ],
        [
          [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
          [0xffffffff, 0xffffffff],
          [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ],
        [
          [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
          [0xa4093822, 0x299f31d0],
          [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ],
      ];
      for (const [counter, key, expected] of kat) {
        expectClose(philox4x32(counter, key), expected, EXACT, `philox4x32(${counter.join(',')})`);
      }
      return Promise.resolve();
    },
  },
  {
    name: 'dropout: the GPU mask equals dropoutMaskReference bit for bit (seeds, steps, ragged n)',
    async run(engine: Engine) {
      const runs: { seed: number; step: number; n: number; rate: number; stream?: number }[] = [
        { seed: 1234, step: 0, n: 100_003, rate: 0.5 },
        { seed: 0xffffffff, step: 0xfffffffe, n: 1027, rate: 0.1, stream: 0xffffffff },
        { seed: 0, step: 7, n: 5, rate: 0.9 },
        { seed: 42, step: 3, n: 1, rate: 0.3, stream: 5 },
        { seed: 0x9e3779b9, step: 123456, n: 4096, rate: 0.25 },
        { seed: 1234, step: 0, n: 10_001, rate: 0.5, stream: 1 },
      ];
      for (const [k, { seed, step, n, rate, stream }] of runs.entries()) {
        const what = `seed ${seed} step ${step} stream ${stream ?? 'default'} n ${n} rate ${rate}`;
        // Inputs away from 0, so the output is nonzero exactly where kept.
        const x = uniformF32(n, 0.5, 2, 900 + k);
        const y = await forward(engine, { n, rate, seed, stream }, x, step);
        const mask = dropoutMaskReference(seed, step, n, rate, stream);
        expectSameMask(
          Uint8Array.from(y, (v) => (v !== 0 ? 1 : 0)),
          mask,
          what,
        );
        expectClose(y, dropoutReference(x, mask, rate), EXACT, `${what}: values`);
      }
    },
  },
  {
    name: 'dropout: keep rate within 5σ for rates 0.1, 0.5, 0.9 over 100k elements, neighbours independent',
    async run(engine: Engine) {
      const n = 100_000;
      for (const [k, rate] of [0.1, 0.5, 0.9].entries()) {
        const spec = { n, rate, seed: 77 + k };
        const mask = await gpuMask(engine, spec, 5);
        const q = keepProbability(rate);
        expectBinomial(countOnes(mask), n, q, `rate ${rate}: kept`);
        // Disjoint neighbour pairs, inside one Philox output (i ≡ 0 mod 4, i + 1) and across
        // two calls (i ≡ 3 mod 4, i + 1): both kept with probability q² if independent.
        for (const offset of [0, 3]) {
          let both = 0;
          let pairs = 0;
          for (let i = offset; i + 1 < n; i += 4) {
            pairs++;
            both += (mask[i] ?? 0) & (mask[i + 1] ?? 0);
          }
          expectBinomial(
            both,
            pairs,
            q * q,
            `rate ${rate}: pairs (4k+${offset}, 4k+${offset + 1}) both kept`,
          );
        }
      }
    },
  },
  {
    name: 'dropout: the backward recomputes the forward mask exactly',
    async run(engine: Engine) {
      const n = 10_007;
      const spec = { n, rate: 0.4, seed: 31337 };
      const step = 11;
      const mask = await gpuMask(engine, spec, step);
      expectSameMask(mask, dropoutMaskReference(spec.seed, step, n, spec.rate), 'forward mask');
      const dy = uniformF32(n, -3, 3, 1001);
      const bufs = new CaseBuffers(engine);
      try {
        const dyb = bufs.data(dy, 'dropout test dy');
        const dxb = bufs.empty(n, 'dropout test dx');
        const stepb = bufs.data(new Uint32Array([step]), 'dropout test step');
        encodeDropoutGrad(engine, spec, { dy: dyb, dx: dxb, step: stepb });
        const dx = await bufs.read(dxb, n, 'dropout test dx');
        expectClose(
          dx,
          dropoutReference(dy, mask, spec.rate),
          EXACT,
          'dx = dy·mask·scale with the forward mask',
        );
      } finally {
        bufs.release();
      }
    },
  },
  {
    name: 'dropout: different steps and seeds give independent masks',
    async run(engine: Engine) {
      const n = 100_000;
      for (const rate of [0.5, 0.2]) {
        const q = keepProbability(rate);
        const agree = q * q + (1 - q) * (1 - q);
        const base = await gpuMask(engine, { n, rate, seed: 2024 }, 0);
        const nextStep = await gpuMask(engine, { n, rate, seed: 2024 }, 1);
        const nextSeed = await gpuMask(engine, { n, rate, seed: 2025 }, 0);
        for (const [other, what] of [
          [nextStep, 'step 0 vs step 1'],
          [nextSeed, 'seed 2024 vs seed 2025'],
        ] as const) {
          let same = 0;
          for (let i = 0; i < n; i++) same += base[i] === other[i] ? 1 : 0;
          expectBinomial(same, n, agree, `rate ${rate}, ${what}: agreeing elements`);
        }
      }
    },
  },
  {
    name: 'dropout: stream 0 and stepWord 0 (explicit or default) keep the counter (i/4, step, 0, 0)',
    async run(engine: Engine) {
      // Known answer: Random123's vector for counter (0, 0, 0, 0), key (0, 0) is the mask of
      // elements 0..3 at seed 0, step 0, stream 0.
      const kat = [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8];
      for (const rate of [0.5, 0.3, 0.7, 0.9]) {
        const expected = Uint8Array.from(kat, (w) => (w >>> 8 >= dropoutThreshold(rate) ? 1 : 0));
        const spec = { n: 4, rate, seed: 0 };
        expectSameMask(await gpuMask(engine, spec, 0), expected, `known answer, rate ${rate}`);
        const explicit = { ...spec, stream: 0, stepWord: 0 };
        expectSameMask(await gpuMask(engine, explicit, 0), expected, `known answer, explicit, rate ${rate}`);
      }
      // The counter (g, step, 0, 0) built here from philox4x32 directly, not through
      // dropoutMaskReference, against the GPU with the defaults and with them spelled out.
      const n = 5003;
      const seed = 0xdeadbeef;
      const step = 41;
      const rate = 0.35;
      const threshold = dropoutThreshold(rate);
      const old = new Uint8Array(n);
      for (let g = 0; g * 4 < n; g++) {
        const words = philox4x32([g, step, 0, 0], [seed, 0]);
        for (let j = 0; j < 4 && 4 * g + j < n; j++)
          old[4 * g + j] = (words[j] ?? 0) >>> 8 >= threshold ? 1 : 0;
      }
      expectSameMask(await gpuMask(engine, { n, rate, seed }, step), old, 'defaults');
      expectSameMask(
        await gpuMask(engine, { n, rate, seed, stream: 0, stepWord: 0 }, step),
        old,
        'explicit 0, 0',
      );
      expectSameMask(dropoutMaskReference(seed, step, n, rate), old, 'reference, default stream');
      expectSameMask(dropoutMaskReference(seed, step, n, rate, 0), old, 'reference, stream 0');
    },
  },
  {
    name: 'dropout: stepWord 1 reads the step from word 1 (an optimizer hyper buffer [lr, step, ...])',
    async run(engine: Engine) {
      const n = 4099;
      const rate = 0.5;
      const seed = 606;
      const step = 7;
      const hyper = new Uint32Array(4);
      new Float32Array(hyper.buffer)[0] = 1e-3; // lr in word 0, as src/kernels/optim.ts keeps it
      hyper[1] = step;
      const lrBits = hyper[0] ?? 0;
      const spec = { n, rate, seed, stepWord: 1 };
      const mask = await gpuMask(engine, spec, hyper);
      expectSameMask(mask, dropoutMaskReference(seed, step, n, rate), 'stepWord 1: the step-7 mask');
      // Not the mask of the lr bits read as a step (what word 0 would give).
      let differ = 0;
      const wrong = dropoutMaskReference(seed, lrBits, n, rate);
      for (let i = 0; i < n; i++) differ += mask[i] === wrong[i] ? 0 : 1;
      expectBinomial(differ, n, 0.5, 'stepWord 1 vs the lr bits as the step: differing elements');
      // The backward reads the same word.
      const dy = uniformF32(n, -3, 3, 1300);
      const bufs = new CaseBuffers(engine);
      try {
        const dxb = bufs.empty(n, 'dropout test dx');
        encodeDropoutGrad(engine, spec, {
          dy: bufs.data(dy, 'dropout test dy'),
          dx: dxb,
          step: bufs.data(hyper, 'dropout test hyper'),
        });
        const dx = await bufs.read(dxb, n, 'dropout test dx');
        expectClose(dx, dropoutReference(dy, mask, rate), EXACT, 'stepWord 1: backward');
      } finally {
        bufs.release();
      }
      // A larger word index works too.
      const words = new Uint32Array([0xffffffff, 1, 2, 3, 4, step]);
      expectSameMask(
        await gpuMask(engine, { ...spec, stepWord: 5 }, words),
        dropoutMaskReference(seed, step, n, rate),
        'stepWord 5',
      );
    },
  },
  {
    name: 'dropout: layers with the same seed, size and step but different streams draw independent masks',
    async run(engine: Engine) {
      const n = 100_000;
      for (const rate of [0.5, 0.2]) {
        const q = keepProbability(rate);
        const agree = q * q + (1 - q) * (1 - q);
        const seed = 2024;
        const step = 9;
        const masks = [];
        for (const stream of [0, 1, 2, 0x80000000]) {
          const mask = await gpuMask(engine, { n, rate, seed, stream }, step);
          expectSameMask(mask, dropoutMaskReference(seed, step, n, rate, stream), `stream ${stream}`);
          expectBinomial(countOnes(mask), n, q, `rate ${rate}, stream ${stream}: kept`);
          masks.push({ stream, mask });
        }
        for (let a = 0; a < masks.length; a++) {
          for (let b = a + 1; b < masks.length; b++) {
            const ma = masks[a];
            const mb = masks[b];
            if (!ma || !mb) continue;
            let same = 0;
            for (let i = 0; i < n; i++) same += ma.mask[i] === mb.mask[i] ? 1 : 0;
            expectBinomial(
              same,
              n,
              agree,
              `rate ${rate}, stream ${ma.stream} vs ${mb.stream}: agreeing elements`,
            );
          }
        }
      }
    },
  },
  {
    name: 'dropout: rate 0 is the identity, NaN and ±Inf included',
    async run(engine: Engine) {
      const x = uniformF32(1001, -5, 5, 1100);
      x.set([NaN, Infinity, -Infinity, 0, -0, 3e38], 100);
      const y = await forward(engine, { n: x.length, rate: 0, seed: 9 }, x, 4);
      expectClose(y, x, EXACT, 'rate 0');
    },
  },
  {
    name: 'dropout: kept values are x·fround(1/(1−rate)) rounded once; dropped ones are 0, even NaN',
    async run(engine: Engine) {
      const n = 4099;
      let nanDropped = 0;
      let nanKept = 0;
      for (const [k, rate] of [0.1, 1 / 3, 0.5, 0.9, 0.999].entries()) {
        const spec = { n, rate, seed: 5 + k };
        const x = uniformF32(n, -100, 100, 1200 + k);
        // No subnormals (WGSL may flush them) and no products past the f32 range.
        x.set([NaN, NaN, NaN, NaN, Infinity, -Infinity], 64);
        const y = await forward(engine, spec, x, 2);
        const mask = dropoutMaskReference(spec.seed, 2, n, rate);
        expectClose(y, dropoutReference(x, mask, rate), EXACT, `rate ${rate}: exact f32 product`);
        const exact = Float64Array.from(x, (v, i) => (mask[i] ? v / (1 - rate) : 0));
        expectClose(y, exact, { atol: 0, rtol: 2 ** -23 }, `rate ${rate}: against x/(1−rate)`);
        // A NaN input reads NaN where kept, 0 where dropped (checked above); make sure both
        // happened over the rates tried.
        for (let i = 64; i < 68; i++) {
          if (mask[i]) nanKept++;
          else nanDropped++;
        }
      }
      expectEqual(
        nanDropped > 0 && nanKept > 0,
        true,
        `NaN inputs both dropped (${nanDropped}) and kept (${nanKept})`,
      );
    },
  },
  {
    name: 'dropout: rate outside [0, 1), a non-u32 seed, or aliased buffers throw',
    async run(engine: Engine) {
      const bufs = new CaseBuffers(engine);
      try {
        const x = bufs.empty(8, 'dropout test x');
        const y = bufs.empty(8, 'dropout test y');
        const step = bufs.data(new Uint32Array([0]), 'dropout test step');
        for (const rate of [1, 1.5, -0.1, NaN]) {
          const spec = { n: 8, rate, seed: 1 };
          await expectError(
            () => encodeDropout(engine, spec, { x, y, step }),
            RangeError,
            [/rate/, /\[0, 1\)/],
            `rate ${rate}`,
          );
          await expectError(
            () => encodeDropoutGrad(engine, spec, { dy: x, dx: y, step }),
            RangeError,
            [/rate/],
            `grad rate ${rate}`,
          );
          await expectError(
            () => dropoutMaskReference(1, 0, 8, rate),
            RangeError,
            [/rate/],
            `reference rate ${rate}`,
          );
        }
        for (const seed of [-1, 2 ** 32, 0.5]) {
          await expectError(
            () => encodeDropout(engine, { n: 8, rate: 0.5, seed }, { x, y, step }),
            RangeError,
            [/seed/, /u32/],
            `seed ${seed}`,
          );
        }
        for (const stream of [-1, 2 ** 32, 0.5]) {
          await expectError(
            () => encodeDropout(engine, { n: 8, rate: 0.5, seed: 1, stream }, { x, y, step }),
            RangeError,
            [/stream/, /u32/],
            `stream ${stream}`,
          );
          await expectError(
            () => dropoutMaskReference(1, 0, 8, 0.5, stream),
            RangeError,
            [/stream/],
            `reference stream ${stream}`,
          );
        }
        for (const stepWord of [-1, 1.5]) {
          await expectError(
            () => encodeDropout(engine, { n: 8, rate: 0.5, seed: 1, stepWord }, { x, y, step }),
            RangeError,
            [/stepWord/],
            `stepWord ${stepWord}`,
          );
        }
        await expectError(
          () => encodeDropoutGrad(engine, { n: 8, rate: 0.5, seed: 1, stepWord: 1 }, { dy: x, dx: y, step }),
          RangeError,
          [/buffer step \("dropout test step"\) has 4 bytes/, /stepWord 1 \(u32\) needs 8/],
          'stepWord past the step buffer',
        );
        await expectError(
          () => encodeDropout(engine, { n: 8, rate: 0.5, seed: 1 }, { x, y: x, step }),
          RangeError,
          [/different buffers/],
          'x = y',
        );
        await expectError(
          () => encodeDropout(engine, { n: 9, rate: 0.5, seed: 1 }, { x, y, step }),
          RangeError,
          [/needs 36/],
          'n over the buffer',
        );
        await engine.flush(); // nothing invalid reached the device
      } finally {
        bufs.release();
      }
    },
  },
];
