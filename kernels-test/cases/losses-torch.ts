/**
 * The PyTorch losses of encodeTorchLoss (torch_bce, torch_bce_with_logits,
 * torch_cross_entropy, torch_nll, torch_mse, torch_l1, each with reduction 'mean' | 'sum' |
 * 'none') against PyTorch 1.13 itself: test/fixtures/torch.json `losses`, written by
 * test/fixtures/make_torch.py (33 entries: the loss, and the gradient w.r.t. the input of
 * backward() or, for 'none', of backward(grad_output)); against the float64 reference
 * (torchLossReference) on those and on larger random shapes; and the refusal of bad specs.
 *
 * Tolerances (|a − e| ≤ atol + rtol·|e|):
 * - TOL_TORCH (atol 2e-6, rtol 1e-5), GPU or float64 reference vs PyTorch. PyTorch is an f32
 *   computation: each value is a few roundings of 2^-24 plus its log/exp (glibc's, < 1 ULP),
 *   then a sum of ≤ 12 values; the GPU's are WGSL's log (3 ULP, or 2^-21 absolute in
 *   [0.5, 2]) and exp (3 + 2|x| ULP), and a tree sum in another order. Values are O(1) up to
 *   2000 (CE's ±1000 logits) and the BCE gradients reach 1e12 where the denominator x(1 − x)
 *   is floored at 1e-12: those are held by rtol (a fixed atol would mean nothing there).
 *   atol covers results near zero formed from O(1) operands (softmax − 1, BCE's log near 1,
 *   log(1 + e^-x) − x·y cancelling at ±30 logits), whose absolute error is a few ULP of 1.
 *   Measured on llvmpipe (Node, Dawn) over the 33 entries: GPU vs PyTorch at most 1.2e-6
 *   relative (a CE row loss of 0.07), 1.2e-4 absolute on CE's loss of ~2000 (6e-8 relative),
 *   and the 1e12 BCE gradients exact; float64 vs PyTorch at most 4e-7 relative (the 1e12
 *   gradients 1.7e-8: PyTorch's floor is 1e-12 rounded to f32).
 * - TOL_GPU_REF (atol 2e-6, rtol 2e-5) for GPU vs float64 on the random shapes (rows up to
 *   300, cols up to 257: row sums of ≤ 257 terms, then a sum of ≤ 300 row partials; the
 *   losses.ts bound for a row, with rtol doubled for the second sum); the gradient's atol is
 *   scaled by its largest |value| (softmax − onehot cancels O(1) operands, as in losses.ts).
 * - NaN results and refusals are exact.
 */
import fixture from '../../test/fixtures/torch.json';
import type { Engine } from '../../src/index.js';
import {
  encodeTorchLoss,
  TORCH_LOSS_KINDS,
  TORCH_REDUCTIONS,
  torchLossIsClassIndexed,
  torchLossReference,
  type TorchLossBuffers,
  type TorchLossKind,
  type TorchLossSpec,
  type TorchReduction,
} from '../../src/kernels/torch-losses.js';
import { expectClose, expectEqual, expectError, rng, uniformF32, type Tolerance } from '../harness.js';
import type { KernelCase } from './types.js';

const TOL_TORCH: Tolerance = { atol: 2e-6, rtol: 1e-5 };
const TOL_GPU_REF: Tolerance = { atol: 2e-6, rtol: 2e-5 };

interface TorchLossEntry {
  loss: string;
  label: string;
  kwargs: { weight?: number[]; ignore_index?: number };
  reduction: TorchReduction;
  input: number[][];
  target: number[][] | number[];
  target_dtype: 'float' | 'long';
  output: number | number[] | number[][];
  grad: number[][];
  grad_output?: number[] | number[][];
}

const ENTRIES = fixture.losses as unknown as TorchLossEntry[];

const KIND_OF: Record<string, TorchLossKind> = {
  BCELoss: 'torch_bce',
  BCEWithLogitsLoss: 'torch_bce_with_logits',
  CrossEntropyLoss: 'torch_cross_entropy',
  NLLLoss: 'torch_nll',
  MSELoss: 'torch_mse',
  L1Loss: 'torch_l1',
};

