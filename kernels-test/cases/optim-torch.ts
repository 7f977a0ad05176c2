/**
 * The torch_* kinds of the fused optimizer update (PyTorch 1.13's SGD, Adam / AdamW and
 * RMSprop rules) against PyTorch itself: test/fixtures/torch.json `optimizers`, written by
 * test/fixtures/make_torch.py (11 runs, 5 step() calls each on a weight [3, 2] and a bias [2]
 * from the same initial values and gradients), and against the float64 reference
 * (optimizerStepReference).
 *
 * Tolerances (parameters and gradients O(1), |w| ≤ 1.5; step sizes ≤ 0.2; 5 steps):
 * - TOL_TORCH_REF (atol 3e-7, rtol 1e-7), float64 reference vs PyTorch: PyTorch computes in
 *   f32 with double scalars rounded to f32, so each step rounds w once (half an ULP of 1.5:
 *   6e-8) and its increment a few times (mul, add, sqrt, div: ≤ 4 half-ULPs of ≤ 0.2, 5e-8):
 *   ≤ 1.1e-7 a step if nothing cancelled; the momentum and moment buffers carry their
 *   rounding forward, but shrunk by μ or β < 1. Measured: 1.6e-7 at most (Adam AMSGrad).
 *   The reference runs with the f32 learning rate the GPU reads (0.1 vs f32(0.1): 1.5e-8
 *   relative on a displacement ≤ 0.5, under 1e-8).
 * - TOL_TORCH_GPU (atol 6e-7, rtol 1e-6), GPU vs PyTorch: both are f32 trajectories with the
 *   error above, in either direction (2 × 3e-7), and WGSL's sqrt and division may be 2.5 ULP
 *   off where PyTorch's are correctly rounded; rtol covers |w| up to 1.5 for values far
 *   from zero. An element near zero (RMSprop's −0.0079 after 4 steps) is held by atol alone. Measured on llvmpipe
 *   (Node) over the 11 runs: 1.8e-7 at most (AdamW, whose w·(1 − lr·wd) PyTorch rounds
 *   differently), under 6e-8 for the others.
 * - GPU vs float64 reference: TOL_PARAMS (atol 1e-6, rtol 1e-6), as kernels-test/cases/optim.ts
 *   derives it for the same magnitudes; TOL_STATE (atol 2e-6, rtol 1e-5) is that file's
 *   state tolerance with atol × 10: RMSprop's momentum buffer sums g / (√sq + ε), up to
 *   1/√(1 − α) = 10 times the gradient at α 0.99, so its absolute rounding is 10 times an
 *   O(1) state's where its terms cancel (seen: 5.7e-7 on llvmpipe at a buffer of −0.012).
 */
import fixture from '../../test/fixtures/torch.json';
import type { Engine } from '../../src/index.js';
import {
  createOptimizerHyper,
  encodeOptimizerAdvance,
  encodeOptimizerUpdate,
  initialOptimizerHyper,
  optimizerStateNames,
  optimizerStateSlots,
  planArena,
  readOptimizerHyper,
  resolveOptimizerSpec,
  type ArenaSegment,
  type OptimizerHyper,
  type OptimizerSpec,
  type TorchOptimizerSpec,
} from '../../src/kernels/optim.js';
import {
  optimizerAdvanceReference,
  optimizerFlagReference,
  optimizerStepReference,
} from '../../src/kernels/optim-reference.js';
import { BAD_WHAT, STATUS, STATUS_WORDS } from '../../src/kernels/step.js';
import { EXACT, expectClose, expectEqual, expectError, rng, type Tolerance } from '../harness.js';
import type { KernelCase } from './types.js';

const TOL_TORCH_REF: Tolerance = { atol: 3e-7, rtol: 1e-7 };
const TOL_TORCH_GPU: Tolerance = { atol: 6e-7, rtol: 1e-6 };
const TOL_PARAMS: Tolerance = { atol: 1e-6, rtol: 1e-6 };
const TOL_STATE: Tolerance = { atol: 2e-6, rtol: 1e-5 };

const F = fixture.optimizers;

interface TorchRun {
  optimizer: string;
  kwargs: Record<string, number | boolean | number[]>;
  defaults: Record<string, number | boolean | number[]>;
  steps: { weight: number[][]; bias: number[] }[];
}

const RUNS = F.runs as unknown as TorchRun[];

/** weight [3, 2] (6 values, row-major as PyTorch stores it) at 0, bias [2] at 64. */
const LAYOUT = planArena([{ length: 6 }, { length: 2 }]);

