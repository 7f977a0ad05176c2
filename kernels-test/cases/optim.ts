/**
 * Optimizer updates over a flat arena against the float64 reference (optimizerStepReference),
 * step after step, with the learning rate and the step counter read from the GPU.
 *
 * Tolerances (the reference runs its own float64 trajectory over 5 steps, so the f32 state's
 * rounding accumulates; parameters and gradients are O(1), learning rates ≤ 0.1):
 * - TOL_PARAMS (atol 1e-6, rtol 1e-6): each step rounds w ± Δ once (≤ 2^-24·|w| ≈ 8e-8 for
 *   |w| < 1.4) and Δ ≤ 0.1 carries a few ULP from sqrt and division (WGSL allows 2.5 ULP each)
 *   and from β, ρ, μ rounded to f32 (~3e-8 relative): under 2e-7 a step, 1e-6 over 5 steps.
 *   Seen on lavapipe and SwiftShader: about 2e-7 at most.
 * - TOL_STATE (atol 2e-7, rtol 1e-5): m, v, velocities mix O(1) terms, each rounded once a
 *   step (2^-24 ≈ 6e-8 absolute); where the terms cancel (m near 0) only the absolute bound
 *   means anything. Seen on lavapipe and SwiftShader: about 5e-8 absolute.
 * - Adam's first step against its closed form: atol 1e-7, rtol 1e-5 on Δ = w0 − w1 (α goes
 *   through the series for 1 − β^t and a sqrt, and w0 − w1 is recovered from |w| ≤ 1 with
 *   6e-8 absolute rounding).
 * - Nadam's Π u_t read back from the GPU: rtol 1e-6 (exp2's 3 + 2|x| ULP at |x| < 1 and one
 *   rounding per step).
 * The step counter and the learning rate read back from the hyper buffer are exact, and so
 * are the status words of a watched update (optimizerFlagReference). Where an update
 * overflows f32 (a gradient of ±3e38, an Inf gradient) the float64 reference does not
 * overflow the same way (g² is finite in float64), so those elements are checked for a
 * non-finite write on the bits, and every other element against the reference as above.
 */
import type { Engine } from '../../src/index.js';
import {
  createOptimizerHyper,
  createSegmentTable,
  encodeOptimizerAdvance,
  encodeOptimizerNorms,
  encodeOptimizerSetLearningRate,
  encodeOptimizerUpdate,
  initialOptimizerHyper,
  optimizerHyperBytes,
  optimizerNeedsNorms,
  optimizerNormsBytes,
  optimizerStateNames,
  optimizerStateSlots,
  parseOptimizerHyper,
  ARENA_ALIGN,
  planArena,
  readOptimizerHyper,
  segmentTableWords,
  writeOptimizerLearningRate,
  writeOptimizerProgress,
  type ArenaSegment,
  type OptimizerHyper,
  type OptimizerSpec,
} from '../../src/kernels/optim.js';
import {
  optimizerAdvanceReference,
  optimizerFlagReference,
  optimizerStepReference,
} from '../../src/kernels/optim-reference.js';
import { BAD_WHAT, encodeStepEnd, STATUS, STATUS_WORDS, writeStatus } from '../../src/kernels/step.js';
import {
  EXACT,
  expectClose,
  expectEqual,
  expectError,
  KernelMismatchError,
  rng,
  uniformF32,
  type Tolerance,
} from '../harness.js';
import type { KernelCase } from './types.js';

const TOL_PARAMS: Tolerance = { atol: 1e-6, rtol: 1e-6 };
const TOL_STATE: Tolerance = { atol: 2e-7, rtol: 1e-5 };
const TOL_CLOSED_FORM: Tolerance = { atol: 1e-7, rtol: 1e-5 };
const TOL_U_PRODUCT: Tolerance = { atol: 0, rtol: 1e-6 };

const STEPS = 5;

/** Three segments of odd lengths with different penalties: a kernel, a big kernel, a bias-like scalar. */
const LAYOUT = planArena([
  { length: 7, l1: 0.01, l2: 0 },
  { length: 300, l1: 0, l2: 0.05 },
  { length: 1, l1: 0.02, l2: 0.03 },
]);

interface Variant {
  label: string;
  spec: OptimizerSpec;
  /** The learning rate of each step, changed on the GPU between steps. */
  lrs: number[];
}

const VARIANTS: Variant[] = [
  { label: 'sgd', spec: { kind: 'sgd' }, lrs: [0.1, 0.05, 0.02, 0.1, 0.07] },
  { label: 'sgd momentum', spec: { kind: 'sgd', momentum: 0.9 }, lrs: [0.05, 0.05, 0.01, 0.03, 0.02] },
  {
    label: 'sgd nesterov',
    spec: { kind: 'sgd', momentum: 0.8, nesterov: true },
    lrs: [0.05, 0.02, 0.04, 0.01, 0.05],
  },
  { label: 'rmsprop', spec: { kind: 'rmsprop' }, lrs: [0.01, 0.005, 0.02, 0.01, 0.003] },
  {
    label: 'rmsprop momentum',
    spec: { kind: 'rmsprop', rho: 0.8, momentum: 0.5, epsilon: 0.01 },
    lrs: [0.01, 0.02, 0.005, 0.01, 0.01],
  },
  {
    label: 'rmsprop centered',
    spec: { kind: 'rmsprop', centered: true },
    lrs: [0.01, 0.01, 0.002, 0.02, 0.01],
  },
  {
    label: 'rmsprop centered momentum',
    spec: { kind: 'rmsprop', centered: true, momentum: 0.9, epsilon: 1e-6 },
    lrs: [0.005, 0.01, 0.01, 0.002, 0.01],
  },
  { label: 'adam', spec: { kind: 'adam' }, lrs: [0.01, 0.02, 0.005, 0.01, 0.05] },
  {
    label: 'adam amsgrad',
    spec: { kind: 'adam', amsgrad: true, beta1: 0.8, beta2: 0.99 },
    lrs: [0.01, 0.01, 0.03, 0.002, 0.01],
  },
  { label: 'adam epsilon 1e-3', spec: { kind: 'adam', epsilon: 1e-3 }, lrs: [0.02, 0.01, 0.01, 0.04, 0.01] },
  { label: 'nadam', spec: { kind: 'nadam' }, lrs: [0.01, 0.005, 0.02, 0.01, 0.01] },
  {
    label: 'nadam tf.keras 2 schedule',
    spec: { kind: 'nadam', scheduleDecay: 0.004, beta2: 0.99 },
    lrs: [0.01, 0.03, 0.01, 0.005, 0.01],
  },
];