const IN = (): GPUBufferUsageFlags => GPUBufferUsage.STORAGE;
const OUT = (): GPUBufferUsageFlags =>
  GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

async function readF32(engine: Engine, buffer: GPUBuffer, n: number, what: string): Promise<Float32Array> {
  return new Float32Array(await engine.read(buffer, n * 4, what));
}

interface Inputs {
  input: Float32Array;
  /** f32 targets, or class ids (written as i32). */
  target: Float32Array | Int32Array;
  weight?: Float32Array;
  gradOutput?: Float32Array;
}

function outputCount(spec: TorchLossSpec): number {
  if ((spec.reduction ?? 'mean') !== 'none') return 1;
  return torchLossIsClassIndexed(spec.kind) ? spec.rows : spec.rows * spec.cols;
}

/** Runs encodeTorchLoss; `withScratch` passes a caller-owned scratch for 'mean'/'sum'. */
async function runTorchLoss(
  engine: Engine,
  spec: TorchLossSpec,
  x: Inputs,
  withScratch = false,
): Promise<{ output: Float32Array; gradInput: Float32Array }> {
  const n = spec.rows * spec.cols;
  const m = outputCount(spec);
  const made: GPUBuffer[] = [];
  const make = (data: Float32Array | Int32Array, what: string): GPUBuffer => {
    const b = engine.createBufferWithData(data, IN(), `losses-torch ${what}`);
    made.push(b);
    return b;
  };
  const empty = (count: number, what: string): GPUBuffer => {
    const b = engine.createBuffer({ size: count * 4, usage: OUT(), label: `losses-torch ${what}` });
    made.push(b);
    return b;
  };
  const buffers: TorchLossBuffers = {
    input: make(x.input, 'input'),
    target: make(x.target, 'target'),
    output: empty(m, 'output'),
    gradInput: empty(n, 'gradInput'),
  };
  if (x.weight) buffers.weight = make(x.weight, 'weight');
  if (x.gradOutput) buffers.gradOutput = make(x.gradOutput, 'gradOutput');
  if (withScratch) buffers.scratch = empty(spec.rows + 1, 'scratch');
  encodeTorchLoss(engine, spec, buffers);
  const output = await readF32(engine, buffers.output as GPUBuffer, m, 'losses-torch output');
  const gradInput = await readF32(engine, buffers.gradInput as GPUBuffer, n, 'losses-torch gradInput');
  for (const b of made) engine.releaseBuffer(b);
  return { output, gradInput };
}

function flat(v: number | number[] | number[][]): number[] {
  return typeof v === 'number' ? [v] : (v as (number | number[])[]).flat();
}

function entryName(e: TorchLossEntry): string {
  const kw = Object.keys(e.kwargs).length > 0 ? ` ${JSON.stringify(e.kwargs).replace(/"/g, '')}` : '';
  return `${e.loss}${kw} ${e.label.split(':')[0] ?? ''} (${e.reduction})`;
}

