/**
 * The training benchmark's report: one Markdown section (printed on stdout and written to
 * bench/RESULTS.md) from a BenchRun, the same for Node, Chromium and the GPU machine.
 */
import type { BenchRun, ProfiledDispatch, ScenarioResult } from './core.js';

const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined || !Number.isFinite(x)
    ? '–'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (bytes: number | undefined): string => (bytes === undefined ? '–' : fmt(bytes / 2 ** 20, 1));
/** Samples/s with 3 significant digits at least. */
const rate = (x: number | undefined): string =>
  x === undefined ? '–' : x >= 100 ? fmt(x) : x >= 10 ? fmt(x, 1) : fmt(x, 2);

export function table(
  header: readonly string[],
  align: readonly ('l' | 'r')[],
  body: readonly (readonly string[])[],
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => (r[c] ?? '').length), 3));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((s, c) => (align[c] === 'r' ? s.padStart(widths[c] ?? 0) : s.padEnd(widths[c] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (align[c] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** Geometric mean of ours/TF.js over the results that have both. */
export function geomean(results: readonly ScenarioResult[]): number {
  const rs = results.map((r) => r.ratio).filter((x): x is number => x !== undefined && x > 0);
  return rs.length ? Math.exp(rs.reduce((s, x) => s + Math.log(x), 0) / rs.length) : NaN;
}

/**
 * Theoretical f32 peaks (non-tensor-core FMA throughput × 2, and DRAM bandwidth) of the
 * GPUs the project's benchmark machine may lend, from the vendors' data sheets.
 */
const PEAKS: { match: RegExp; name: string; tflops: number; tbps: number }[] = [
  { match: /H200/i, name: 'NVIDIA H200 (SXM)', tflops: 67, tbps: 4.8 },
  { match: /H100.*PCIe/i, name: 'NVIDIA H100 PCIe', tflops: 51, tbps: 2.0 },
  { match: /H100/i, name: 'NVIDIA H100 SXM', tflops: 67, tbps: 3.35 },
];

/** The peak for an adapter: Dawn on Vulkan names the GPU in `device`, the driver in `name`. */
export function peakOf(adapter: { name: string; device?: string }): (typeof PEAKS)[number] | undefined {
  const text = `${adapter.name} ${(adapter.device ?? '').replace(/-/g, ' ')}`;
  return PEAKS.find((p) => p.match.test(text));
}

/** Matmuls (forward and backward), the optimizer, and the rest. */
function kindOf(label: string): 'matmul' | 'optimizer' | 'other' {
  return /_(NN|NT|TN)[_ ]/.test(label) ? 'matmul' : label.startsWith('optim') ? 'optimizer' : 'other';
}

/** A dispatch label without the layer's index: "dense_3_dW_TN 512x10x32" → "dense_dW_TN 512x10x32". */
function kernelOf(label: string): string {
  return label.replace(/_\d+(?=_)/, '');
}

const gflops = (d: { flops?: number; ms: number }): string =>
  d.flops && d.ms > 0 ? fmt(d.flops / (d.ms * 1e6), 2) : '';
const gbps = (d: { bytes?: number; ms: number }): string =>
  d.bytes && d.ms > 0 ? fmt(d.bytes / (d.ms * 1e6), 2) : '';

function profileSection(r: ScenarioResult, peak: ReturnType<typeof peakOf>): string[] {
  const p = r.ours.profile;
  if (!p) return [];
  const total = p.totalMs || 1;
  const byKind = new Map<string, number>();
  for (const d of p.dispatches) byKind.set(kindOf(d.label), (byKind.get(kindOf(d.label)) ?? 0) + d.ms);
  const shares = [...byKind].map(([k, ms]) => `${k} ${fmt((100 * ms) / total, 1)}%`).join(', ');
  const flops = p.dispatches.reduce((s, d) => s + (d.flops ?? 0), 0);
  const lines = [
    '',
    `GPU time per dispatch of one step of ${r.id} (\`model.compiledStep().profile()\`, median of 3 profiled ` +
      `steps, one compute pass per dispatch with timestamps, which costs time of its own): ${fmt(p.totalMs, 3)} ms in all` +
      (r.stepMs !== undefined ? ` (a step of the timed runs: ${fmt(r.stepMs, 3)} ms)` : '') +
      `; ${shares}. ` +
      `GFLOP/s: the kernel's declared FLOPs / its time; GB/s: the bytes it must read and write / its time` +
      (flops > 0 ? `; the whole step: ${fmt(flops / (p.totalMs * 1e6), 2)} GFLOP/s` : '') +
      (peak && flops > 0
        ? ` (${fmt((100 * flops) / (p.totalMs * 1e6) / (peak.tflops * 1000), 2)}% of the ${peak.name}'s ${peak.tflops} TFLOP/s f32 peak)`
        : '') +
      '.',
    '',
  ];
  if (p.dispatches.length <= 32) {
    lines.push(
      table(
        ['#', 'dispatch', 'GPU ms', 'share', 'GFLOP/s', 'GB/s'],
        ['r', 'l', 'r', 'r', 'r', 'r'],
        p.dispatches.map((d, i) => [
          String(i + 1),
          d.label,
          fmt(d.ms, 3),
          `${fmt((100 * d.ms) / total, 1)}%`,
          gflops(d),
          gbps(d),
        ]),
      ),
    );
  } else {
    // Many layers of one shape: one row per kernel and shape, summed over the layers.
    const groups = new Map<
      string,
      { n: number } & Required<Pick<ProfiledDispatch, 'ms'>> & { flops: number; bytes: number }
    >();
    for (const d of p.dispatches) {
      const k = kernelOf(d.label);
      const g = groups.get(k) ?? { n: 0, ms: 0, flops: 0, bytes: 0 };
      g.n++;
      g.ms += d.ms;
      g.flops += d.flops ?? 0;
      g.bytes += d.bytes ?? 0;
      groups.set(k, g);
    }
    lines.push(
      `${p.dispatches.length} dispatches, grouped by kernel and shape (layer names dropped):`,
      '',
      table(
        ['kernel', 'dispatches', 'GPU ms', 'share', 'GFLOP/s', 'GB/s'],
        ['l', 'r', 'r', 'r', 'r', 'r'],
        [...groups].map(([k, g]) => [
          k,
          String(g.n),
          fmt(g.ms, 3),
          `${fmt((100 * g.ms) / total, 1)}%`,
          gflops(g),
          gbps(g),
        ]),
      ),
    );
  }
  return lines;
}

export interface ReportContext {
  /** The command line that produced the run. */
  command: string;
  /** More sentences about the host (cores, load), the TF.js adapter... */
  notes?: string[];
}

export function trainReport(run: BenchRun, ctx: ReportContext): string {
  const o = run.options;
  const peak = peakOf(run.adapter);
  const train = run.results.filter((r) => r.kind === 'train');
  const predict = run.results.filter((r) => r.kind === 'predict');
  const withTf = run.results.some((r) => r.tfjs);
  const versions = Object.entries(run.versions ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines: string[] = [
    `### ${withTf ? 'Training throughput against TF.js' : 'Training throughput'} — ${run.runtime} — ${run.adapter.name}`,
    '',
    `\`${ctx.command}\`, ${run.date}. ` +
      (withTf
        ? `TF.js ${run.tfjsVersion} (tfjs-layers on tfjs-backend-webgpu) on the same adapter, in the same process. `
        : 'Ours only (TF.js not run). ') +
      `${fmt(o.rows)} synthetic MNIST-shaped rows (784 values in [0, 1), one-hot labels) resident on the GPU` +
      `${withTf ? ' for both; same initial weights' : ''}; ${o.optimizer === 'adam' ? 'Adam (lr 1e-3)' : 'SGD (lr 0.01)'}, ` +
      `categorical cross-entropy, accuracy. Per scenario: one warm-up epoch${withTf ? ' each' : ''}, then ${o.reps} ` +
      `timed repetitions${withTf ? ' per engine, alternating,' : ''} of \`fit\` for ${o.epochs} epoch(s) with ` +
      `shuffling (ending with the loss on the host${withTf ? "; TF.js's fit does not yield to the event loop" : ''}); ` +
      `the median is shown${withTf ? ', and the lowest and highest ratio of a pair of repetitions' : ''}. Inference: ` +
      `\`predict\` at the scenario's batch size + read back, repeated for ${fmt(o.predictMs)} ms per repetition; ` +
      `batch 1 predicts one host row per call, larger batches rows resident on the GPU.` +
      (ctx.notes?.length ? ` ${ctx.notes.join(' ')}` : '') +
      (versions ? ` Versions: ${versions}.` : ''),
    '',
  ];
  const ratioTrain = geomean(train);
  const ratioPredict = geomean(predict);
  if (Number.isFinite(ratioTrain) || Number.isFinite(ratioPredict)) {
    lines.push(
      `Geometric mean of ours/TF.js: training ${fmt(ratioTrain, 2)}× (${train.length} scenario${train.length === 1 ? '' : 's'}), ` +
        `inference ${fmt(ratioPredict, 2)}× (${predict.length}).`,
      '',
    );
  }
  const range = (r: ScenarioResult): string =>
    r.ratioRange ? `${fmt(r.ratioRange[0], 2)}–${fmt(r.ratioRange[1], 2)}` : '–';
  lines.push(
    table(
      withTf
        ? [
            'scenario',
            'model',
            'batch',
            'ours samples/s',
            'TF.js samples/s',
            'ours/TF.js',
            'pairs',
            'ours GFLOP/s',
          ]
        : ['scenario', 'model', 'batch', 'ours samples/s', 'ours GFLOP/s'],
      withTf ? ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'] : ['l', 'l', 'r', 'r', 'r'],
      run.results.map((r) => [
        r.id,
        r.model,
        String(r.batch),
        rate(r.ours.samplesPerS),
        ...(withTf
          ? [rate(r.tfjs?.samplesPerS), r.ratio === undefined ? '–' : `**${fmt(r.ratio, 2)}×**`, range(r)]
          : []),
        fmt((r.ours.samplesPerS * r.flopsPerSample) / 1e9, 2),
      ]),
    ),
    '',
    `Each repetition (samples/s): ${run.results
      .map(
        (r) =>
          `${r.id} ours ${r.ours.all.map((x) => rate(x)).join(', ')}` +
          (r.tfjs ? `, TF.js ${r.tfjs.all.map((x) => rate(x)).join(', ')}` : ''),
      )
      .join(
        '; ',
      )}. GFLOP/s counts the matmuls only (${train[0] ? `${fmt(train[0].flopsPerSample / 1e6, 2)} MFLOP per sample for ${train[0].model} training` : 'forward 2·Σ in·out per sample'}).` +
      (withTf
        ? ` With few repetitions on a shared machine, a difference of ratios inside the pairs' ranges is noise.`
        : ''),
    '',
  );
  if (train.length && withTf) {
    lines.push(
      `Same start, same training: the warm-up epoch (same weights, same rows in the same order) ends at these ` +
        `losses (the mean over its batches). With SGD (\`--optimizer sgd\`) the two agree to float rounding. With Adam ` +
        `they drift apart a little, by design: TF.js adds ε (1e-7) to √v̂, Keras (and we) fold the bias correction ` +
        `into the step and add ε to √v, an ε about 30× larger at the first step, which moves weights with tiny ` +
        `gradients differently. Dropout draws differ between the engines, so the lab model's differ more.`,
      '',
      table(
        ['scenario', 'warm-up loss ours', 'warm-up loss TF.js', 'warm-up s ours', 'warm-up s TF.js'],
        ['l', 'r', 'r', 'r', 'r'],
        train.map((r) => [
          r.id,
          fmt(r.ours.warmupLoss, 5),
          fmt(r.tfjs?.warmupLoss, 5),
          fmt(r.ours.warmupS, 2),
          fmt(r.tfjs?.warmupS, 2),
        ]),
      ),
      '',
    );
  }
  lines.push(
    `Ours, per compiled step (\`model.compiledStep(mode, batch, data)\`): dispatches, host µs to encode one step ` +
      `(n steps replayed into one command encoder, fastest of 5) and with the submit, GPU→host reads per epoch ` +
      `(training) or per call (inference), the engine's peak live GPU bytes during the scenario (weights, ` +
      `gradients, optimizer state and its NaN-restore snapshot, plans, staging; inference models are not compiled), ` +
      `and the plan's own bytes.` +
      (withTf
        ? ` TF.js: the peak bytes of its live tensors during the warm-up (\`tf.profile\`), which leaves out its buffer ` +
          `pool and staging; so the two memory columns are not like for like. Both leave out the rows all scenarios share.`
        : ' The rows all scenarios share are left out.'),
    '',
    table(
      [
        'scenario',
        'dispatches/step',
        'encode µs/step',
        'encode + submit µs/step',
        'readbacks',
        'peak GPU MiB',
        'plan MiB',
        ...(withTf ? ['TF.js tensors peak MiB'] : []),
      ],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', ...(withTf ? (['r'] as const) : [])],
      run.results.map((r) => [
        r.id,
        String(r.ours.dispatchesPerStep),
        fmt(r.ours.encodeUsPerStep, 1),
        fmt(r.ours.encodeSubmitUsPerStep, 1),
        fmt(r.ours.readbacksPerEpoch, 0),
        mib(r.ours.peakBytes),
        mib(r.ours.planBytes),
        ...(withTf ? [mib(r.tfjs?.peakBytes)] : []),
      ]),
    ),
  );
  if (peak) {
    lines.push(
      '',
      `Theoretical f32 peak of the ${peak.name}: ${peak.tflops} TFLOP/s (no tensor cores; WebGPU has no access to ` +
        `them) and ${peak.tbps} TB/s of memory bandwidth.`,
    );
  }
  for (const r of run.results) lines.push(...profileSection(r, peak));
  if (o.profile && !run.features.includes('timestamp-query')) {
    lines.push('', `Per-dispatch profile: unavailable, the device has no 'timestamp-query' feature.`);
  }
  return lines.join('\n');
}