/**
 * Keras's options every optimizer takes (Keras 2's time decay, Keras 3's clips and decoupled
 * weight decay), alone and mixed, on the same segments. Gradients in [-1, 1) give the
 * segments norms of about 1.5 (7 elements), 10 (300) and under 1 (1), so clipnorm 1 clips
 * two of three, global clipnorm 2 clips all, 100 none. A NaN spreads over a segment (clipnorm)
 * or everything (global clipnorm) here, as in Keras: not in the NaN case of VARIANTS.
 */
const COMMON_VARIANTS: Variant[] = [
  { label: 'sgd decay', spec: { kind: 'sgd', decay: 0.3 }, lrs: [0.1, 0.1, 0.05, 0.1, 0.1] },
  {
    label: 'sgd momentum decay clipnorm',
    spec: { kind: 'sgd', momentum: 0.9, decay: 0.01, clipnorm: 1 },
    lrs: [0.05, 0.05, 0.01, 0.03, 0.02],
  },
  { label: 'sgd clipvalue', spec: { kind: 'sgd', clipvalue: 0.3 }, lrs: [0.1, 0.05, 0.02, 0.1, 0.07] },
  {
    label: 'sgd weight decay',
    spec: { kind: 'sgd', weightDecay: 0.5, nesterov: true, momentum: 0.5 },
    lrs: [0.1, 0.05, 0.1, 0.1, 0.07],
  },
  {
    label: 'rmsprop global clipnorm',
    spec: { kind: 'rmsprop', globalClipnorm: 2, centered: true },
    lrs: [0.01, 0.005, 0.02, 0.01, 0.003],
  },
  {
    label: 'adam global clipnorm 100 (no clip)',
    spec: { kind: 'adam', globalClipnorm: 100 },
    lrs: [0.01, 0.02, 0.005, 0.01, 0.05],
  },
  {
    label: 'adamw (weight decay 0.004)',
    spec: { kind: 'adam', weightDecay: 0.004 },
    lrs: [0.01, 0.02, 0.005, 0.01, 0.05],
  },
  {
    label: 'adam amsgrad weight decay clipnorm decay',
    spec: { kind: 'adam', amsgrad: true, weightDecay: 0.3, clipnorm: 1, decay: 0.2 },
    lrs: [0.05, 0.05, 0.03, 0.02, 0.05],
  },
  {
    label: 'nadam clipvalue weight decay',
    spec: { kind: 'nadam', clipvalue: 0.2, weightDecay: 0.1 },
    lrs: [0.01, 0.005, 0.02, 0.01, 0.01],
  },
];

/** Read at call time: GPUBufferUsage exists only once WebGPU is set up. */
function storage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** Parameters uniform in [-1, 1) inside the segments, 0 in the padding. */
function initialParams(segments: readonly ArenaSegment[], total: number, seed: number): Float32Array {
  const p = new Float32Array(total);
  const r = rng(seed);
  for (const s of segments) {
    for (let i = s.offset; i < s.offset + s.length; i++) p[i] = 2 * r() - 1;
  }
  // Segment 0 has l1 > 0: the penalty's gradient at w = 0 is sign(0)·l1 = 0.
  const first = segments[0];
  if (first) p[first.offset + 3] = 0;
  return p;
}

/** Gradients uniform in [-1, 1) inside the segments and NaN in the padding, which must never enter an update. */
function gradients(segments: readonly ArenaSegment[], total: number, seed: number): Float32Array {
  const g = new Float32Array(total).fill(NaN);
  const r = rng(seed);
  for (const s of segments) {
    for (let i = s.offset; i < s.offset + s.length; i++) g[i] = 2 * r() - 1;
  }
  return g;
}

function paddingIndices(segments: readonly ArenaSegment[], total: number): number[] {
  const inside = new Uint8Array(total);
  for (const s of segments) inside.fill(1, s.offset, s.offset + s.length);
  return [...inside.keys()].filter((i) => inside[i] === 0);
}

async function readF32(engine: Engine, buffer: GPUBuffer, n: number, what: string): Promise<Float32Array> {
  return new Float32Array(await engine.read(buffer, n * 4, what));
}

/** The GPU arenas of one optimizer and their float64 twins. */
class Arena {
  readonly params: GPUBuffer;
  readonly state: GPUBuffer[];
  readonly refParams: Float64Array;
  readonly refState: Float64Array[];

  constructor(
    readonly engine: Engine,
    readonly spec: OptimizerSpec,
    readonly segments: readonly ArenaSegment[],
    readonly total: number,
    params: Float32Array,
  ) {
    this.params = engine.createBufferWithData(params, storage(), 'optim test params');
    const slots = optimizerStateSlots(spec);
    this.state = Array.from({ length: slots }, (_, k) =>
      engine.createBufferWithData(new Float32Array(total), storage(), `optim test state ${k}`),
    );
    this.refParams = Float64Array.from(params);
    this.refState = Array.from({ length: slots }, () => new Float64Array(total));
  }

  /** The parameters, then each state arena, as the GPU holds them. */
  async read(): Promise<Float32Array[]> {
    const out = [await readF32(this.engine, this.params, this.total, 'optim test params')];
    for (const buf of this.state) out.push(await readF32(this.engine, buf, this.total, 'optim test state'));
    return out;
  }

  /** Every element (but those in `skip`) against the float64 reference. */
  async expectMatches(tol: Tolerance, what: string, skip: readonly number[] = []): Promise<void> {
    const keep = (a: ArrayLike<number>): number[] => Array.from(a).filter((_, i) => !skip.includes(i));
    const [params = new Float32Array(0), ...state] = await this.read();
    expectClose(keep(params), keep(this.refParams), tol, `${what}: params`);
    const names = optimizerStateNames(this.spec);
    for (const [k, s] of state.entries()) {
      expectClose(keep(s), keep(this.refState[k] ?? []), TOL_STATE, `${what}: state ${names[k] ?? k}`);
    }
  }

  /** Padding of the parameters and of every state arena is exactly zero. */
  async expectZeroPadding(what: string): Promise<void> {
    const pad = paddingIndices(this.segments, this.total);
    for (const [name, buf] of [
      ['params', this.params],
      ...this.state.map((s, k) => [`state ${k}`, s] as const),
    ] as const) {
      const values = await readF32(this.engine, buf, this.total, 'optim test padding');
      const padded = pad.map((i) => values[i] ?? NaN);
      expectClose(padded, new Float64Array(pad.length), EXACT, `${what}: ${name} padding`);
    }
  }