const fixtureCases: KernelCase[] = ENTRIES.map((e) => ({
  name: `losses-torch ${entryName(e)} against PyTorch 1.13 and float64`,
  async run(engine: Engine) {
    const kind = KIND_OF[e.loss];
    if (!kind) throw new Error(`fixture loss ${e.loss} not mapped`);
    const unknown = Object.keys(e.kwargs).filter((k) => k !== 'weight' && k !== 'ignore_index');
    if (unknown.length > 0) throw new Error(`fixture ${e.loss}: keywords ${unknown.join(', ')} not mapped`);
    const rows = e.input.length;
    const cols = e.input[0]?.length ?? 0;
    const spec: TorchLossSpec = { kind, rows, cols, reduction: e.reduction };
    if (e.kwargs.ignore_index !== undefined) spec.ignoreIndex = e.kwargs.ignore_index;
    expectEqual(e.target_dtype === 'long', torchLossIsClassIndexed(kind), `${e.loss}: target dtype`);
    const x: Inputs = {
      input: Float32Array.from(e.input.flat()),
      target:
        e.target_dtype === 'long'
          ? Int32Array.from(e.target as number[])
          : Float32Array.from((e.target as number[][]).flat()),
    };
    if (e.kwargs.weight) x.weight = Float32Array.from(e.kwargs.weight);
    if (e.grad_output) x.gradOutput = Float32Array.from(flat(e.grad_output));
    const torchOut = flat(e.output);
    const torchGrad = e.grad.flat();
    const what = entryName(e);

    const ref = torchLossReference(spec, x.input, x.target, { weight: x.weight, gradOutput: x.gradOutput });
    expectClose(ref.output, torchOut, TOL_TORCH, `${what}: float64 loss vs PyTorch`);
    expectClose(ref.gradInput, torchGrad, TOL_TORCH, `${what}: float64 gradient vs PyTorch`);

    for (const withScratch of e.reduction === 'none' ? [false] : [false, true]) {
      const gpu = await runTorchLoss(engine, spec, x, withScratch);
      const how = `${what}${withScratch ? ' (caller scratch)' : ''}`;
      expectClose(gpu.output, torchOut, TOL_TORCH, `${how}: GPU loss vs PyTorch`);
      expectClose(gpu.gradInput, torchGrad, TOL_TORCH, `${how}: GPU gradient vs PyTorch`);
      expectClose(gpu.output, ref.output, TOL_TORCH, `${how}: GPU loss vs float64`);
      expectClose(gpu.gradInput, ref.gradInput, TOL_TORCH, `${how}: GPU gradient vs float64`);
    }
    // 'none' without grad_output: the gradient of the sum of the values.
    if (e.reduction === 'none') {
      const plain = { ...x, gradOutput: undefined };
      const gpu = await runTorchLoss(engine, spec, plain);
      const refSum = torchLossReference({ ...spec, reduction: 'sum' }, x.input, x.target, {
        weight: x.weight,
      });
      expectClose(gpu.gradInput, refSum.gradInput, TOL_TORCH, `${what}: 'none' without gradOutput`);
    }
  },
}));

/** Random inputs of a kind: probabilities in (0, 1), logits in [−8, 8], ids with some ignored. */
function randomInputs(kind: TorchLossKind, rows: number, cols: number, seed: number): Inputs {
  const n = rows * cols;
  const r = rng(seed);
  if (torchLossIsClassIndexed(kind)) {
    let input = uniformF32(n, -8, 8, seed + 1);
    if (kind === 'torch_nll') {
      // log_softmax of the logits, rounded to f32.
      const ls = new Float32Array(n);
      for (let i = 0; i < rows; i++) {
        const row = Array.from(input.subarray(i * cols, (i + 1) * cols));
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
        for (let j = 0; j < cols; j++) ls[i * cols + j] = (row[j] ?? NaN) - lse;
      }
      input = ls;
    }
    const target = Int32Array.from({ length: rows }, (_, i) => (i % 7 === 3 ? -100 : Math.floor(r() * cols)));
    return { input, target, weight: uniformF32(cols, 0.1, 2, seed + 2) };
  }
  const target = uniformF32(n, 0, 1, seed + 3);
  if (kind === 'torch_bce') return { input: uniformF32(n, 0.001, 0.999, seed + 4), target };
  if (kind === 'torch_bce_with_logits') return { input: uniformF32(n, -8, 8, seed + 4), target };
  return { input: uniformF32(n, -3, 3, seed + 4), target };
}

function gradTolerance(expected: ArrayLike<number>): Tolerance {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i] ?? 0));
  return { atol: TOL_GPU_REF.atol * Math.max(max, 1e-3), rtol: TOL_GPU_REF.rtol };
}

const SHAPES: [number, number][] = [
  [1, 1],
  [7, 3],
  [300, 10],
  [33, 257],
];

