/**
 * The training benchmark's own checks: its FLOP and parameter counts against closed forms
 * and Keras's figures, its options, and one tiny run side by side with TF.js 4.22 (tfjs-layers
 * on the WebGPU backend, the same Dawn driver), where both engines start from the same
 * weights and must end the same epoch at the same loss.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { SavedRun } from './output.js';
import { geomean, trainReport } from './report.js';
import {
  DEEP_MLP,
  flopsPerSample,
  LAB_MLP,
  paramCount,
  parseArgs,
  resolveOptions,
  SEED_MLP,
  scenarios,
} from './scenarios.js';

describe('training benchmark', () => {
  it('counts parameters as Keras does and matmul FLOPs per sample in closed form', () => {
    expect(paramCount(SEED_MLP)).toBe(669_706); // Keras summary of Dense 512, 512, 10 on 784 inputs
    expect(paramCount(LAB_MLP)).toBe(669_706 + 4 * 1024); // + BN gamma, beta, moving mean, variance
    expect(paramCount(DEEP_MLP)).toBe(784 * 64 + 64 + 19 * (64 * 64 + 64) + 64 * 10 + 10);
    const macs = 784 * 512 + 512 * 512 + 512 * 10;
    expect(flopsPerSample(SEED_MLP, 'predict')).toBe(2 * macs);
    // forward + weight gradients + input gradients of layers 2 and 3 (the data needs none)
    expect(flopsPerSample(SEED_MLP, 'train')).toBe(4 * macs + 2 * (512 * 512 + 512 * 10));
  });

  it('options: defaults by adapter kind, scenario selection, clear errors', () => {
    const sw = resolveOptions({}, false);
    expect([sw.rows, sw.reps]).toEqual([2048, 3]);
    expect(resolveOptions({}, true).rows).toBe(32768);
    expect(scenarios(sw).map((s) => s.id)).toEqual([
      'mlp-b32',
      'mlp-b128',
      'mlp-b1024',
      'lab-b128',
      'deep-b128',
      'predict-b1',
      'predict-b1024',
    ]);
    const given = parseArgs([
      '--scenarios',
      'mlp,predict',
      '--batches',
      '64',
      '--rows',
      '512',
      '--no-tfjs',
      '--json',
      'x.json',
    ]);
    expect(given).toEqual({ groups: ['mlp', 'predict'], batches: [64], rows: 512, tfjs: false });
    expect(() => parseArgs(['--scenario', 'mlp'])).toThrow(/unknown option "--scenario"/);
    expect(() => parseArgs(['--scenarios', 'mlp,cnn'])).toThrow(/unknown group "cnn"/);
    expect(() => parseArgs(['--batches', '32,0'])).toThrow(/"0" is not a positive integer/);
    expect(() => parseArgs(['--rows'])).toThrow(/--rows needs a value/);
    expect(parseArgs(['--batches', '64,32,64']).batches).toEqual([64, 32]);
    expect(() => resolveOptions(given, false)).toThrow(
      /--rows 512 is smaller than the largest batch \(1024\)/,
    );
  });

  it('a tiny `npm run bench`: ours and TF.js train the same model from the same weights to the same loss; counts of ours', async () => {
    // The command itself, in a child process, writing its JSON.
    const json = join(mkdtempSync(join(tmpdir(), 'bench-')), 'run.json');
    const adapter = process.env.WEBGPU_MLP_ADAPTER === 'software' ? ['--software'] : [];
    const args = [
      '--scenarios',
      'mlp,predict',
      '--batches',
      '32',
      '--predict-batches',
      '1,32',
      '--rows',
      '64',
      '--optimizer',
      'sgd',
      '--kernels',
      'cpu', // the counts below are the cpu profile's on any adapter
    ];
    await promisify(execFile)(
      process.execPath,
      [
        'node_modules/tsx/dist/cli.mjs',
        'bench/train-node.ts',
        ...args,
        '--reps',
        '1',
        '--predict-ms',
        '1',
        '--json',
        json,
        ...adapter,
      ],
      { timeout: 300_000 },
    );
    const run = JSON.parse(readFileSync(json, 'utf8')) as SavedRun;
    expect(run.results.map((r) => r.id)).toEqual(['mlp-b32', 'predict-b1', 'predict-b32']);
    expect(run.tfjsVersion).toBe('4.22.0');
    const train = run.results[0];
    if (!train?.tfjs) throw new Error('no TF.js result');
    // Two SGD steps from identical weights on identical batches: float32 rounding only (Adam's
    // ε placement differs between Keras and TF.js: see the report).
    expect(train.ours.warmupLoss).toBeGreaterThan(1);
    expect(Math.abs((train.ours.warmupLoss ?? NaN) - (train.tfjs.warmupLoss ?? NaN))).toBeLessThan(1e-5);
    // As the executor test spells out, but for the targets: one-hot f32 rows here (as TF.js
    // takes them) are gathered by a dispatch of their own, where class ids ride in the
    // gather of the inputs.
    expect(train.ours.dispatchesPerStep).toBe(14);
    expect(train.ours.readbacksPerEpoch).toBe(2); // the logs, and the checkpoint of the weights
    expect(train.ratio).toBeCloseTo(train.ours.samplesPerS / train.tfjs.samplesPerS, 12);
    for (const r of run.results) {
      expect(r.ours.samplesPerS).toBeGreaterThan(0);
      expect(r.tfjs?.samplesPerS).toBeGreaterThan(0);
      expect(r.ours.peakBytes).toBeGreaterThan(r.ours.planBytes);
      // One repetition: the pair's ratio is the ratio.
      expect(r.ratioRange?.[0]).toBeCloseTo(r.ratio ?? NaN, 12);
      expect(r.ratioRange?.[1]).toBeCloseTo(r.ratio ?? NaN, 12);
    }
    // Memory against the parameter count (f32): training holds weights, gradients and (SGD)
    // the NaN-restore snapshot of the weights at least; TF.js's tensors, weights and
    // gradients at least; inference (not compiled) holds the weights and no training state.
    const params = 4 * train.params;
    expect(train.ours.peakBytes).toBeGreaterThan(3 * params);
    expect(train.tfjs.peakBytes).toBeGreaterThan(2 * params);
    const p1 = run.results[1];
    expect(p1?.ours.peakBytes).toBeGreaterThan(params);
    expect(p1?.ours.peakBytes).toBeLessThan(2 * params);
    expect(p1?.tfjs?.peakBytes).toBeGreaterThan(params);
    expect(p1?.tfjs?.peakBytes).toBeLessThan(2 * params);
    if (run.features.includes('timestamp-query')) {
      const p = train.ours.profile;
      expect(p?.dispatches).toHaveLength(train.ours.dispatchesPerStep);
      expect(p?.dispatches.every((d) => d.flops !== undefined && d.bytes !== undefined)).toBe(true);
    }
    const report = trainReport(run, { command: 'test' });
    expect(report).toContain(`| mlp-b32 `);
    expect(report).toContain(`**${train.ratio?.toFixed(2)}×**`);
    expect(geomean(run.results)).toBeCloseTo(
      Math.exp(run.results.reduce((s, r) => s + Math.log(r.ratio ?? NaN), 0) / run.results.length),
      12,
    );
  });
});