  dispose(): void {
    this.engine.releaseBuffer(this.params);
    for (const s of this.state) this.engine.releaseBuffer(s);
  }
}

function expectHyper(actual: OptimizerHyper, expected: OptimizerHyper, what: string): void {
  expectEqual(actual.step, expected.step, `${what}: step read from the GPU`);
  expectEqual(actual.lr, expected.lr, `${what}: learning rate read from the GPU`);
  expectClose([actual.uProduct], [expected.uProduct], TOL_U_PRODUCT, `${what}: Nadam u product`);
}

const variantCases: KernelCase[] = [...VARIANTS, ...COMMON_VARIANTS].map(({ label, spec, lrs }) => ({
  name: `optim ${label}: ${STEPS} steps on segments of 7, 300 and 1 with l1/l2 against float64`,
  async run(engine: Engine) {
    const { segments, totalLength: total } = LAYOUT;
    const arena = new Arena(engine, spec, segments, total, initialParams(segments, total, 11));
    const hyper = createOptimizerHyper(engine, spec, 1);
    let refHyper = initialOptimizerHyper(1);
    const table = createSegmentTable(engine, segments, total);
    let pipelinesAfterFirstStep = 0;
    for (let step = 0; step < STEPS; step++) {
      const what = `${label} step ${step + 1}`;
      const lr = lrs[step] ?? 0.01;
      // A schedule rewriting the rate on the GPU, then t += 1.
      encodeOptimizerSetLearningRate(engine, hyper, lr);
      encodeOptimizerAdvance(engine, spec, hyper);
      refHyper = optimizerAdvanceReference(spec, { ...refHyper, lr: Math.fround(lr) });
      const g = gradients(segments, total, 100 + step);
      const grads = engine.createBufferWithData(g, storage(), 'optim test grads');
      const before = engine.stats();
      // Odd steps upload a temporary segment table, even ones reuse the created one.
      const segmentTable = step % 2 === 0 ? table : undefined;
      encodeOptimizerUpdate(
        engine,
        spec,
        segments,
        { params: arena.params, grads, state: arena.state, hyper, segmentTable },
        total,
      );
      const after = engine.stats();
      // With a norm clip, the norms' dispatch first.
      const dispatches = optimizerNeedsNorms(spec) ? 2 : 1;
      expectEqual(after.dispatches - before.dispatches, dispatches, `${what}: dispatches of the update`);
      if (step === 0) pipelinesAfterFirstStep = after.pipelines;
      else
        expectEqual(after.pipelines, pipelinesAfterFirstStep, `${what}: pipelines after a new learning rate`);
      optimizerStepReference(spec, segments, arena.refParams, g, arena.refState, refHyper);
      expectHyper(await readOptimizerHyper(engine, hyper), refHyper, what);
      await arena.expectMatches(TOL_PARAMS, what);
      engine.releaseBuffer(grads);
    }
    await arena.expectZeroPadding(label);
    arena.dispose();
    engine.releaseBuffer(hyper);
    engine.releaseBuffer(table);
  },
}));

