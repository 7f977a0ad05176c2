/**
 * `npm run bench:gpu -- --quick` end to end, so that the GPU machine's one call cannot rot
 * between the sessions that have one: every stage runs here on the software adapter and
 * writes its JSON, and the report renders from it (`npm run bench -- --report`). Counts are
 * asserted, never times.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GPU_STAGES, gpuReport, isGpuRun } from './gpu-report.js';

const run = promisify(execFile);

describe('npm run bench:gpu', () => {
  it('--quick runs every stage, writes the JSON, and --report renders it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-gpu-'));
    const json = join(dir, 'gpu.json');
    const adapter = process.env.WEBGPU_MLP_ADAPTER === 'software' ? ['--software'] : [];
    const tsx = 'node_modules/tsx/dist/cli.mjs';
    // The cpu kernel profile on any adapter: the counts below are its (a GPU one splits k).
    const args = ['--quick', '--kernels', 'cpu', '--json', json, ...adapter];
    await run(process.execPath, [tsx, 'bench/gpu.ts', ...args], {
      timeout: 300_000,
    });
    const saved: unknown = JSON.parse(readFileSync(json, 'utf8'));
    if (!isGpuRun(saved)) throw new Error('not a bench:gpu run');
    expect(saved.complete).toBe(true);
    expect(saved.errors).toEqual({});
    expect(Object.keys(saved.seconds).sort()).toEqual([...GPU_STAGES].sort());
    expect([saved.profile.name, saved.profile.reason]).toEqual(['cpu', 'asked for']);
    expect(saved.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);

    const gaps = saved.stages.gaps;
    expect(gaps?.dispatches).toBe(64);
    for (const us of [gaps?.dependentUs, gaps?.independentUs, gaps?.submitRoundTripUs]) {
      expect(us).toBeGreaterThan(0);
    }

    // Squares of 128 in NN, NT, TN and the MLP's 9 products at batch 32, three times (the
    // profile's tiles, the cpu profile's, the tuned ones); GPU time where the adapter has
    // timestamps.
    const mm = saved.stages.matmul;
    expect(mm?.profiled.map((r) => r.label)).toEqual(mm?.cpuTiles.map((r) => r.label));
    expect(mm?.tuned?.map((r) => r.label)).toEqual(mm?.cpuTiles.map((r) => r.label));
    expect(mm?.profiled).toHaveLength(3 + 9);
    const timestamps = saved.features.includes('timestamp-query');
    for (const r of mm?.profiled ?? []) {
      expect(r.oursGflops).toBeGreaterThan(0);
      expect(r.tfjsGflops).toBeGreaterThan(0);
      expect(r.oursKernels?.length ?? 0).toBe(timestamps ? 1 : 0); // the cpu profile never splits k
    }

    // The seed MLP and the deep model at batch 32, against TF.js; one-hot targets there.
    const train = saved.stages.train;
    expect(train?.results.map((r) => r.id)).toEqual(['mlp-b32', 'deep-b32']);
    expect(train?.results[0]?.ours.dispatchesPerStep).toBe(14);
    expect(train?.results.every((r) => (r.ratio ?? 0) > 0)).toBe(true);

    // The compiled step of the seed MLP with class ids: 13 dispatches, each profiled.
    const step = saved.stages.step?.[0];
    expect(step?.batch).toBe(32);
    expect(step?.stats.dispatchesPerStep).toBe(13);
    if (timestamps) expect(step?.profile?.dispatches).toHaveLength(13);
    expect(step?.encodeUsPerStep).toBeGreaterThan(0);

    const report = gpuReport(saved);
    // Every row of the matmul table has as many cells as its header.
    const table = report.split('\n').filter((l) => l.startsWith('| ') && l.includes('tuned'));
    const header = table[0] ?? '';
    const cells = (l: string): number => l.split('|').length;
    const rows = report.split('\n').filter((l) => l.startsWith('| NN 128³') || l.startsWith('| TN Xᵀ·dY'));
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(cells(r)).toBe(cells(header));
    for (const part of [
      '### GPU benchmark',
      '**Dispatch cost**',
      '**Matmul**',
      '#### Training',
      '**The compiled step**',
    ]) {
      expect(report).toContain(part);
    }
    const { stdout } = await run(process.execPath, [tsx, 'bench/train-node.ts', '--report', json], {
      timeout: 60_000,
    });
    expect(stdout).toContain(report);
  }, 320_000);
});
