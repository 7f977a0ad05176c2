/**
 * What `npm run bench:gpu` saves (GpuBenchRun) and the RESULTS.md section made from it
 * (`npm run bench -- --report FILE.json`): the adapter, the dispatch cost, the matmul sweep,
 * training against TF.js, and the compiled step, each measured figure against the issue's
 * targets where it has one. Works on a run that stopped early (the stages it has).
 */
import type { AdapterDescription } from '../src/gpu/capabilities.js';
import { describeKernelProfile, type KernelProfile } from '../src/gpu/profile.js';
import type { MatmulRow } from './matmul-core.js';
import type { BatchResult } from './step-core.js';
import type { BenchRun } from './train/core.js';
import { trainReport } from './train/report.js';

export const GPU_STAGES = ['gaps', 'matmul', 'train', 'step'] as const;
export type GpuStage = (typeof GPU_STAGES)[number];

export interface GapResult {
  /** Dispatches replayed per pass, and passes timed. */
  dispatches: number;
  reps: number;
  /** Wall µs per dispatch: each reads the previous one's word; each its own word. */
  dependentUs: number;
  independentUs: number;
  /** Wall µs of one dispatch submitted alone and waited for (median). */
  submitRoundTripUs: number;
}

export interface GpuBenchRun {
  kind: 'bench:gpu';
  version: 1;
  command: string;
  date: string;
  quick: boolean;
  runtime: string;
  versions: Record<string, string>;
  host: { cores: number; loadBefore: number; loadAfter?: number };
  adapter: AdapterDescription;
  profile: KernelProfile;
  features: string[];
  limits: Record<string, number>;
  /** The f32 peak of a GPU we know (bench/train/report.ts peakOf). */
  peak?: { name: string; tflops: number; tbps: number };
  tfjs?: { version: string; adapter: string };
  stages: {
    gaps?: GapResult;
    matmul?: { profiled: MatmulRow[]; cpuTiles: MatmulRow[]; tuned?: MatmulRow[] };
    train?: BenchRun;
    step?: BatchResult[];
  };
  /** Seconds each stage took, and the error of each that failed. */
  seconds: Partial<Record<GpuStage, number>>;
  errors: Partial<Record<GpuStage, string>>;
  /** False while the run is still going (or if it was cut short). */
  complete: boolean;
}

export function isGpuRun(x: unknown): x is GpuBenchRun {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'bench:gpu';
}