const otherCases: KernelCase[] = [
  {
    name: "optim adam: the first step from zero state is Keras's closed form lr·g/(|g| + ε/√(1−β2))",
    async run(engine: Engine) {
      // Step 1: m = (1−β1)g, v = (1−β2)g², α = lr·√(1−β2)/(1−β1), so
      // Δ = α·m/(√v + ε) = lr·g / (|g| + ε/√(1−β2)) exactly: lr·sign(g) for |g| ≫ ε/√(1−β2).
      // ε = 1e-3 makes the ε term visible: ε/√(1−β2) ≈ 0.0316 next to |g| from 1e-4 to 1.
      const { segments, totalLength: total } = planArena([{ length: 513, l1: 0, l2: 0 }]);
      for (const epsilon of [1e-7, 1e-3]) {
        const spec: OptimizerSpec = { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon };
        const lr = Math.fround(0.01);
        const n = segments[0]?.length ?? 0;
        const w0 = uniformF32(total, -1, 1, 21).fill(0, n);
        // Magnitudes spread over four decades, both signs, and an exact zero.
        const r = rng(22);
        const g = Float32Array.from({ length: total }, () => (r() < 0.5 ? -1 : 1) * 10 ** (-4 * r()));
        g[3] = 0;
        const arena = new Arena(engine, spec, segments, total, w0);
        const hyper = createOptimizerHyper(engine, spec, lr);
        const grads = engine.createBufferWithData(g, storage(), 'optim test grads');
        encodeOptimizerAdvance(engine, spec, hyper);
        encodeOptimizerUpdate(
          engine,
          spec,
          segments,
          { params: arena.params, grads, state: arena.state, hyper },
          total,
        );
        const w1 = await readF32(engine, arena.params, total, 'optim test params');
        const delta = Float64Array.from(w1, (w, i) => (w0[i] as number) - w);
        const scale = epsilon / Math.sqrt(1 - 0.999);
        // Padding (from element n on) is not updated.
        const closed = Float64Array.from(g, (gi, i) => (i < n ? (lr * gi) / (Math.abs(gi) + scale) : 0));
        expectClose(delta, closed, TOL_CLOSED_FORM, `adam step 1, ε ${epsilon}: w0 − w1`);
        // And close to lr·sign(g) where |g| dominates ε/√(1−β2).
        for (const [i, gi] of g.subarray(0, n).entries()) {
          if (Math.abs(gi) > 1000 * scale && Math.abs(Math.abs(delta[i] as number) - lr) > 2e-3 * lr) {
            throw new KernelMismatchError(`adam step 1: |Δ| ${delta[i]} far from lr ${lr} at g = ${gi}`);
          }
        }
        arena.dispose();
        engine.releaseBuffer(hyper);
        engine.releaseBuffer(grads);
      }
    },
  },
  {
    name: 'optim: a NaN gradient makes only that parameter (and its state) NaN, for every optimizer',
    async run(engine: Engine) {
      const { segments, totalLength: total } = LAYOUT;
      const nanAt = 64 + 123;
      for (const { label, spec } of VARIANTS) {
        const arena = new Arena(engine, spec, segments, total, initialParams(segments, total, 31));
        const hyper = createOptimizerHyper(engine, spec, 0.01);
        let refHyper = initialOptimizerHyper(0.01);
        for (let step = 0; step < 2; step++) {
          const g = gradients(segments, total, 200 + step);
          if (step === 0) g[nanAt] = NaN;
          const grads = engine.createBufferWithData(g, storage(), 'optim test grads');
          encodeOptimizerAdvance(engine, spec, hyper);
          refHyper = optimizerAdvanceReference(spec, refHyper);
          encodeOptimizerUpdate(
            engine,
            spec,
            segments,
            { params: arena.params, grads, state: arena.state, hyper },
            total,
          );
          optimizerStepReference(spec, segments, arena.refParams, g, arena.refState, refHyper);
          engine.releaseBuffer(grads);
        }
        const p = await readF32(engine, arena.params, total, 'optim test params');
        const nans = [...p.keys()].filter((i) => Number.isNaN(p[i]));
        expectEqual(nans.join(','), String(nanAt), `${label}: NaN parameters after a NaN gradient`);
        // Everything, NaN where the float64 reference has NaN, equal elsewhere.
        await arena.expectMatches(TOL_PARAMS, `${label} with a NaN gradient`);
        arena.dispose();
        engine.releaseBuffer(hyper);
      }
    },
  },
  {
    name: 'optim: steps encoded back to back without the host read the step and Π from the GPU',
    async run(engine: Engine) {
      const { segments, totalLength: total } = LAYOUT;
      for (const spec of [{ kind: 'adam' }, { kind: 'nadam' }] as const) {
        const arena = new Arena(engine, spec, segments, total, initialParams(segments, total, 41));
        const hyper = createOptimizerHyper(engine, spec, 0.02);
        const table = createSegmentTable(engine, segments, total);
        let refHyper = initialOptimizerHyper(0.02);
        const readbacks = engine.stats().readbacks;
        const grads: GPUBuffer[] = [];
        for (let step = 0; step < 8; step++) {
          const g = gradients(segments, total, 300 + step);
          grads.push(engine.createBufferWithData(g, storage(), 'optim test grads'));
          encodeOptimizerAdvance(engine, spec, hyper);
          encodeOptimizerUpdate(
            engine,
            spec,
            segments,
            {
              params: arena.params,
              grads: grads[step] as GPUBuffer,
              state: arena.state,
              hyper,
              segmentTable: table,
            },
            total,
          );
          refHyper = optimizerAdvanceReference(spec, refHyper);
          optimizerStepReference(spec, segments, arena.refParams, g, arena.refState, refHyper);
        }
        expectEqual(engine.stats().readbacks, readbacks, `${spec.kind}: readbacks while encoding 8 steps`);
        expectHyper(await readOptimizerHyper(engine, hyper), refHyper, `${spec.kind} after 8 steps`);
        await arena.expectMatches(TOL_PARAMS, `${spec.kind} after 8 steps encoded at once`);
        for (const b of grads) engine.releaseBuffer(b);
        arena.dispose();
        engine.releaseBuffer(hyper);
        engine.releaseBuffer(table);
      }
    },
  },
  {
    name: 'optim: 40 segments (lengths 0 to 700, exact multiples of 64) in one dispatch; resumed hyper state',
    async run(engine: Engine) {
      const r = rng(51);
      const specials = [0, 1, 63, 64, 65, 128, 255, 256, 257, 700];
      const tensors = Array.from({ length: 40 }, (_, k) => ({
        length: specials[k] ?? Math.floor(r() * 700),
        l1: r() < 0.5 ? 0 : 0.01 * r(),
        l2: r() < 0.5 ? 0 : 0.01 * r(),
      }));
      // Shuffled order: the kernel's table is sorted by offset whatever order it is given in.
      const { segments, totalLength: total } = planArena(tensors);
      const shuffled = [...segments].sort(() => r() - 0.5);
      const spec: OptimizerSpec = { kind: 'nadam' };
      const arena = new Arena(engine, spec, segments, total, initialParams(segments, total, 52));
      // Resume at step 6 with the matching Π.
      let refHyper = initialOptimizerHyper(0.003);
      for (let t = 0; t < 6; t++) refHyper = optimizerAdvanceReference(spec, refHyper);
      const hyper = createOptimizerHyper(engine, spec, 0.003, refHyper);
      for (let step = 0; step < 2; step++) {
        const g = gradients(segments, total, 400 + step);
        const grads = engine.createBufferWithData(g, storage(), 'optim test grads');
        encodeOptimizerAdvance(engine, spec, hyper);
        const before = engine.stats().dispatches;
        encodeOptimizerUpdate(
          engine,
          spec,
          shuffled,
          { params: arena.params, grads, state: arena.state, hyper },
          total,
        );
        expectEqual(engine.stats().dispatches - before, 1, 'dispatches for 40 segments');
        refHyper = optimizerAdvanceReference(spec, refHyper);
        optimizerStepReference(spec, segments, arena.refParams, g, arena.refState, refHyper);
        engine.releaseBuffer(grads);
      }
      expectHyper(await readOptimizerHyper(engine, hyper), refHyper, 'resumed nadam');
      await arena.expectMatches(TOL_PARAMS, `nadam over 40 segments (${total} elements)`);
      await arena.expectZeroPadding('40 segments');
      arena.dispose();
      engine.releaseBuffer(hyper);
    },
  },
  {
    name: 'optim: writeOptimizerLearningRate / writeOptimizerProgress set the words the kernels read',
    async run(engine: Engine) {
      const spec = { kind: 'nadam' } as const;
      const hyper = createOptimizerHyper(engine, spec, 0.02);
      try {
        // Progress as saved after 7 steps, a new rate; then one advance on the GPU.
        writeOptimizerProgress(engine, hyper, { step: 7, uProduct: 0.375 });
        writeOptimizerLearningRate(engine, hyper, 0.25);
        expectHyper(
          await readOptimizerHyper(engine, hyper),
          { lr: 0.25, step: 7, uProduct: 0.375 },
          'after the writes',
        );
        encodeOptimizerAdvance(engine, spec, hyper);
        const want = optimizerAdvanceReference(spec, { lr: 0.25, step: 7, uProduct: 0.375 });
        expectHyper(await readOptimizerHyper(engine, hyper), want, 'advanced from the written step');
        await expectError(
          () => writeOptimizerProgress(engine, hyper, { step: -1, uProduct: 1 }),
          RangeError,
          [/writeOptimizerProgress: step must be a non-negative integer \(a u32\), got -1/],
          'a negative step',
        );
        await expectError(
          () => writeOptimizerLearningRate(engine, hyper, NaN),
          RangeError,
          [/writeOptimizerLearningRate: learningRate must be finite, got NaN/],
          'a NaN rate',
        );
      } finally {
        engine.releaseBuffer(hyper);
      }
    },
  },
  {
    name: 'optim: hyper bytes round-trip; bad segments, state counts, sizes and hyper-parameters are refused',
    async run(engine: Engine) {
      const h = { lr: Math.fround(0.125), step: 4_000_000_000, uProduct: Math.fround(0.3) };
      const back = parseOptimizerHyper(optimizerHyperBytes(h).buffer as ArrayBuffer);
      expectEqual(JSON.stringify(back), JSON.stringify(h), 'hyper bytes round trip');
      expectEqual(optimizerStateSlots({ kind: 'sgd' }), 0, 'sgd slots');
      expectEqual(optimizerStateSlots({ kind: 'sgd', momentum: 0.9 }), 1, 'sgd momentum slots');
      expectEqual(optimizerStateSlots({ kind: 'rmsprop' }), 1, 'rmsprop slots');
      expectEqual(
        optimizerStateSlots({ kind: 'rmsprop', momentum: 0.1, centered: true }),
        3,
        'rmsprop full slots',
      );
      expectEqual(optimizerStateSlots({ kind: 'adam' }), 2, 'adam slots');
      expectEqual(optimizerStateSlots({ kind: 'adam', amsgrad: true }), 3, 'amsgrad slots');
      expectEqual(optimizerStateSlots({ kind: 'nadam' }), 2, 'nadam slots');

      const total = 192;
      const params = engine.createBuffer({ size: total * 4, usage: storage(), label: 'optim test params' });
      const small = engine.createBuffer({ size: 100 * 4, usage: storage(), label: 'optim test small' });
      const hyper = createOptimizerHyper(engine, { kind: 'adam' }, 0.01);
      const adam: OptimizerSpec = { kind: 'adam' };
      const ok = [{ offset: 0, length: 10, l1: 0, l2: 0 }];
      const bind = { params, grads: params, state: [params, params], hyper };
      const update = (segs: ArenaSegment[], b = bind, spec: OptimizerSpec = adam) =>
        encodeOptimizerUpdate(engine, spec, segs, b, total);
      await expectError(
        () => update([{ offset: 32, length: 10, l1: 0, l2: 0 }]),
        RangeError,
        [/segment 0/, /offset 32/, /multiple of 64/],
        'misaligned offset',
      );
      await expectError(
        () => update([...ok, { offset: 0, length: 5, l1: 0, l2: 0 }]),
        RangeError,
        [/overlap/, /\[0, 10\)/],
        'overlapping segments',
      );
      await expectError(
        () => update([{ offset: 128, length: 65, l1: 0, l2: 0 }]),
        RangeError,
        [/ends at 193/, /arena of 192/],
        'segment past the arena',
      );
      await expectError(
        () => encodeOptimizerUpdate(engine, adam, ok, bind, total - 2),
        RangeError,
        [/totalLength must be a multiple of 4/, /got 190/],
        'arena length not a multiple of 4',
      );
      await expectError(
        () => update([{ offset: 0, length: 10, l1: -1, l2: 0 }]),
        RangeError,
        [/l1/, /-1/],
        'negative l1',
      );
      await expectError(
        () => update(ok, { ...bind, state: [params] }),
        RangeError,
        [/needs 2 state/, /m, v/, /got 1/],
        'missing state',
      );
      await expectError(
        () => update(ok, { ...bind, grads: small }),
        RangeError,
        [/buffer grads \("optim test small"\) has 400 bytes; \[192\] f32 needs 768/],
        'short gradient arena',
      );
      await expectError(
        () => update(ok, bind, { kind: 'adam', beta1: 1 }),
        RangeError,
        [/beta1/, /\[0, 1\)/],
        'β1 = 1',
      );
      await expectError(
        () => update(ok, { ...bind, state: [] }, { kind: 'sgd', momentum: -0.5 }),
        RangeError,
        [/momentum/, /-0.5/],
        'negative momentum',
      );
      await expectError(
        () =>
          optimizerStepReference(
            adam,
            ok,
            new Float64Array(total),
            new Float64Array(total),
            [new Float64Array(total), new Float64Array(total)],
            initialOptimizerHyper(0.1),
          ),
        RangeError,
        [/advance/],
        'adam reference at step 0',
      );
      for (const b of [params, small, hyper]) engine.releaseBuffer(b);
      await engine.flush();
    },
  },
];

