/**
 * Adapter choice and engine set-up. The browser logic runs against a fake navigator.gpu;
 * the Node logic against the machine's real drivers (what it finds is asserted per branch:
 * on a machine without a GPU, 'hardware' must fail with an install hint).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { browserSource, describeAdapter, isFallback } from './init.js';
import { formatCompileMessage } from './errors.js';
import { contiguousSubgroupSize, PROBE_WORKGROUP, subgroupLayoutSize } from './subgroups.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import {
  dawnSource,
  ENGINE_FEATURES,
  ENGINE_LIMITS,
  GPUInitError,
  initEngine,
  softwareIcds,
  SOFTWARE_ICDS,
} from '../node/index.js';

function fakeAdapter(description: string, fallback: boolean | undefined): GPUAdapter {
  const info = { vendor: 'v', architecture: 'a', device: 'd', description, isFallbackAdapter: fallback };
  return { info } as unknown as GPUAdapter;
}

function fakeGpu(hardware: GPUAdapter | null, software: GPUAdapter | null): GPU & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    requestAdapter: (options?: GPURequestAdapterOptions) => {
      calls.push(options);
      return Promise.resolve(options?.forceFallbackAdapter ? software : (hardware ?? software));
    },
  } as unknown as GPU & { calls: unknown[] };
}

describe('browser adapter choice', () => {
  const hw = fakeAdapter('NVIDIA H100', false);
  const sw = fakeAdapter('SwiftShader', true);

  it("'auto' takes hardware when present, else the fallback adapter", async () => {
    expect((await browserSource(fakeGpu(hw, sw)).find('auto', 'high-performance'))?.adapter).toBe(hw);
    expect((await browserSource(fakeGpu(null, sw)).find('auto'))?.adapter).toBe(sw);
    expect(await browserSource(fakeGpu(null, null)).find('auto')).toBeNull();
  });

  it("'hardware' refuses a software adapter; 'software' forces the fallback", async () => {
    expect(await browserSource(fakeGpu(null, sw)).find('hardware')).toBeNull();
    const gpu = fakeGpu(hw, sw);
    expect((await browserSource(gpu).find('software'))?.adapter).toBe(sw);
    expect(gpu.calls).toEqual([{ forceFallbackAdapter: true }]);
  });

  it('passes the power preference through', async () => {
    const gpu = fakeGpu(hw, sw);
    await browserSource(gpu).find('auto', 'low-power');
    expect(gpu.calls[0]).toEqual({ powerPreference: 'low-power' });
  });

  it('recognises software adapters by name where isFallbackAdapter is missing', () => {
    expect(isFallback(fakeAdapter('SwiftShader Device (Subzero)', undefined))).toBe(true);
    expect(isFallback(fakeAdapter('llvmpipe (LLVM 15.0.6, 256 bits)', undefined))).toBe(true);
    expect(isFallback(fakeAdapter('NVIDIA GeForce RTX 4090', undefined))).toBe(false);
    expect(describeAdapter(fakeAdapter('', false), 'browser').name).toBe('v a d');
  });
});

describe('Node adapter choice (Dawn)', () => {
  afterEach(() => {
    delete process.env.WEBGPU_MLP_SOFTWARE_ICD;
  });

  it("'software' takes lavapipe first, then SwiftShader, from the usual ICD paths", async () => {
    const icds = softwareIcds();
    const first = icds[0];
    if (!first) {
      await expect(initEngine({ adapter: 'software', log: false })).rejects.toThrow(/mesa-vulkan-drivers/);
      return;
    }
    const engine = await initEngine({ adapter: 'software', log: false });
    expect(engine.adapter.isFallback).toBe(true);
    expect(engine.adapter.name).toMatch(first.includes('lvp') ? /llvmpipe/i : /swiftshader/i);
    engine.dispose();
  });

  it('WEBGPU_MLP_SOFTWARE_ICD picks another software driver', async () => {
    const swiftshader = SOFTWARE_ICDS.find((p) => p.includes('swiftshader') && existsSync(p));
    if (!swiftshader) {
      // Without Chromium's SwiftShader the variable names a file that does not exist: ignored.
      process.env.WEBGPU_MLP_SOFTWARE_ICD = '/nonexistent/icd.json';
      expect(softwareIcds()).not.toContain('/nonexistent/icd.json');
      return;
    }
    process.env.WEBGPU_MLP_SOFTWARE_ICD = swiftshader;
    expect(softwareIcds()[0]).toBe(swiftshader);
    const engine = await initEngine({ adapter: 'software', log: false });
    expect(engine.adapter.name).toMatch(/swiftshader/i);
    engine.dispose();
  });

  it("'auto' logs one line naming the adapter; 'hardware' fails with an install hint when there is none", async () => {
    const lines: string[] = [];
    const auto = await initEngine({ log: (l) => lines.push(l) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(auto.adapter.name);
    expect(lines[0]).toContain(auto.adapter.isFallback ? 'software fallback' : 'hardware');
    auto.dispose();
    if (auto.adapter.isFallback) {
      // 'auto' fell back, so this machine has no hardware adapter.
      const err = await initEngine({ adapter: 'hardware', log: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GPUInitError);
      expect((err as GPUInitError).code).toBe('no-adapter');
      expect((err as Error).message).toMatch(/No hardware WebGPU adapter.*Vulkan/);
      expect((err as Error).message).not.toContain('npm run setup');
    } else {
      const hw = await initEngine({ adapter: 'hardware', log: false });
      expect(hw.adapter.isFallback).toBe(false);
      hw.dispose();
    }
  });

  it("requests every limit the engine uses at the adapter's own value, and each optional feature it offers", async () => {
    // A second adapter of the same driver tells what the adapter offers; the engine reports what
    // its device got. Where the adapter beats WebGPU's defaults (lavapipe: 4 GiB buffers, 1024
    // invocations per workgroup), a device made with default limits would fail this.
    const found = await dawnSource.find('software', 'high-performance');
    expect(found).not.toBeNull();
    const offered = found?.adapter;
    const engine = await initEngine({ adapter: 'software', log: false });
    for (const name of ENGINE_LIMITS)
      expect([name, engine.limits[name]]).toEqual([name, offered?.limits[name]]);
    for (const f of ENGINE_FEATURES)
      expect([f, engine.features.has(f)]).toEqual([f, offered?.features.has(f)]);
    engine.dispose();
  });

  it('uses subgroups for row reductions only where the device lays them out contiguously, unless told not to', async () => {
    const engine = await initEngine({ adapter: 'software', log: false });
    // The probe itself, run again on this device: lane = index mod size, or 0.
    const size = await contiguousSubgroupSize(engine.device);
    const sizes = engine.profile.subgroupSizes;
    if (!engine.features.has('subgroups')) expect(size).toBe(0);
    expect(engine.profile.subgroupLanes).toBe(size > 0 && sizes ? Math.min(sizes[0], 32) : 0);
    engine.dispose();
    const off = await initEngine({ adapter: 'software', log: false, subgroups: false });
    expect(off.profile.subgroupLanes).toBe(0);
    off.dispose();
    await expect(initEngine({ log: false, subgroups: 'yes' as unknown as boolean })).rejects.toThrow(
      /subgroups must be true or false, got yes/,
    );
  });

  it('rejects an unknown adapter choice', async () => {
    await expect(initEngine({ adapter: 'gpu' as 'auto', log: false })).rejects.toThrow(
      /'auto', 'hardware' or 'software', got 'gpu'/,
    );
    await expect(initEngine({ adapter: 'gpu' as 'auto', log: false })).rejects.toMatchObject({
      code: 'bad-option',
    });
  });

  it('reuses one Dawn instance per driver environment, so its limit warnings print once per process', async () => {
    const a = await dawnSource.find('auto', 'high-performance');
    const b = await dawnSource.find('auto', 'high-performance');
    expect(a?.owner).toBeDefined();
    expect(b?.owner).toBe(a?.owner);
    // Dawn writes "max...PerPipelineLayout artificially reduced" to the process's stderr from
    // native code when an instance first enumerates a Vulkan device: count them in a child.
    const entry = fileURLToPath(new URL('../node/index.ts', import.meta.url));
    const script =
      `const { initEngine } = await import(${JSON.stringify(entry)});\n` +
      'for (let i = 0; i < 3; i++) (await initEngine({ log: false })).dispose();\n' +
      "console.log('three engines');";
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stdout.trim()).toBe('three engines');
    for (const limit of ['Uniform', 'Storage']) {
      const lines = child.stderr.split('\n').filter((l) => l.includes(`maxDynamic${limit}Buffers`));
      expect([limit, lines.length <= 1]).toEqual([limit, true]);
    }
  });

  it('DEBUG mode prints the WGSL of each new pipeline once, with its label', async () => {
    const engine = await initEngine({ log: false, debug: true });
    const spy = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const code = '@compute @workgroup_size(1) fn main() { let unique_marker_42 = 1; }';
    try {
      await engine.pipelineAsync(code, 'debug probe');
      await engine.pipelineAsync(code, 'debug probe'); // cached: printed once
      const printed = spy.mock.calls.map((c) => String(c[0]));
      const dumps = printed.filter((l) => l.includes('unique_marker_42'));
      expect(dumps).toHaveLength(1);
      expect(dumps[0]).toContain('"debug probe"');
    } finally {
      spy.mockRestore();
      engine.dispose();
    }
  });
});

describe('subgroupLayoutSize', () => {
  const words = (n: number, lane: (i: number) => number, size: (i: number) => number) =>
    Uint32Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? lane(k / 2) : size((k - 1) / 2)));
  it("probes the row kernels' own workgroup size", () => {
    expect(PROBE_WORKGROUP).toBe(WORKGROUP_1D);
  });
  it('takes a layout where every lane is the index mod one power-of-two size from 4 to 128', () => {
    for (const s of [4, 8, 32, 64, 128])
      expect(
        subgroupLayoutSize(
          words(
            256,
            (i) => i % s,
            () => s,
          ),
        ),
      ).toBe(s);
  });
  it('refuses lanes out of index order, mixed sizes, and sizes WGSL does not allow', () => {
    // Interleaved subgroups: invocations 0, 2, 4, ... in one, 1, 3, 5, ... in the other.
    expect(
      subgroupLayoutSize(
        words(
          256,
          (i) => Math.floor(i / 2) % 8,
          () => 8,
        ),
      ),
    ).toBe(0);
    expect(
      subgroupLayoutSize(
        words(
          256,
          (i) => (i < 128 ? i % 8 : i % 16),
          (i) => (i < 128 ? 8 : 16),
        ),
      ),
    ).toBe(0);
    expect(
      subgroupLayoutSize(
        words(
          256,
          (i) => i % 2,
          () => 2,
        ),
      ),
    ).toBe(0);
    expect(
      subgroupLayoutSize(
        words(
          256,
          (i) => i % 12,
          () => 12,
        ),
      ),
    ).toBe(0);
    expect(subgroupLayoutSize(new Uint32Array(0))).toBe(0);
  });
});

describe('formatCompileMessage', () => {
  it('shows every error with line:col, the source line and a caret under the span', () => {
    const src = 'fn a() {\n  let x = y;\n  let z = w;\n}';
    const msg = formatCompileMessage(
      'k',
      [
        { type: 'error', message: "unresolved value 'y'", line: 2, column: 11, length: 1 },
        { type: 'warning', message: 'unused', line: 3, column: 7, length: 1 },
        { type: 'error', message: "unresolved value 'w'", line: 3, column: 11, length: 1 },
      ],
      src,
    );
    expect(msg).toContain('(2 error(s))');
    expect(msg).toContain("2:11 error: unresolved value 'y'");
    expect(msg).toContain("3:11 error: unresolved value 'w'");
    expect(msg).not.toContain('unused'); // warnings are left out when there are errors
    const lines = msg.split('\n');
    const at = lines.findIndex((l) => l.endsWith('2 |   let x = y;'));
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]?.indexOf('^')).toBe((lines[at] ?? '').indexOf('y;'));
  });
});