const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined || !Number.isFinite(x)
    ? '–'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function rowsTable(header: string[], align: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** A product's dispatches, "TN_split2 + TN_split_reduce", from its GPU-timed labels. */
function kernelList(r: MatmulRow | undefined): string {
  return (r?.oursKernels ?? []).map((k) => k.replace(/^bench_/, '').replace(/ .*/, '')).join(' + ') || '–';
}

/** The RESULTS.md section of a GPU benchmark run. */
export function gpuReport(run: GpuBenchRun): string {
  const a = run.adapter;
  const peak = run.peak;
  const lines: string[] = [
    `### GPU benchmark — ${run.runtime} — ${a.name}${a.device ? ` (${a.device})` : ''}`,
    '',
    `\`${run.command}\`, ${run.date}${run.quick ? ' (--quick: sizes for a test, not for reading)' : ''}` +
      `${run.complete ? '' : ' — the run stopped before its end; the stages below are those it finished'}. ` +
      `Adapter: vendor "${a.vendor}", architecture "${a.architecture}", ${a.isFallback ? 'software' : 'hardware'}; ` +
      `${describeKernelProfile(run.profile).replace(/^kernels /, 'Kernel profile ')}. ` +
      `Features: ${run.features.join(', ') || 'none'}. ` +
      `Limits: ${[
        'maxComputeWorkgroupStorageSize',
        'maxComputeInvocationsPerWorkgroup',
        'maxStorageBufferBindingSize',
        'maxBufferSize',
      ]
        .map((k) => `${k} ${fmt(run.limits[k])}`)
        .join(', ')}. ` +
      (peak
        ? `f32 peak (${peak.name}): ${peak.tflops} TFLOP/s, ${peak.tbps} TB/s. `
        : 'No f32 peak known for this adapter. ') +
      (run.tfjs ? `TF.js ${run.tfjs.version} on "${run.tfjs.adapter}". ` : '') +
      `Versions: ${Object.entries(run.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}. Host: ${run.host.cores} cores, load ${fmt(run.host.loadBefore, 1)} → ${fmt(run.host.loadAfter, 1)}. ` +
      `Stage seconds: ${GPU_STAGES.filter((s) => run.seconds[s] !== undefined)
        .map((s) => `${s} ${fmt(run.seconds[s], 0)}`)
        .join(', ')}.`,
  ];
  for (const [s, e] of Object.entries(run.errors))
    lines.push('', `Stage ${s} failed: \`${e.split('\n')[0] ?? ''}\``);

  const g = run.stages.gaps;
  if (g) {
    lines.push(
      '',
      `**Dispatch cost** (${g.dispatches} one-thread dispatches replayed in one compute pass, ${g.reps} passes, wall time): ` +
        `${fmt(g.dependentUs, 2)} µs a dispatch when each reads the previous one's result, ` +
        `${fmt(g.independentUs, 2)} µs when they are independent; one dispatch submitted alone and waited for: ` +
        `${fmt(g.submitRoundTripUs, 0)} µs.`,
    );
  }

  const mm = run.stages.matmul;
  if (mm) {
    const cpu = new Map(mm.cpuTiles.map((r) => [r.label, r]));
    const tuned = new Map((mm.tuned ?? []).map((r) => [r.label, r]));
    const pct = (gflops: number | undefined): string =>
      peak && gflops !== undefined ? `${fmt((100 * gflops) / (peak.tflops * 1000), 1)}%` : '–';
    lines.push(
      '',
      `**Matmul** (wall: repetitions until ${run.quick ? 'a short run' : '200 ms'}, ended by a readback; GPU: timestamps of one product; ` +
        `"CPU tiles": the same product with the tiled kernel's choice without a profile (64×64 tiles, k-step 8, no split: the cpu profile's but for its 128×64 weight-gradient tiles; a product of at most 8 rows keeps the engine's thin kernel), on this device; ` +
        `"tuned": with the tiling \`tuneMatmul\` chose for it, wall time, and its kernels):`,
      '',
      ...rowsTable(
        [
          'product',
          'ours GFLOP/s',
          'ours GPU GFLOP/s',
          '% f32 peak',
          'kernels',
          'CPU tiles GFLOP/s',
          'tuned GFLOP/s',
          'tuned kernels',
          'TF.js GFLOP/s',
          'ours/TF.js',
        ],
        ['---', '---:', '---:', '---:', '---', '---:', '---:', '---', '---:', '---:'],
        mm.profiled.map((r) => [
          r.label,
          fmt(r.oursGflops, 1),
          fmt(r.oursGpuGflops, 1),
          pct(r.oursGpuGflops ?? r.oursGflops),
          kernelList(r),
          fmt(cpu.get(r.label)?.oursGflops, 1),
          fmt(tuned.get(r.label)?.oursGflops, 1),
          kernelList(tuned.get(r.label)),
          fmt(r.tfjsGflops, 1),
          `${fmt(r.ratio, 2)}×`,
        ]),
      ),
    );
    const sq = mm.profiled.find((r) => r.group === 'square' && r.m === 4096 && !r.transA && !r.transB);
    if (sq) {
      const tflops = (sq.oursGpuGflops ?? sq.oursGflops) / 1000;
      lines.push(
        '',
        `Target 4096² f32 ≥ 25 TFLOP/s: ${fmt(tflops, 1)} TFLOP/s (${tflops >= 25 ? 'met' : 'not met'}).`,
      );
    }
  }

  const train = run.stages.train;
  if (train) {
    lines.push('', trainReport(train, { command: run.command }).replace(/^### /, '#### '));
    const mlp = (b: number) => train.results.find((r) => r.id === `mlp-b${b}`);
    const targets: [string, number | undefined, number][] = [
      ['seed MLP batch 128 ≥ 1 M samples/s', mlp(128)?.ours.samplesPerS, 1e6],
      ['seed MLP batch 1024 ≥ 4 M samples/s', mlp(1024)?.ours.samplesPerS, 4e6],
      ['seed MLP batch 128 ≥ 20× TF.js', mlp(128)?.ratio, 20],
    ];
    if (!a.isFallback) {
      lines.push(
        '',
        ...targets.map(
          ([what, got, want]) =>
            `- Target ${what}: ${fmt(got, got !== undefined && got < 100 ? 2 : 0)} (${got !== undefined && got >= want ? 'met' : 'not met'}).`,
        ),
      );
    }
  }

  const step = run.stages.step;
  if (step && step.length) {
    lines.push(
      '',
      '**The compiled step** of the seed MLP (784-512-512-10, Adam; `measureStep`, bench/step-core.ts):',
      '',
      ...rowsTable(
        [
          'batch',
          'samples/s',
          'dispatches/step',
          'encode µs/step',
          'encode + submit µs/step',
          'GPU ms/step (profiled)',
        ],
        ['---:', '---:', '---:', '---:', '---:', '---:'],
        step.map((r) => [
          String(r.batch),
          fmt(r.samplesPerS),
          String(r.stats.dispatchesPerStep),
          fmt(r.encodeUsPerStep, 1),
          fmt(r.encodeSubmitUsPerStep, 1),
          fmt(r.profile?.totalMs, 3),
        ]),
      ),
    );
    for (const r of step) {
      if (!r.profile) continue;
      lines.push(
        '',
        `GPU time per dispatch at batch ${r.batch} (each in its own compute pass with timestamps):`,
        '',
        ...rowsTable(
          ['#', 'dispatch', 'GPU µs'],
          ['---:', '---', '---:'],
          r.profile.dispatches.map((d, i) => [String(i + 1), d.label, fmt(d.ms * 1000, 1)]),
        ),
      );
    }
  }
  return lines.join('\n');
}