// ------------------------------------------------------------ watched updates

/** Status words (shaders/step.ts STATUS): [STEPS, BAD_STEP, BACKUP_STEP, BAD_WHAT]. */
function statusWords(steps: number, badStep = 0, backupStep = 0, badWhat = 0): Uint32Array {
  const w = new Uint32Array(STATUS_WORDS);
  w[STATUS.STEPS] = steps;
  w[STATUS.BAD_STEP] = badStep;
  w[STATUS.BACKUP_STEP] = backupStep;
  w[STATUS.BAD_WHAT] = badWhat;
  return w;
}

async function expectStatus(
  engine: Engine,
  status: GPUBuffer,
  want: Uint32Array,
  what: string,
): Promise<void> {
  const got = new Uint32Array(await engine.read(status, STATUS_WORDS * 4, 'optim test status'));
  for (const [name, k] of Object.entries(STATUS)) expectEqual(got[k], want[k], `${what}: status ${name}`);
}

/** NaN or ±Inf once stored as f32, tested on the bits (independent of any reference). */
function nonFiniteF32(x: number): boolean {
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0] ?? 0;
  return (bits & 0x7f800000) === 0x7f800000;
}

/** The segment elements where any of `arrays` (parameters, state slots) is non-finite as f32. */
function nonFiniteElements(
  segments: readonly ArenaSegment[],
  arrays: readonly ArrayLike<number>[],
): number[] {
  const out: number[] = [];
  for (const s of segments) {
    for (let i = s.offset; i < s.offset + s.length; i++) {
      if (arrays.some((a) => nonFiniteF32(a[i] as number))) out.push(i);
    }
  }
  return out;
}

/**
 * Elements of LAYOUT whose finite gradient ±3e38 overflows an update: g² in RMSprop, Adam and
 * Nadam (their state goes Inf; the parameter may stay finite: lr·g/√Inf = 0), lr·g in SGD at
 * lr 4. In segments 0, 1 (both workgroups of 256 threads) and 2.
 */