/** Read at call time: GPUBufferUsage exists only once WebGPU is set up. */
function storage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** A weight and a bias as one arena (zero padding). */
function toArena(v: { weight: number[][]; bias: number[] }): Float32Array {
  const [w, b] = LAYOUT.segments as [ArenaSegment, ArenaSegment];
  const a = new Float32Array(LAYOUT.totalLength);
  a.set(v.weight.flat(), w.offset);
  a.set(v.bias, b.offset);
  return a;
}

/** The segment elements of an arena, weight then bias (what the fixture lists). */
function live(a: ArrayLike<number>): number[] {
  return LAYOUT.segments.flatMap((s) =>
    Array.from({ length: s.length }, (_, j) => a[s.offset + j] as number),
  );
}

/** PyTorch's constructor keywords as a torch_* spec, the learning rate apart; unknown keys refused. */
function specOf(run: TorchRun): { spec: TorchOptimizerSpec; lr: number } {
  const { lr, ...k } = run.kwargs;
  const known = [
    'momentum',
    'dampening',
    'nesterov',
    'weight_decay',
    'betas',
    'eps',
    'amsgrad',
    'alpha',
    'centered',
  ];
  const unknown = Object.keys(k).filter((key) => !known.includes(key));
  if (unknown.length > 0 || typeof lr !== 'number') {
    throw new Error(
      `fixture run ${run.optimizer}: keywords ${unknown.join(', ')} (or lr ${String(lr)}) not mapped`,
    );
  }
  const n = (key: string): number | undefined => k[key] as number | undefined;
  const b = (key: string): boolean | undefined => k[key] as boolean | undefined;
  const betas = k.betas as number[] | undefined;
  switch (run.optimizer) {
    case 'SGD':
      return {
        lr,
        spec: {
          kind: 'torch_sgd',
          momentum: n('momentum'),
          dampening: n('dampening'),
          nesterov: b('nesterov'),
          weightDecay: n('weight_decay'),
        },
      };
    case 'Adam':
    case 'AdamW':
      return {
        lr,
        spec: {
          kind: 'torch_adam',
          beta1: betas?.[0],
          beta2: betas?.[1],
          epsilon: n('eps'),
          amsgrad: b('amsgrad'),
          weightDecay: n('weight_decay'),
          decoupled: run.optimizer === 'AdamW',
        },
      };
    case 'RMSprop':
      return {
        lr,
        spec: {
          kind: 'torch_rmsprop',
          alpha: n('alpha'),
          epsilon: n('eps'),
          momentum: n('momentum'),
          centered: b('centered'),
          weightDecay: n('weight_decay'),
        },
      };
    default:
      throw new Error(`fixture optimizer ${run.optimizer} not mapped`);
  }
}

/** The resolved spec in PyTorch's keywords, to hold against `defaults` (the optimizer's param group). */
function asTorchDefaults(spec: TorchOptimizerSpec): Record<string, number | boolean | number[]> {
  const o = resolveOptimizerSpec(spec);
  switch (o.kind) {
    case 'torch_sgd':
      return {
        momentum: o.momentum,
        dampening: o.dampening,
        nesterov: o.nesterov,
        weight_decay: o.coupledDecay,
      };
    case 'torch_adam':
      return {
        betas: [o.beta1, o.beta2],
        eps: o.epsilon,
        amsgrad: o.amsgrad,
        weight_decay: o.coupledDecay || (o.weightDecay ?? 0),
      };
    case 'torch_rmsprop':
      return {
        alpha: o.alpha,
        eps: o.epsilon,
        momentum: o.momentum,
        centered: o.centered,
        weight_decay: o.coupledDecay,
      };
    default:
      throw new Error(`${o.kind} is not a torch kind`);
  }
}

function label(run: TorchRun): string {
  return `${run.optimizer}(${JSON.stringify(run.kwargs).replace(/[{}"]/g, '')})`;
}

async function readF32(engine: Engine, buffer: GPUBuffer, n: number, what: string): Promise<Float32Array> {
  return new Float32Array(await engine.read(buffer, n * 4, what));
}