const randomCases: KernelCase[] = TORCH_LOSS_KINDS.map((kind, k) => ({
  name: `losses-torch ${kind}: random shapes, every reduction, each row reduction, against float64`,
  async run(engine: Engine) {
    // The workgroup tree, and the subgroup butterfly where the engine has subgroups.
    const rowReductions =
      engine.profile.subgroupLanes > 0 ? (['workgroup', 'subgroup'] as const) : (['workgroup'] as const);
    for (const [s, [rows, cols]] of SHAPES.entries()) {
      for (const [reduction, rowReduction] of TORCH_REDUCTIONS.flatMap((r) =>
        rowReductions.map((w) => [r, w] as const),
      )) {
        const seed = 1000 * k + 10 * s;
        const base = randomInputs(kind, rows, cols, seed);
        const variants: Inputs[] = [{ ...base, weight: undefined }];
        if (base.weight) variants.push(base);
        for (const [v, x] of variants.entries()) {
          const spec: TorchLossSpec = { kind, rows, cols, reduction, gradScale: 0.75, rowReduction };
          if (reduction === 'none') x.gradOutput = uniformF32(outputCount(spec), -2, 2, seed + 7);
          else delete x.gradOutput;
          const what = `${kind} [${rows}, ${cols}] ${reduction}${v ? ' weighted' : ''} (${rowReduction} rows)`;
          const ref = torchLossReference(spec, x.input, x.target, x);
          const gpu = await runTorchLoss(engine, spec, x);
          expectClose(gpu.output, ref.output, TOL_GPU_REF, `${what}: loss`);
          expectClose(gpu.gradInput, ref.gradInput, gradTolerance(ref.gradInput), `${what}: gradient`);
        }
      }
    }
  },
}));

const nanCase: KernelCase = {
  name: 'losses-torch NaN inputs, bad class ids and BCE inputs outside [0, 1] give NaN',
  async run(engine: Engine) {
    const nan = NaN;
    // Element-wise: a NaN input or target, and BCE's out-of-range probability.
    for (const kind of ['torch_bce', 'torch_bce_with_logits', 'torch_mse', 'torch_l1'] as const) {
      const x: Inputs = {
        input: Float32Array.from([0.25, nan, 0.5, kind === 'torch_bce' ? 1.5 : 0.5]),
        target: Float32Array.from([1, 0, nan, 1]),
      };
      const none = await runTorchLoss(engine, { kind, rows: 2, cols: 2, reduction: 'none' }, x);
      const ref = torchLossReference({ kind, rows: 2, cols: 2, reduction: 'none' }, x.input, x.target);
      expectClose(none.output, ref.output, TOL_TORCH, `${kind} NaN: values`);
      expectClose(none.gradInput, ref.gradInput, TOL_TORCH, `${kind} NaN: gradient`);
      expectEqual(Number.isNaN(none.output[1]) && Number.isNaN(none.output[2]), true, `${kind}: NaN values`);
      const mean = await runTorchLoss(engine, { kind, rows: 2, cols: 2 }, x);
      expectEqual(Number.isNaN(mean.output[0]), true, `${kind} NaN: mean`);
    }
    // Class ids: 5 is out of range for 3 classes (PyTorch raises), −100 ignored.
    for (const kind of ['torch_cross_entropy', 'torch_nll'] as const) {
      const x: Inputs = {
        input: Float32Array.from([0.5, -1, 2, 1, nan, 0, -1, 0.25, 3]),
        target: Int32Array.from([5, 0, -100]),
      };
      const spec: TorchLossSpec = { kind, rows: 3, cols: 3, reduction: 'none' };
      const none = await runTorchLoss(engine, spec, x);
      const ref = torchLossReference(spec, x.input, x.target);
      expectClose(none.output, ref.output, TOL_TORCH, `${kind} bad id: values`);
      expectClose(none.gradInput, ref.gradInput, TOL_TORCH, `${kind} bad id: gradient`);
      expectEqual(Number.isNaN(none.output[0]), true, `${kind}: the bad id's row is NaN`);
      expectEqual(none.output[2], 0, `${kind}: the ignored row is 0`);
      for (const reduction of ['mean', 'sum'] as const) {
        const r = await runTorchLoss(engine, { ...spec, reduction }, x);
        expectEqual(Number.isNaN(r.output[0]), true, `${kind} bad id: ${reduction}`);
      }
      // Every row ignored: 'mean' is 0/0 = NaN, the gradient 0 (PyTorch's).
      const ignored: Inputs = {
        input: Float32Array.from([0.5, -1, 2, 1, 0, 3]),
        target: Int32Array.from([-100, -100]),
      };
      const all = await runTorchLoss(engine, { kind, rows: 2, cols: 3 }, ignored);
      expectEqual(Number.isNaN(all.output[0]), true, `${kind} all ignored: mean`);
      expectClose(all.gradInput, new Float64Array(6), TOL_TORCH, `${kind} all ignored: gradient`);
      const allRef = torchLossReference({ kind, rows: 2, cols: 3 }, ignored.input, ignored.target);
      expectEqual(Number.isNaN(allRef.output[0]), true, `${kind} all ignored: float64 mean`);
      expectClose(allRef.gradInput, new Float64Array(6), TOL_TORCH, `${kind} all ignored: float64 gradient`);
    }
  },
};