const OVERFLOW: readonly [number, number][] = [
  [5, 3e38],
  [64 + 250, -3e38],
  [384, -3e38],
];

/** An element given an Inf gradient (what an overflowing matmul gives) a step later. */
const INF_AT = 64 + 17;

/** SGD's update is lr·g: 4 · 3e38 overflows; the others overflow in g² whatever the rate. */
function watchedRate(spec: OptimizerSpec): number {
  return spec.kind === 'sgd' ? 4 : 0.01;
}

/** One advance and one watched update of `arena` with gradients g, and the same in float64. */
function watchedStep(
  engine: Engine,
  arena: Arena,
  hyper: GPUBuffer,
  refHyper: OptimizerHyper,
  g: Float32Array,
  status: GPUBuffer,
): OptimizerHyper {
  const { spec, segments, total } = arena;
  encodeOptimizerAdvance(engine, spec, hyper);
  const h = optimizerAdvanceReference(spec, refHyper);
  const grads = engine.createBufferWithData(g, storage(), 'optim test grads');
  const before = engine.stats().dispatches;
  encodeOptimizerUpdate(
    engine,
    spec,
    segments,
    { params: arena.params, grads, state: arena.state, hyper, status },
    total,
  );
  expectEqual(engine.stats().dispatches - before, 1, `${spec.kind}: dispatches of a watched update`);
  engine.releaseBuffer(grads);
  optimizerStepReference(spec, segments, arena.refParams, g, arena.refState, h);
  return h;
}

const watchedCases: KernelCase[] = [
  {
    name: 'optim watched: finite writes leave the status alone; an overflow records its step once, every optimizer',
    async run(engine: Engine) {
      const { segments, totalLength: total } = LAYOUT;
      const overflowAt = OVERFLOW.map(([i]) => i);
      for (const { label, spec } of VARIANTS) {
        const lr = watchedRate(spec);
        const arena = new Arena(engine, spec, segments, total, initialParams(segments, total, 61));
        const hyper = createOptimizerHyper(engine, spec, lr);
        let refHyper = initialOptimizerHyper(lr);
        // Step 6 of the model, its snapshot taken at step 5.
        const refStatus = statusWords(6, 0, 5);
        const status = engine.createBufferWithData(refStatus, storage(), 'optim test status');

        // Finite gradients (NaN in the padding, masked where read): nothing recorded.
        refHyper = watchedStep(engine, arena, hyper, refHyper, gradients(segments, total, 600), status);
        const finite = nonFiniteElements(segments, [arena.refParams, ...arena.refState]);
        expectEqual(finite.join(','), '', `${label}: non-finite values in the finite step's reference`);
        optimizerFlagReference(refStatus, false);
        await expectStatus(engine, status, refStatus, `${label} finite step`);
        await arena.expectMatches(TOL_PARAMS, `${label} watched, finite`);

        // Step end counts step 6; step 7 overflows at OVERFLOW: BAD_STEP = 7 + 1, the write bit.
        refStatus[STATUS.STEPS] = 7;
        engine.writeBuffer(status, STATUS.STEPS * 4, new Uint32Array([7]));
        const g = gradients(segments, total, 601);
        for (const [i, x] of OVERFLOW) g[i] = x;
        refHyper = watchedStep(engine, arena, hyper, refHyper, g, status);
        // The test's premise: rounded to f32, the reference is non-finite exactly there too.
        const ref = nonFiniteElements(segments, [arena.refParams, ...arena.refState]);
        expectEqual(ref.join(','), overflowAt.join(','), `${label}: overflowing elements of the reference`);
        optimizerFlagReference(refStatus, true);
        expectEqual(refStatus.join(','), '7,8,5,2', `${label}: status reference after the overflow`);
        await expectStatus(engine, status, refStatus, `${label} overflowing step`);
        const gpu = nonFiniteElements(segments, await arena.read());
        expectEqual(gpu.join(','), overflowAt.join(','), `${label}: elements written non-finite`);
        await arena.expectMatches(TOL_PARAMS, `${label} watched, beside the overflow`, overflowAt);

        // Step 8 writes non-finite values again where step 7 left them, and at INF_AT (an Inf
        // gradient): step 7 stays recorded.
        refStatus[STATUS.STEPS] = 8;
        engine.writeBuffer(status, STATUS.STEPS * 4, new Uint32Array([8]));
        const g8 = gradients(segments, total, 602);
        g8[INF_AT] = Infinity;
        refHyper = watchedStep(engine, arena, hyper, refHyper, g8, status);
        expectHyper(await readOptimizerHyper(engine, hyper), refHyper, `${label} watched, 3 steps`);
        const bad8 = [...overflowAt, INF_AT].sort((a, b) => a - b);
        expectEqual(
          nonFiniteElements(segments, [arena.refParams, ...arena.refState]).join(','),
          bad8.join(','),
          `${label}: non-finite elements of the reference a step later`,
        );
        expectEqual(
          nonFiniteElements(segments, await arena.read()).join(','),
          bad8.join(','),
          `${label}: elements written non-finite a step later`,
        );
        optimizerFlagReference(refStatus, true);
        expectEqual(refStatus.join(','), '8,8,5,2', `${label}: status reference a step later`);
        await expectStatus(engine, status, refStatus, `${label} step after the overflow`);
        await arena.expectMatches(TOL_PARAMS, `${label} watched, a step later`, bad8);
        await arena.expectZeroPadding(`${label} watched`);
        arena.dispose();
        engine.releaseBuffer(hyper);
        engine.releaseBuffer(status);
      }
    },
  },
  {
    name: 'optim watched: 300 threads overflowing at once record one step; an earlier bad step is kept',
    async run(engine: Engine) {
      const { segments, totalLength: total } = LAYOUT;
      const big = segments[1] as ArenaSegment;
      const inBig = Array.from({ length: big.length }, (_, k) => big.offset + k);
      for (const spec of [{ kind: 'adam' }, { kind: 'sgd', momentum: 0.9 }] as const) {
        // A fresh status, and one where a loss went NaN at step 3 (BAD_STEP 4, the loss bit).
        for (const start of [statusWords(11, 0, 8), statusWords(11, 4, 3, BAD_WHAT.LOSS)]) {
          const what = `${spec.kind}, status ${start.join(',')}`;
          const lr = watchedRate(spec);
          const arena = new Arena(engine, spec, segments, total, initialParams(segments, total, 71));
          const hyper = createOptimizerHyper(engine, spec, lr);
          const status = engine.createBufferWithData(start, storage(), 'optim test status');
          const g = gradients(segments, total, 700);
          for (const i of inBig) g[i] = i % 2 === 0 ? 3e38 : -3e38;
          watchedStep(engine, arena, hyper, initialOptimizerHyper(lr), g, status);
          const written = nonFiniteElements(segments, await arena.read());
          expectEqual(written.join(','), inBig.join(','), `${what}: elements written non-finite`);
          const want = Uint32Array.from(start);
          optimizerFlagReference(want, true);
          await expectStatus(engine, status, want, what);
          expectEqual(
            want[STATUS.BAD_STEP],
            start[STATUS.BAD_STEP] === 0 ? 12 : 4,
            `${what}: the reference's bad step`,
          );
          await arena.expectMatches(TOL_PARAMS, `${what}: the other segments`, inBig);
          arena.dispose();
          engine.releaseBuffer(hyper);
          engine.releaseBuffer(status);
        }
      }
    },
  },
  {
    name: 'optim watched + stepEnd: BAD_WHAT says loss, write or both, for the first bad step only',
    async run(engine: Engine) {
      const { segments, totalLength: total } = LAYOUT;
      const spec: OptimizerSpec = { kind: 'adam' };
      // Stale words everywhere: writeStatus() must clear all but the step and snapshot step.
      const status = engine.createBufferWithData(statusWords(99, 98, 97, 3), storage(), 'optim test status');
      const cursor = engine.createBufferWithData(new Uint32Array(4), storage(), 'optim test cursor');
      const finiteLoss = engine.createBufferWithData(new Float32Array([0.5]), storage(), 'optim test loss');
      const nanLoss = engine.createBufferWithData(new Float32Array([NaN]), storage(), 'optim test NaN loss');
      const stepEnd = (acc: GPUBuffer): void =>
        encodeStepEnd(engine, { slots: 1, batch: 1 }, { acc, status, cursor });
      /** Finite gradients but at element 70 (segment 1). */
      const gradientsWith = (x: number, seed: number): Float32Array => {
        const g = gradients(segments, total, seed);
        g[70] = x;
        return g;
      };
      const { WRITE, LOSS } = BAD_WHAT;
      // Steps run before, gradient at element 70, the step's loss, and the status after the
      // update and step end (closed form: BAD_STEP = steps + 1 for a bad step).
      const runs: [string, number, number, GPUBuffer, number[]][] = [
        ['an overflow with a finite loss', 20, 3e38, finiteLoss, [21, 21, 20, WRITE]],
        ['a NaN loss (its NaN gradient written)', 30, NaN, nanLoss, [31, 31, 30, WRITE | LOSS]],
        ['a NaN loss with finite writes', 40, 0.5, nanLoss, [41, 41, 40, LOSS]],
        ['finite everything', 50, 0.5, finiteLoss, [51, 0, 50, 0]],
      ];
      for (const [what, steps, g70, loss, want] of runs) {
        // Each run from finite state, as the executor's restore leaves it.
        const arena = new Arena(engine, spec, segments, total, initialParams(segments, total, 81));
        const hyper = createOptimizerHyper(engine, spec, 0.01);
        writeStatus(engine, status, steps);
        watchedStep(
          engine,
          arena,
          hyper,
          initialOptimizerHyper(0.01),
          gradientsWith(g70, 800 + steps),
          status,
        );
        stepEnd(loss);
        await expectStatus(engine, status, Uint32Array.from(want), what);
        // A NaN loss at the next step: a recorded step and its cause stay as they were.
        stepEnd(nanLoss);
        const next = Uint32Array.from(want);
        next[STATUS.STEPS] = steps + 2;
        if (want[STATUS.BAD_STEP] === 0) {
          next[STATUS.BAD_STEP] = steps + 2;
          next[STATUS.BAD_WHAT] = LOSS;
        }
        await expectStatus(engine, status, next, `${what}, then a NaN loss`);
        arena.dispose();
        engine.releaseBuffer(hyper);
      }
      for (const b of [status, cursor, finiteLoss, nanLoss]) engine.releaseBuffer(b);
    },
  },
];