const fixtureCases: KernelCase[] = RUNS.map((run) => ({
  name: `optim-torch ${label(run)}: 5 steps of a weight [3, 2] and bias [2] against PyTorch 1.13 and float64`,
  async run(engine: Engine) {
    const { spec, lr } = specOf(run);
    const { segments, totalLength: total } = LAYOUT;
    const what0 = label(run);
    // PyTorch's defaults, as its optimizer reported them.
    for (const [key, want] of Object.entries(asTorchDefaults(spec))) {
      expectEqual(JSON.stringify(want), JSON.stringify(run.defaults[key]), `${what0}: default ${key}`);
    }
    const p0 = toArena(F.initial);
    const params = engine.createBufferWithData(p0, storage(), 'optim-torch params');
    const slots = optimizerStateSlots(spec);
    const state = Array.from({ length: slots }, (_, k) =>
      engine.createBufferWithData(new Float32Array(total), storage(), `optim-torch state ${k}`),
    );
    const hyper = createOptimizerHyper(engine, spec, lr);
    const refParams = Float64Array.from(p0);
    const refState = Array.from({ length: slots }, () => new Float64Array(total));
    let refHyper: OptimizerHyper = initialOptimizerHyper(lr);
    const names = optimizerStateNames(spec);
    for (const [s, expected] of run.steps.entries()) {
      const what = `${what0} step ${s + 1}`;
      const g = toArena(F.grads[s] as { weight: number[][]; bias: number[] });
      const grads = engine.createBufferWithData(g, storage(), 'optim-torch grads');
      encodeOptimizerAdvance(engine, spec, hyper);
      const before = engine.stats().dispatches;
      encodeOptimizerUpdate(engine, spec, segments, { params, grads, state, hyper }, total);
      expectEqual(engine.stats().dispatches - before, 1, `${what}: dispatches of the update`);
      engine.releaseBuffer(grads);
      refHyper = optimizerAdvanceReference(spec, refHyper);
      optimizerStepReference(spec, segments, refParams, g, refState, refHyper);

      const torch = [...expected.weight.flat(), ...expected.bias];
      const gpuAll = await readF32(engine, params, total, 'optim-torch params');
      const gpu = live(gpuAll);
      const ref = live(refParams);
      expectClose(ref, torch, TOL_TORCH_REF, `${what}: float64 reference vs PyTorch`);
      expectClose(gpu, torch, TOL_TORCH_GPU, `${what}: GPU vs PyTorch`);
      expectClose(gpu, ref, TOL_PARAMS, `${what}: GPU vs float64 reference`);
      for (const [k, buf] of state.entries()) {
        const got = live(await readF32(engine, buf, total, 'optim-torch state'));
        expectClose(got, live(refState[k] ?? []), TOL_STATE, `${what}: state ${names[k] ?? k}`);
      }
      // Padding stays zero.
      const pad = [...gpuAll.keys()].filter(
        (i) => !segments.some((x) => i >= x.offset && i < x.offset + x.length),
      );
      expectClose(
        pad.map((i) => gpuAll[i] ?? NaN),
        new Float64Array(pad.length),
        EXACT,
        `${what}: padding`,
      );
    }
    const h = await readOptimizerHyper(engine, hyper);
    expectEqual(h.step, 5, `${what0}: step read from the GPU`);
    engine.releaseBuffer(params);
    for (const b of state) engine.releaseBuffer(b);
    engine.releaseBuffer(hyper);
  },
}));

/** Variants beyond the fixture's, checked against the float64 reference only. */
const VARIANTS: { what: string; spec: TorchOptimizerSpec; lr: number }[] = [
  {
    what: 'sgd nesterov weight decay',
    spec: { kind: 'torch_sgd', momentum: 0.5, nesterov: true, weightDecay: 0.1 },
    lr: 0.05,
  },
  {
    what: 'sgd dampening 0.5 weight decay',
    spec: { kind: 'torch_sgd', momentum: 0.8, dampening: 0.5, weightDecay: 0.05 },
    lr: 0.05,
  },
  {
    what: 'adam amsgrad betas eps 1e-3',
    spec: { kind: 'torch_adam', amsgrad: true, beta1: 0.8, beta2: 0.99, epsilon: 1e-3 },
    lr: 0.01,
  },
  { what: 'adam beta1 0 eps 0', spec: { kind: 'torch_adam', beta1: 0, epsilon: 0 }, lr: 0.01 },
  {
    what: 'adamw amsgrad weight decay 0.5',
    spec: { kind: 'torch_adam', decoupled: true, amsgrad: true, weightDecay: 0.5 },
    lr: 0.02,
  },
  {
    what: 'rmsprop centered weight decay',
    spec: { kind: 'torch_rmsprop', centered: true, weightDecay: 0.1, alpha: 0.9 },
    lr: 0.01,
  },
  { what: 'rmsprop momentum', spec: { kind: 'torch_rmsprop', momentum: 0.5, epsilon: 1e-4 }, lr: 0.01 },
];

