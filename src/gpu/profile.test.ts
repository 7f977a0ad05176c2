/**
 * The kernel profile: chosen from the adapter's description, shown in the engine's report,
 * pinned by initEngine({ kernels }); and the matmul geometry each profile gives. The GPU
 * profiles' split products run here on the software adapter (pinned), against the CPU
 * profile's training of the same model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniformF32 } from '../../kernels-test/harness.js';
import { GpuData } from '../graph/dataset.js';
import { Executor } from '../graph/executor.js';
import { Graph } from '../graph/ir.js';
import * as ops from '../graph/ops/index.js';
import { matmulTiling, type MatmulSpec } from '../kernels/matmul.js';
import { GPUInitError, initEngine, type Engine } from '../node/index.js';
import type { AdapterDescription } from './capabilities.js';
import { chooseKernelProfile, describeKernelProfile, type KernelProfile } from './profile.js';

const adapter = (name: string, vendor: string, isFallback = false): AdapterDescription => ({
  name,
  vendor,
  architecture: '',
  device: '',
  isFallback,
  runtime: 'node-dawn',
});

describe('kernel profile choice', () => {
  it('a software adapter is cpu; hardware by vendor; an unknown vendor gpu; a pinned one as asked', () => {
    const cases: [AdapterDescription, string, string][] = [
      [adapter('llvmpipe (LLVM 15.0.6)', 'mesa', true), 'cpu', 'software adapter'],
      [adapter('SwiftShader Device', 'google', true), 'cpu', 'software adapter'],
      [adapter('NVIDIA H100 80GB HBM3', 'nvidia'), 'nvidia', 'vendor nvidia'],
      [adapter('AMD Radeon RX 7900 XTX', 'amd'), 'amd', 'vendor amd'],
      [adapter('Intel(R) Arc(TM) A770', 'intel'), 'intel', 'vendor intel'],
      [adapter('Apple M2', 'apple'), 'apple', 'vendor apple'],
      [adapter('Mali-G78', 'arm'), 'gpu', 'vendor "arm" not known'],
    ];
    for (const [a, name, reason] of cases) {
      const p = chooseKernelProfile(a);
      expect([p.name, p.reason]).toEqual([name, reason]);
      expect(p.fillWorkgroups === 0).toBe(name === 'cpu');
      expect(p.thin).toBe(name === 'cpu' ? 'cpu' : 'gpu');
      // SwiftShader runs the thin kernel faster than the tiled one with A transposed too.
      expect(p.thinTransA).toBe(a.name.startsWith('SwiftShader'));
    }
    const pinnedCpu = chooseKernelProfile(adapter('google swiftshader', 'google', true), {}, 'cpu');
    expect([pinnedCpu.thin, pinnedCpu.thinTransA]).toEqual(['cpu', true]);
    const pinned = chooseKernelProfile(cases[0]?.[0] ?? adapter('', ''), {}, 'nvidia');
    expect([pinned.name, pinned.reason, pinned.fillWorkgroups]).toEqual(['nvidia', 'asked for', 256]);
  });

  it('describes itself in one line, with the subgroup sizes the adapter gives', () => {
    const nv = chooseKernelProfile(adapter('NVIDIA H100', 'nvidia'), {
      subgroupMinSize: 32,
      subgroupMaxSize: 32,
      subgroups: true,
    });
    expect(describeKernelProfile(nv)).toBe(
      'kernels nvidia (vendor nvidia): fill 256 workgroups, k-step 16, thin gpu, subgroups 32 (row reductions), tune cached',
    );
    expect(nv.subgroupLanes).toBe(32);
    const cpu = chooseKernelProfile(adapter('llvmpipe', 'mesa', true), {
      subgroupMinSize: 4,
      subgroupMaxSize: 16,
    });
    // Sizes said, but no 'subgroups' feature on the device (or initEngine({ subgroups: false })).
    expect(describeKernelProfile(cpu)).toBe(
      'kernels cpu (software adapter): no split k, k-step 8, Xᵀ·dY 128×64 k-step 16, thin cpu, subgroups 4–16 (unused), tune off',
    );
    expect(cpu.subgroupLanes).toBe(0);
    // A row takes at most 32 lanes, whatever the subgroup; sizes that WGSL does not allow
    // (not a power of two, below 4) are not used.
    const wide = (min: number, max: number) =>
      chooseKernelProfile(adapter('AMD', 'amd'), {
        subgroupMinSize: min,
        subgroupMaxSize: max,
        subgroups: true,
      }).subgroupLanes;
    expect([wide(64, 64), wide(8, 32), wide(4, 4), wide(2, 2), wide(12, 16)]).toEqual([32, 8, 4, 0, 0]);
    expect(describeKernelProfile(chooseKernelProfile(adapter('google swiftshader', 'google', true)))).toBe(
      'kernels cpu (software adapter): no split k, k-step 8, Xᵀ·dY 128×64 k-step 8, thin cpu (Aᵀ too), tune off',
    );
    const odd = chooseKernelProfile(adapter('x', 'y'), { subgroupMinSize: 64, subgroupMaxSize: 32 });
    expect(odd.subgroupSizes).toBeUndefined();
  });
});

describe('matmul geometry per profile', () => {
  const cpu = chooseKernelProfile(adapter('llvmpipe', 'mesa', true));
  const nvidia = chooseKernelProfile(adapter('NVIDIA H100', 'nvidia'));
  const intel = chooseKernelProfile(adapter('Intel Arc', 'intel'));
  // The seed MLP (784-512-512-10) at batch 128: forward, dW and dX products.
  const products: [string, MatmulSpec][] = [
    ['forward 1', { m: 128, n: 512, k: 784 }],
    ['forward 3', { m: 128, n: 10, k: 512 }],
    ['dW 1', { m: 784, n: 512, k: 128, transA: true }],
    ['dW 3', { m: 512, n: 10, k: 128, transA: true }],
    ['dX 2', { m: 128, n: 512, k: 512, transB: true }],
  ];

  it('cpu keeps the measured choices: 64×64 tiles (32 along a side of 32 or less, 128×16 for ≤ 16 columns), k-step 8, no split; 128×64 for a large weight gradient', () => {
    for (const [what, spec] of products) {
      const t = matmulTiling(spec, cpu);
      expect(t.splitK, what).toBeUndefined();
      if (what === 'dW 1') continue;
      expect(t, what).toEqual(matmulTiling(spec));
      expect(t.tk, what).toBe(8);
    }
    expect(matmulTiling({ m: 128, n: 10, k: 512 }, cpu)).toMatchObject({ wgX: 4, wgY: 16, bm: 2, bn: 1 });
    // Xᵀ·dY of at least 256 rows and more than 16 columns: 4×2 blocks of 8×8 threads, k-step
    // 16 (8 on SwiftShader); not below 256 rows, for 16 columns or fewer, nor with B transposed.
    const swiftShader = chooseKernelProfile(adapter('SwiftShader Device', 'google', true));
    const gradient = (spec: MatmulSpec, p: KernelProfile) => {
      const t = matmulTiling(spec, p);
      return [t.bm, t.bn, t.tk, t.wgX, t.wgY];
    };
    expect(gradient({ m: 784, n: 512, k: 128, transA: true }, cpu)).toEqual([4, 2, 16, 8, 8]);
    expect(gradient({ m: 256, n: 17, k: 3, transA: true }, cpu)).toEqual([4, 2, 16, 8, 8]);
    expect(gradient({ m: 784, n: 512, k: 32, transA: true }, swiftShader)).toEqual([4, 2, 8, 8, 8]);
    expect(gradient({ m: 255, n: 512, k: 128, transA: true }, cpu)).toEqual([2, 2, 8, 8, 8]);
    expect(gradient({ m: 784, n: 16, k: 128, transA: true }, cpu)).toEqual([2, 1, 8, 4, 16]);
    expect(gradient({ m: 784, n: 512, k: 128, transA: true, transB: true }, cpu)).toEqual([2, 2, 8, 8, 8]);
    expect(gradient({ m: 784, n: 512, k: 128 }, cpu)).toEqual([2, 2, 8, 8, 8]);
    expect(nvidia.weightGradient).toBeUndefined();
  });

  it('a GPU profile takes 32×32 tiles where 64×64 leave it idle, then splits k', () => {
    const got = Object.fromEntries(
      products.map(([what, spec]) => {
        const t = matmulTiling(spec, nvidia);
        return [what, [4 * t.bm * t.wgY, 4 * t.bn * t.wgX, t.tk, t.splitK ?? 1]];
      }),
    );
    // forward 1: 2×8 = 16 tiles of 64² < 256 → 32²: 4×16 = 64, still < 256 → split
    // min(16, ⌈256/64⌉ = 4, ⌊784/64⌋ = 12) = 4. forward 3: 128×16 → 64×16 tiles: 2 → split
    // min(16, 128, 8) = 8. dW 1: 32²: 25×16 = 400 ≥ 256, no split. dW 3: 8 tiles → split
    // min(16, 32, ⌊128/64⌋ = 2) = 2. dX 2: 64 tiles → split min(16, 4, 8) = 4.
    expect(got).toEqual({
      'forward 1': [32, 32, 16, 4],
      'forward 3': [64, 16, 16, 8],
      'dW 1': [32, 32, 16, 1],
      'dW 3': [64, 16, 16, 2],
      'dX 2': [32, 32, 16, 4],
    });
    // A smaller device fills sooner: Intel's 64 workgroups are 64 tiles of forward 1.
    expect(matmulTiling({ m: 128, n: 512, k: 784 }, intel).splitK).toBeUndefined();
  });
});

describe('initEngine({ kernels })', () => {
  let cpuEngine: Engine;
  let gpuEngine: Engine;
  beforeAll(async () => {
    gpuEngine = await initEngine({ adapter: 'software', log: false, kernels: 'nvidia', tune: 'off' });
    cpuEngine = await initEngine({ adapter: 'software', log: false, kernels: 'auto' });
  });
  afterAll(() => {
    gpuEngine.dispose();
    cpuEngine.dispose();
  });

  it('pins the profile and shows it in the report line; unknown options and profiles are refused', async () => {
    expect(cpuEngine.profile.name).toBe('cpu');
    expect(gpuEngine.profile).toMatchObject({ name: 'nvidia', reason: 'asked for' });
    const lines: string[] = [];
    const e = await initEngine({ adapter: 'software', log: (l) => lines.push(l) });
    e.dispose();
    expect(lines[0]).toMatch(
      /^webgpu-mlp: adapter ".+" \(software fallback, node-dawn.*\); kernels cpu \(software adapter\): no split k, k-step 8, Xᵀ·dY 128×64 k-step \d+, thin cpu/,
    );
    await expect(initEngine({ adapter: 'software', kernels: 'nvidea' as 'nvidia' })).rejects.toThrow(
      /kernels must be 'auto' or one of cpu, nvidia, amd, intel, apple, gpu, got nvidea/,
    );
    const err = await initEngine({ adapter: 'software', kernel: 'cpu' } as never).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(GPUInitError);
    expect((err as GPUInitError).code).toBe('bad-option');
    expect(String(err)).toMatch(/unknown option 'kernel'; did you mean 'kernels'\?/);
  });

  it('the GPU profile splits products in a compiled step and trains as the CPU profile does', async () => {
    const build = (): Graph => {
      const g = new Graph();
      let x = g.input('x', 8);
      const sizes = [8, 130, 130, 10];
      for (let i = 1; i < sizes.length; i++) {
        const [a, b] = [sizes[i - 1] as number, sizes[i] as number];
        const lim = Math.sqrt(6 / (a + b));
        const w = g.param(`d${i}/kernel`, [a, b], uniformF32(a * b, -lim, lim, 40 + i));
        const bias = g.param(`d${i}/bias`, [b], uniformF32(b, -0.1, 0.1, 50 + i));
        x = ops.dense(g, `d${i}`, x, w, bias, { name: i === 3 ? 'softmax' : i === 2 ? 'tanh' : 'relu' });
      }
      g.loss(x, 'categorical_crossentropy', 'sparse');
      g.metric(0, 'sparse');
      return g;
    };
    const rows = 130 * 2;
    const run = async (
      engine: Engine,
    ): Promise<{ loss: number; weights: Float32Array[]; labels: string[] }> => {
      const data = new GpuData(engine, {
        inputs: [{ data: uniformF32(rows * 8, -1, 1, 60), width: 8 }],
        targets: [{ data: Uint8Array.from(uniformF32(rows, 0, 9.99, 61), Math.floor), width: 1 }],
      });
      const t = new Executor(engine, build(), { spec: { kind: 'adam' }, learningRate: 1e-2 });
      const labels = t.plan('train', 130, data).stats().dispatches;
      const logs = await t.trainEpoch(data, { batchSize: 130, shuffle: false });
      const weights = await t.readWeights();
      t.dispose();
      data.dispose();
      return { loss: logs.loss, weights, labels };
    };
    const cpu = await run(cpuEngine);
    const gpu = await run(gpuEngine);
    // k = 130 makes two chunks of 64 (k-step 16, at least 4 steps a chunk): forward 2
    // (25 tiles of 32²) and 3 (3 tiles of 64×16), the dW of layers 3 and 2 with their db (10
    // and 25 tiles), dX 2 with relu' (25 tiles); not dX 3 (k = 10), nor layer 1's dW of 8
    // rows (the thin kernel, its db a sum of its own).
    expect(cpu.labels.filter((l) => l.includes('_split'))).toEqual([]);
    expect(gpu.labels.filter((l) => /_split\d/.test(l)).map((l) => l.replace(/ .*/, ''))).toEqual([
      'd2_NN_split2',
      'd3_NN_split2',
      'd3_dW_TN_sums_split2',
      'd2_dW_TN_sums_split2',
      'd2_dX_NT_dact_relu_split2',
    ]);
    for (const labels of [cpu.labels, gpu.labels]) {
      expect(labels).toContain('d1_dW_TN 8x130x130');
      expect(labels).toContain('d1_db');
    }
    expect(gpu.loss).toBeCloseTo(cpu.loss, 5);
    for (const [i, w] of gpu.weights.entries()) {
      const ref = cpu.weights[i] ?? new Float32Array(0);
      const worst = w.reduce((m, v, j) => Math.max(m, Math.abs(v - (ref[j] ?? NaN))), 0);
      expect(worst, `weight ${i}`).toBeLessThan(1e-5);
    }
  });
});