/** Every segment's squared gradient norm in float64 (with the penalty's gradient). */
function referenceNorms(
  segments: readonly ArenaSegment[],
  params: ArrayLike<number>,
  grads: ArrayLike<number>,
): Float64Array {
  const live = segments.filter((s) => s.length > 0).sort((a, b) => a.offset - b.offset);
  return Float64Array.from(live, (s) => {
    let sum = 0;
    for (let i = s.offset; i < s.offset + s.length; i++) {
      const w = params[i] as number;
      const g = (grads[i] as number) + 2 * s.l2 * w + s.l1 * Math.sign(w);
      sum += g * g;
    }
    return sum;
  });
}

const commonCases: KernelCase[] = [
  {
    name: 'optim norms: squared gradient norms of segments of 1 to 5000 elements (an empty one skipped) against float64',
    async run(engine: Engine) {
      const { segments, totalLength: total } = planArena([
        { length: 7, l1: 0.01, l2: 0 },
        { length: 5000, l1: 0, l2: 0.05 },
        { length: 0, l1: 0, l2: 0 },
        { length: 1, l1: 0.02, l2: 0.03 },
        { length: 256, l1: 0, l2: 0 },
      ]);
      const p = initialParams(segments, total, 41);
      const g = gradients(segments, total, 42);
      const params = engine.createBufferWithData(p, storage(), 'optim test params');
      const grads = engine.createBufferWithData(g, storage(), 'optim test grads');
      const norms = engine.createBuffer({
        size: optimizerNormsBytes(segments),
        usage: storage(),
        label: 'norms',
      });
      encodeOptimizerNorms(engine, segments, { params, grads, norms }, total);
      const got = (await readF32(engine, norms, 4, 'optim test norms')).subarray(0, 4);
      // f32 sums of ≤ 20 terms a thread, then a tree of 256: relative error ≈ 1e-7·log2.
      expectClose(got, referenceNorms(segments, p, g), { atol: 0, rtol: 2e-6 }, 'squared norms');
      for (const b of [params, grads, norms]) engine.releaseBuffer(b);
    },
  },
  {
    name: "optim clips and NaN: clipnorm spreads a NaN over its segment, global clipnorm over all (Keras's scale)",
    async run(engine: Engine) {
      const { segments, totalLength: total } = LAYOUT;
      const nanAt = 64 + 123; // in segment 1
      for (const spec of [
        { kind: 'sgd', clipnorm: 1 },
        { kind: 'adam', globalClipnorm: 2 },
        { kind: 'sgd', clipvalue: 0.5 },
      ] as OptimizerSpec[]) {
        const arena = new Arena(engine, spec, segments, total, initialParams(segments, total, 51));
        const hyper = createOptimizerHyper(engine, spec, 0.01);
        const g = gradients(segments, total, 52);
        g[nanAt] = NaN;
        const grads = engine.createBufferWithData(g, storage(), 'optim test grads');
        encodeOptimizerAdvance(engine, spec, hyper);
        encodeOptimizerUpdate(
          engine,
          spec,
          segments,
          { params: arena.params, grads, state: arena.state, hyper },
          total,
        );
        const w = await readF32(engine, arena.params, total, 'optim test params');
        optimizerStepReference(spec, segments, arena.refParams, g, arena.refState, {
          lr: Math.fround(0.01),
          step: 1,
          uProduct: 1,
        });
        for (const s of segments) {
          for (let i = s.offset; i < s.offset + s.length; i++) {
            const expectNaN = Number.isNaN(arena.refParams[i]);
            if (Number.isNaN(w[i]) !== expectNaN) {
              throw new KernelMismatchError(
                `${JSON.stringify(spec)}: params[${i}] = ${w[i]}, expected ${expectNaN ? 'NaN' : 'a number'}`,
              );
            }
          }
        }
        const nanCount = arena.refParams.filter((x) => Number.isNaN(x)).length;
        const expected = spec.clipnorm ? 300 : spec.globalClipnorm ? 308 : 1;
        expectEqual(nanCount, expected, `${JSON.stringify(spec)}: NaN parameters in the reference`);
        arena.dispose();
        engine.releaseBuffer(hyper);
        engine.releaseBuffer(grads);
      }
    },
  },
  {
    name: 'optim norms in a caller-given buffer: one update dispatch, the same result as a temporary',
    async run(engine: Engine) {
      const { segments, totalLength: total } = LAYOUT;
      const spec: OptimizerSpec = { kind: 'adam', clipnorm: 0.7, weightDecay: 0.1 };
      const p = initialParams(segments, total, 61);
      const g = gradients(segments, total, 62);
      const a = new Arena(engine, spec, segments, total, p);
      const b = new Arena(engine, spec, segments, total, p);
      const hyperA = createOptimizerHyper(engine, spec, 0.02);
      const hyperB = createOptimizerHyper(engine, spec, 0.02);
      const grads = engine.createBufferWithData(g, storage(), 'optim test grads');
      const norms = engine.createBuffer({
        size: optimizerNormsBytes(segments),
        usage: storage(),
        label: 'norms',
      });
      encodeOptimizerAdvance(engine, spec, hyperA);
      encodeOptimizerAdvance(engine, spec, hyperB);
      encodeOptimizerUpdate(
        engine,
        spec,
        segments,
        { params: a.params, grads, state: a.state, hyper: hyperA },
        total,
      );
      encodeOptimizerNorms(engine, segments, { params: b.params, grads, norms }, total);
      const before = engine.stats();
      encodeOptimizerUpdate(
        engine,
        spec,
        segments,
        { params: b.params, grads, state: b.state, hyper: hyperB, norms },
        total,
      );
      expectEqual(engine.stats().dispatches - before.dispatches, 1, 'dispatches with norms given');
      const [pa = new Float32Array(0)] = await a.read();
      const [pb = new Float32Array(0)] = await b.read();
      expectClose(pb, pa, EXACT, 'params: norms given vs temporary');
      const small = engine.createBuffer({ size: 4, usage: storage(), label: 'small norms' });
      await expectError(
        () =>
          encodeOptimizerUpdate(
            engine,
            spec,
            segments,
            { params: b.params, grads, state: b.state, hyper: hyperB, norms: small },
            total,
          ),
        RangeError,
        [/norms/],
        'a norms buffer too small',
      );
      engine.releaseBuffer(small);
      a.dispose();
      b.dispose();
      for (const x of [hyperA, hyperB, grads, norms]) engine.releaseBuffer(x);
    },
  },
];