/** Three segments of odd lengths, values in [-1, 1) (seeded), NaN gradients in the padding. */
const BIG = planArena([
  { length: 7, l1: 0, l2: 0 },
  { length: 300, l1: 0, l2: 0.05 },
  { length: 1, l1: 0.02, l2: 0 },
]);

function seeded(seed: number, fill: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(BIG.totalLength).fill(fill);
  for (const seg of BIG.segments)
    for (let i = seg.offset; i < seg.offset + seg.length; i++) a[i] = 2 * r() - 1;
  return a;
}

const variantCases: KernelCase[] = [
  {
    name: 'optim-torch variants (dampening, Nesterov, AMSGrad, β1 = 0, ε = 0, AdamW, RMSprop): 5 steps on 3 segments against float64',
    async run(engine: Engine) {
      const { segments, totalLength: total } = BIG;
      for (const { what, spec, lr } of VARIANTS) {
        const p0 = seeded(1, 0);
        const params = engine.createBufferWithData(p0, storage(), 'optim-torch params');
        const slots = optimizerStateSlots(spec);
        const state = Array.from({ length: slots }, () =>
          engine.createBufferWithData(new Float32Array(total), storage(), 'optim-torch state'),
        );
        const hyper = createOptimizerHyper(engine, spec, lr);
        const refParams = Float64Array.from(p0);
        const refState = Array.from({ length: slots }, () => new Float64Array(total));
        let refHyper = initialOptimizerHyper(lr);
        for (let step = 0; step < 5; step++) {
          const g = seeded(100 + step, NaN);
          const grads = engine.createBufferWithData(g, storage(), 'optim-torch grads');
          encodeOptimizerAdvance(engine, spec, hyper);
          encodeOptimizerUpdate(engine, spec, segments, { params, grads, state, hyper }, total);
          engine.releaseBuffer(grads);
          refHyper = optimizerAdvanceReference(spec, refHyper);
          optimizerStepReference(spec, segments, refParams, g, refState, refHyper);
        }
        const got = await readF32(engine, params, total, 'optim-torch params');
        expectClose(got, refParams, TOL_PARAMS, `${what}: params after 5 steps`);
        for (const [k, buf] of state.entries()) {
          const s = await readF32(engine, buf, total, 'optim-torch state');
          expectClose(s, refState[k] ?? [], TOL_STATE, `${what}: state ${k} after 5 steps`);
        }
        engine.releaseBuffer(params);
        for (const b of state) engine.releaseBuffer(b);
        engine.releaseBuffer(hyper);
      }
    },
  },
  {
    name: 'optim-torch watched: an overflowing g² records the step; a NaN gradient makes only its parameter NaN',
    async run(engine: Engine) {
      const { segments, totalLength: total } = BIG;
      const overflowAt = 64 + 10;
      const nanAt = 64 + 20;
      for (const spec of [
        { kind: 'torch_sgd', momentum: 0.9 },
        { kind: 'torch_adam' },
        { kind: 'torch_rmsprop', centered: true, momentum: 0.5 },
      ] as TorchOptimizerSpec[]) {
        // sgd: lr·g overflows at lr 4; Adam and RMSprop overflow in g² whatever the rate.
        const lr = spec.kind === 'torch_sgd' ? 4 : 0.01;
        const p0 = seeded(3, 0);
        const params = engine.createBufferWithData(p0, storage(), 'optim-torch params');
        const state = Array.from({ length: optimizerStateSlots(spec) }, () =>
          engine.createBufferWithData(new Float32Array(total), storage(), 'optim-torch state'),
        );
        const hyper = createOptimizerHyper(engine, spec, lr);
        const words = new Uint32Array(STATUS_WORDS);
        words[STATUS.STEPS] = 9;
        const status = engine.createBufferWithData(words, storage(), 'optim-torch status');
        const g = seeded(4, NaN);
        g[overflowAt] = 3e38;
        g[nanAt] = NaN;
        const grads = engine.createBufferWithData(g, storage(), 'optim-torch grads');
        encodeOptimizerAdvance(engine, spec, hyper);
        encodeOptimizerUpdate(engine, spec, segments, { params, grads, state, hyper, status }, total);
        engine.releaseBuffer(grads);
        const got = new Uint32Array(await engine.read(status, STATUS_WORDS * 4, 'optim-torch status'));
        const want = Uint32Array.from(words);
        optimizerFlagReference(want, true);
        expectEqual(want[STATUS.BAD_STEP], 10, `${spec.kind}: the reference's bad step`);
        for (const [name, k] of Object.entries(STATUS))
          expectEqual(got[k], want[k], `${spec.kind}: status ${name}`);
        expectEqual(
          (got[STATUS.BAD_WHAT] ?? 0) & BAD_WHAT.WRITE,
          BAD_WHAT.WRITE,
          `${spec.kind}: the write bit`,
        );
        const w = await readF32(engine, params, total, 'optim-torch params');
        const nans = [...w.keys()].filter((i) => Number.isNaN(w[i]));
        // Centered RMSprop's √(sq − ḡ²) is √(Inf − Inf) where g² overflows: NaN, as in PyTorch.
        const wantNaN = spec.kind === 'torch_rmsprop' ? [overflowAt, nanAt] : [nanAt];
        expectEqual(nans.join(','), wantNaN.join(','), `${spec.kind}: NaN parameters`);
        // Everything else against the reference (where the float64 g² does not overflow).
        const refParams = Float64Array.from(p0);
        const refState = state.map(() => new Float64Array(total));
        optimizerStepReference(spec, segments, refParams, g, refState, {
          lr: Math.fround(lr),
          step: 1,
          uProduct: 1,
        });
        const keep = (a: ArrayLike<number>): number[] =>
          Array.from(a).filter((_, i) => i !== overflowAt && i !== nanAt);
        expectClose(keep(w), keep(refParams), TOL_PARAMS, `${spec.kind}: the other parameters`);
        engine.releaseBuffer(params);
        for (const b of state) engine.releaseBuffer(b);
        engine.releaseBuffer(hyper);
        engine.releaseBuffer(status);
      }
    },
  },
];