const refusalCase: KernelCase = {
  name: 'losses-torch bad specs and buffers are refused',
  async run(engine: Engine) {
    const buf = (n: number): GPUBuffer =>
      engine.createBuffer({ size: n * 4, usage: OUT(), label: 'refusal' });
    const [input, target, output, gradInput] = [buf(12), buf(12), buf(12), buf(12)];
    const [scratch, one, three] = [buf(4), buf(1), buf(3)];
    const made = [input, target, output, gradInput, scratch, one, three];
    const ok: TorchLossBuffers = { input, target, output, gradInput };
    const base: TorchLossSpec = { kind: 'torch_mse', rows: 4, cols: 3 };
    const bad: [string, TorchLossSpec, TorchLossBuffers, RegExp[]][] = [
      ['unknown kind', { ...base, kind: 'mse' as TorchLossKind }, ok, [/unknown kind/, /torch_bce/]],
      ['bad reduction', { ...base, reduction: 'avg' as TorchReduction }, ok, [/reduction must be one of/]],
      ['zero rows', { ...base, rows: 0 }, ok, [/rows must be a positive integer/]],
      ['fractional cols', { ...base, cols: 1.5 }, ok, [/cols must be/]],
      ['NaN gradScale', { ...base, gradScale: NaN }, ok, [/gradScale must be finite/]],
      ['ignoreIndex on mse', { ...base, ignoreIndex: 0 }, ok, [/ignoreIndex applies to/]],
      [
        'fractional ignoreIndex',
        { ...base, kind: 'torch_nll', ignoreIndex: 0.5 },
        ok,
        [/ignoreIndex must be an integer/],
      ],
      ['weight on mse', base, { ...ok, weight: three }, [/class weights apply to/]],
      [
        'gradOutput with mean',
        base,
        { ...ok, gradOutput: output },
        [/gradOutput applies to reduction 'none'/],
      ],
      ['short input', base, { ...ok, input: three }, [/buffer input .* needs 48/]],
      ['short target', base, { ...ok, target: three }, [/buffer target .* needs 48/]],
      [
        'short ids',
        { ...base, kind: 'torch_cross_entropy' },
        { ...ok, target: three },
        [/buffer target .*\[4\] u32 needs 16/],
      ],
      [
        'short none output',
        { ...base, reduction: 'none' },
        { ...ok, output: three },
        [/buffer output .*\[4, 3\] f32 needs 48/],
      ],
      [
        'short class-loss output',
        { ...base, kind: 'torch_nll', reduction: 'none' },
        { ...ok, output: three },
        [/buffer output .*\[4\] f32 needs 16/],
      ],
      ['short gradInput', base, { ...ok, gradInput: three }, [/buffer gradInput .* needs 48/]],
      [
        'short weight',
        { ...base, kind: 'torch_cross_entropy' },
        { ...ok, weight: one },
        [/buffer weight .*\[3\] f32 needs 12/],
      ],
      [
        'short gradOutput',
        { ...base, reduction: 'none' },
        { ...ok, gradOutput: three },
        [/buffer gradOutput .* needs 48/],
      ],
      ['short scratch', base, { ...ok, scratch }, [/buffer scratch .*\[5\] f32 needs 20/]],
    ];
    for (const [what, spec, buffers, patterns] of bad) {
      await expectError(
        () => encodeTorchLoss(engine, spec, buffers),
        RangeError,
        patterns,
        `refuses ${what}`,
      );
    }
    for (const b of made) engine.releaseBuffer(b);
  },
};

export const cases: KernelCase[] = [...fixtureCases, ...randomCases, nanCase, refusalCase];