/**
 * The segment table's chunk map (shaders/common.ts, segment_at) against the binary search it
 * replaced: for every ARENA_ALIGN-element chunk, the last non-empty segment starting at or
 * before it. Layouts: planArena's (segments back to back, empty ones among them) and a
 * hand-made one starting past 0 with gaps. The update cases above run the map on the GPU.
 */
const mapCases: KernelCase[] = [
  {
    name: 'optim: segment table chunk map equals the binary search over the segments',
    run() {
      const layouts: { segments: ArenaSegment[]; total: number }[] = [];
      const planned = planArena(
        [5, 0, 64, 700, 1, 0, 129, 3000, 64].map((length, k) => ({ length, l2: k / 10 })),
      );
      layouts.push({ segments: planned.segments, total: planned.totalLength });
      layouts.push({
        segments: [
          { offset: 128, length: 10, l1: 0, l2: 0 },
          { offset: 512, length: 64, l1: 0.5, l2: 0 },
          { offset: 1024, length: 300, l1: 0, l2: 0.25 },
        ],
        total: 1408,
      });
      for (const [n, { segments, total }] of layouts.entries()) {
        const words = segmentTableWords(segments, total);
        const floats = new Float32Array(words.buffer);
        const count = words[0] ?? 0;
        const offsets = Array.from({ length: count }, (_, k) => words[4 + 4 * k] ?? NaN);
        const chunks = Math.ceil(total / ARENA_ALIGN);
        for (let c = 0; c < chunks; c++) {
          // The binary search segment_at used: the last segment whose offset is <= i.
          let lo = 0;
          let hi = count;
          while (hi - lo > 1) {
            const mid = (lo + hi) >> 1;
            if ((offsets[mid] ?? NaN) <= c * ARENA_ALIGN) lo = mid;
            else hi = mid;
          }
          const at = 4 + 4 * count + c;
          const got = c % 4 < 2 ? words[at] : floats[at];
          if (got !== lo)
            throw new Error(`layout ${n}: chunk ${c} maps to segment ${got}, the search finds ${lo}`);
        }
      }
      return Promise.resolve();
    },
  },
];

export const cases: KernelCase[] = [
  ...variantCases,
  ...otherCases,
  ...commonCases,
  ...watchedCases,
  ...mapCases,
];