const checkCases: KernelCase[] = [
  {
    name: "optim-torch: PyTorch's defaults filled in; bad arguments and Keras's options refused with PyTorch's messages",
    async run(engine: Engine) {
      const resolved = (spec: OptimizerSpec): string => JSON.stringify(resolveOptimizerSpec(spec));
      expectEqual(
        resolved({ kind: 'torch_sgd' }),
        '{"kind":"torch_sgd","momentum":0,"dampening":0,"nesterov":false,"coupledDecay":0}',
        'torch_sgd defaults',
      );
      expectEqual(
        resolved({ kind: 'torch_adam' }),
        '{"kind":"torch_adam","beta1":0.9,"beta2":0.999,"epsilon":1e-8,"amsgrad":false,"coupledDecay":0}',
        'torch_adam defaults',
      );
      expectEqual(
        resolved({ kind: 'torch_adam', decoupled: true }),
        '{"kind":"torch_adam","beta1":0.9,"beta2":0.999,"epsilon":1e-8,"amsgrad":false,"coupledDecay":0,"weightDecay":0.01}',
        'AdamW defaults (decoupled weight decay 0.01)',
      );
      expectEqual(
        resolved({ kind: 'torch_rmsprop' }),
        '{"kind":"torch_rmsprop","alpha":0.99,"epsilon":1e-8,"momentum":0,"centered":false,"coupledDecay":0}',
        'torch_rmsprop defaults',
      );
      expectEqual(optimizerStateNames({ kind: 'torch_sgd' }).join(','), '', 'torch_sgd slots');
      expectEqual(
        optimizerStateNames({ kind: 'torch_sgd', momentum: 0.9 }).join(','),
        'momentum_buffer',
        'torch_sgd momentum slots',
      );
      expectEqual(
        optimizerStateNames({ kind: 'torch_adam', amsgrad: true }).join(','),
        'exp_avg,exp_avg_sq,max_exp_avg_sq',
        'torch_adam amsgrad slots',
      );
      expectEqual(
        optimizerStateNames({ kind: 'torch_rmsprop', momentum: 0.1, centered: true }).join(','),
        'square_avg,momentum_buffer,grad_avg',
        'torch_rmsprop full slots',
      );

      const { segments, totalLength: total } = LAYOUT;
      const buf = engine.createBuffer({ size: total * 4, usage: storage(), label: 'optim-torch any' });
      const hyper = createOptimizerHyper(engine, { kind: 'torch_sgd' }, 0.1);
      const refused: [string, OptimizerSpec, RegExp[], typeof RangeError | typeof TypeError][] = [
        [
          'Nesterov without momentum',
          { kind: 'torch_sgd', nesterov: true },
          [/^torch_sgd: Nesterov momentum requires a momentum and zero dampening/, /momentum 0/],
          RangeError,
        ],
        [
          'Nesterov with dampening',
          { kind: 'torch_sgd', momentum: 0.9, dampening: 0.1, nesterov: true },
          [/Nesterov momentum requires a momentum and zero dampening/, /dampening 0.1/],
          RangeError,
        ],
        [
          'negative momentum',
          { kind: 'torch_sgd', momentum: -0.5 },
          [/^torch_sgd: Invalid momentum value: -0.5/],
          RangeError,
        ],
        [
          'negative weight decay',
          { kind: 'torch_sgd', weightDecay: -1e-4 },
          [/Invalid weight_decay value: -0.0001/],
          RangeError,
        ],
        [
          'NaN dampening',
          { kind: 'torch_sgd', momentum: 0.9, dampening: NaN },
          [/Invalid dampening value: NaN/],
          RangeError,
        ],
        [
          'beta1 = 1',
          { kind: 'torch_adam', beta1: 1 },
          [/^torch_adam: Invalid beta parameter at index 0: 1/, /\[0, 1\)/],
          RangeError,
        ],
        [
          'beta2 < 0',
          { kind: 'torch_adam', beta2: -0.1 },
          [/Invalid beta parameter at index 1: -0.1/],
          RangeError,
        ],
        [
          'negative eps',
          { kind: 'torch_adam', epsilon: -1e-8 },
          [/Invalid epsilon value: -1e-8/],
          RangeError,
        ],
        [
          'AdamW negative weight decay',
          { kind: 'torch_adam', decoupled: true, weightDecay: -0.01 },
          [/Invalid weight_decay value: -0.01/],
          RangeError,
        ],
        [
          'negative alpha',
          { kind: 'torch_rmsprop', alpha: -0.1 },
          [/^torch_rmsprop: Invalid alpha value: -0.1/],
          RangeError,
        ],
        [
          'rmsprop Inf momentum',
          { kind: 'torch_rmsprop', momentum: Infinity },
          [/Invalid momentum value: Infinity/],
          RangeError,
        ],
        [
          'centered not a boolean',
          { kind: 'torch_rmsprop', centered: 1 as unknown as boolean },
          [/centered must be true or false, got 1/],
          TypeError,
        ],
        [
          'Keras clipnorm',
          { kind: 'torch_adam', clipnorm: 1 } as unknown as OptimizerSpec,
          [/^torch_adam: clipnorm is a Keras option/, /got 1/],
          TypeError,
        ],
        [
          'Keras decay',
          { kind: 'torch_sgd', decay: 0.1 } as unknown as OptimizerSpec,
          [/^torch_sgd: decay is a Keras option/],
          TypeError,
        ],
        [
          'Keras clipvalue',
          { kind: 'torch_rmsprop', clipvalue: 0.5 } as unknown as OptimizerSpec,
          [/clipvalue is a Keras option/],
          TypeError,
        ],
        [
          'Keras globalClipnorm',
          { kind: 'torch_adam', globalClipnorm: 2 } as unknown as OptimizerSpec,
          [/globalClipnorm is a Keras option/],
          TypeError,
        ],
      ];
      const before = engine.stats().dispatches;
      for (const [what, spec, patterns, type] of refused) {
        await expectError(() => resolveOptimizerSpec(spec), type, patterns, what);
        await expectError(
          () =>
            encodeOptimizerUpdate(
              engine,
              spec,
              segments,
              { params: buf, grads: buf, state: [buf, buf, buf], hyper },
              total,
            ),
          type,
          patterns,
          `${what}: the update`,
        );
      }
      expectEqual(engine.stats().dispatches - before, 0, 'dispatches of refused updates');
      for (const lr of [-0.1, NaN]) {
        await expectError(
          () => createOptimizerHyper(engine, { kind: 'torch_adam' }, lr),
          RangeError,
          [new RegExp(`^torch_adam: Invalid learning rate: ${String(lr)}`)],
          `learning rate ${lr}`,
        );
      }
      // PyTorch allows lr = 0 (Keras's factories do not).
      const zero = createOptimizerHyper(engine, { kind: 'torch_sgd' }, 0);
      expectEqual((await readOptimizerHyper(engine, zero)).lr, 0, 'lr 0 accepted');
      for (const b of [buf, hyper, zero]) engine.releaseBuffer(b);
    },
  },
];

export const cases: KernelCase[] = [...fixtureCases, ...variantCases, ...checkCases];
