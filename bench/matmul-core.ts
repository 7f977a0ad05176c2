/**
 * The matmul benchmark, shared by the Node (Dawn) and Chromium runs: GFLOP/s of our
 * encodeMatmul and of TF.js 4.22's WebGPU tf.matMul for the same shapes and transposes, on
 * the same adapter, in the same process, alternating shape by shape.
 *
 * Timing: after one warm-up, `reps` products back to back, then one 4-byte readback of the
 * last result (a slice, for TF.js), which waits for all of them; reps grow until a run
 * takes at least `minMs`. FLOPs are 2·m·n·k.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type { Engine } from '../src/gpu/engine.js';
import { profile } from '../src/gpu/profiler.js';
import { encodeMatmul, type MatmulSpec, type MatmulTiling } from '../src/kernels/matmul.js';

export interface MatmulCase {
  group: 'square' | 'mlp';
  /** e.g. "NN 128x784·784x512 (forward, batch 128)" */
  label: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

export interface MatmulRow extends MatmulCase {
  oursGflops: number;
  tfjsGflops: number;
  /** ours / TF.js */
  ratio: number;
  /** Ours from GPU timestamps (the sum of its dispatches, a split product's two), if asked. */
  oursGpuGflops?: number;
  /** Ours's dispatch labels for the product (a split shows "_split"). */
  oursKernels?: string[];
}

export interface MatmulBenchOptions {
  minMs: number;
  log: (line: string) => void;
  /** Ours with this tiling instead of the engine's own choice (undefined: its choice). */
  tiling?: (spec: MatmulSpec) => MatmulTiling | undefined;
  /** Also time one product of ours with GPU timestamps (needs 'timestamp-query'). */
  gpuTime?: boolean;
}

const variant = (transA: boolean, transB: boolean) => `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;

/**
 * Square sizes 128..maxSquare in NN, NT and TN, and the 784-512-512-10 MLP's products at each
 * batch size: forward X·W (NN), input gradient dY·Wᵀ (NT) and weight gradient Xᵀ·dY (TN).
 */
export function matmulCases(maxSquare: number, batches: readonly number[]): MatmulCase[] {
  const cases: MatmulCase[] = [];
  for (let s = 128; s <= maxSquare; s *= 2) {
    for (const [transA, transB] of [
      [false, false],
      [false, true],
      [true, false],
    ] as const) {
      cases.push({
        group: 'square',
        label: `${variant(transA, transB)} ${s}³`,
        m: s,
        n: s,
        k: s,
        transA,
        transB,
      });
    }
  }
  for (const batch of batches) {
    for (const [inF, outF] of [
      [784, 512],
      [512, 512],
      [512, 10],
    ] as const) {
      const shape = `${inF}→${outF}, batch ${batch}`;
      cases.push({
        group: 'mlp',
        label: `NN X·W ${shape}`,
        m: batch,
        n: outF,
        k: inF,
        transA: false,
        transB: false,
      });
      cases.push({
        group: 'mlp',
        label: `NT dY·Wᵀ ${shape}`,
        m: batch,
        n: inF,
        k: outF,
        transA: false,
        transB: true,
      });
      cases.push({
        group: 'mlp',
        label: `TN Xᵀ·dY ${shape}`,
        m: inF,
        n: outF,
        k: batch,
        transA: true,
        transB: false,
      });
    }
  }
  return cases;
}

function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

async function timeReps(run: (reps: number) => Promise<void>, minMs: number): Promise<number> {
  await run(1); // warm-up: compiles pipelines, allocates
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    await run(reps);
    const ms = performance.now() - t0;
    if (ms >= minMs || reps >= 256) return ms / reps;
    reps = Math.min(256, Math.max(reps * 2, Math.ceil((reps * minMs) / Math.max(ms, 1))));
  }
}

export async function runMatmulBench(
  engine: Engine,
  tf: typeof tfc,
  cases: readonly MatmulCase[],
  options: MatmulBenchOptions,
): Promise<MatmulRow[]> {
  const gpuTime = (options.gpuTime ?? false) && engine.features.has('timestamp-query');
  const rows: MatmulRow[] = [];
  for (const [i, c] of cases.entries()) {
    const aData = randomData(c.m * c.k, 2 * i + 1);
    const bData = randomData(c.k * c.n, 2 * i + 2);
    const flops = 2 * c.m * c.n * c.k;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

    const a = engine.createBufferWithData(aData, usage, 'bench A');
    const b = engine.createBufferWithData(bData, usage, 'bench B');
    const out = engine.createBuffer({ size: c.m * c.n * 4, usage, label: 'bench C' });
    const spec = { m: c.m, n: c.n, k: c.k, transA: c.transA, transB: c.transB };
    const tiling = options.tiling?.(spec);
    const product = (): void => encodeMatmul(engine, spec, { a, b, c: out }, 'bench', tiling);
    const oursMs = await timeReps(async (reps) => {
      for (let r = 0; r < reps; r++) product();
      await engine.read(out, 4, 'bench C');
    }, options.minMs);
    const timed = gpuTime ? await profile(engine, product) : undefined;
    for (const buf of [a, b, out]) engine.releaseBuffer(buf);

    const ta = tf.tensor2d(aData, c.transA ? [c.k, c.m] : [c.m, c.k]);
    const tb = tf.tensor2d(bData, c.transB ? [c.n, c.k] : [c.k, c.n]);
    const tfMs = await timeReps(async (reps) => {
      let last: tfc.Tensor | undefined;
      for (let r = 0; r < reps; r++) {
        last?.dispose();
        last = tf.matMul(ta, tb, c.transA, c.transB);
      }
      if (last) {
        const corner = tf.slice(last, [0, 0], [1, 1]);
        await corner.data();
        corner.dispose();
        last.dispose();
      }
    }, options.minMs);
    ta.dispose();
    tb.dispose();

    const row: MatmulRow = {
      ...c,
      oursGflops: flops / (oursMs * 1e6),
      tfjsGflops: flops / (tfMs * 1e6),
      ratio: tfMs / oursMs,
      ...(timed && timed.totalMs > 0 ? { oursGpuGflops: flops / (timed.totalMs * 1e6) } : {}),
      ...(timed ? { oursKernels: timed.dispatches.map((d) => d.label) } : {}),
    };
    rows.push(row);
    options.log(formatRow(row));
  }
  return rows;
}

export const TABLE_HEADER =
  '| product | m×k·k×n | ours GFLOP/s | TF.js GFLOP/s | ours/TF.js |\n|---|---|---:|---:|---:|';

export function formatRow(r: MatmulRow): string {
  return `| ${r.label} | ${r.m}×${r.k}·${r.k}×${r.n} | ${r.oursGflops.toFixed(2)} | ${r.tfjsGflops.toFixed(2)} | ${r.ratio.toFixed(2)}× |`;
}

/** Geometric mean of the ratios of a group. */
export function geomeanRatio(rows: readonly MatmulRow[]): number {
  if (rows.length === 0) return NaN;
  return Math.exp(rows.reduce((s, r) => s + Math.log(r.ratio), 0) / rows.length);
}
