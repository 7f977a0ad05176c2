/**
 * npm run bench — training and inference throughput of our Keras-style API against TF.js
 * 4.22 (tfjs-layers, WebGPU backend) in Node, both on Dawn and on the same kind of adapter
 * (TF.js gets its own adapter object of the same driver). Scenarios and method: see
 * bench/train/core.ts; options: `npm run bench -- --help`.
 *
 * The same file is the entry of `npm run bench:bundle` (one ES module for the GPU machine).
 * `--report FILE.json` renders a report from a saved run (e.g. one that came back from the
 * GPU machine) without running anything; with --write-results it goes into RESULTS.md. A
 * run of `npm run bench:gpu` (bench/gpu.ts) renders as its own section, every stage.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { adapterFromArgs } from '../src/node/cli.js';
import { KERNEL_PROFILES, type KernelProfileName } from '../src/gpu/profile.js';
import { initEngine } from '../src/node/index.js';
import { gpuReport, isGpuRun } from './gpu-report.js';
import { writeResultsSection } from './results.js';
import { loadTfjs } from './tfjs-node.js';
import { runTrainBench, type BenchEnv } from './train/core.js';
import { finishRun, saveJson, type SavedRun } from './train/output.js';
import { optionValue, parseArgs, resolveOptions, USAGE } from './train/scenarios.js';

const args = process.argv.slice(2);

/** The `webgpu` package's version (beside the single-file build too: .gpu/node_modules). */
function dawnVersion(): string {
  try {
    return (createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
if (args.includes('--help')) {
  console.log(
    `npm run bench -- [options]\n${USAGE}\n  --report FILE.json  render a saved run (of npm run bench or bench:gpu) instead of running`,
  );
  process.exit(0);
}

const given = parseArgs(args); // option errors before anything starts
const saved = optionValue(args, '--report');
if (saved) {
  const parsed: unknown = JSON.parse(readFileSync(saved, 'utf8'));
  if (isGpuRun(parsed)) {
    // A run of `npm run bench:gpu`: every stage in one section, by adapter kind.
    const report = gpuReport(parsed);
    console.log(report);
    const kind = parsed.adapter.isFallback ? 'software' : 'hardware';
    if (args.includes('--write-results')) writeResultsSection(`bench:gpu:${kind}`, report);
    process.exit(0);
  }
  const run = parsed as SavedRun;
  finishRun(run, run.command, run.notes, args);
  process.exit(0);
}

const choice = adapterFromArgs(args);
const loadBefore = loadavg()[0] ?? NaN;
const kernels = optionValue(args, '--kernels') ?? 'auto';
if (kernels !== 'auto' && !(KERNEL_PROFILES as readonly string[]).includes(kernels)) {
  console.error(`--kernels: '${kernels}' is not auto or one of ${KERNEL_PROFILES.join(', ')}`);
  process.exit(2);
}
const engine = await initEngine({ adapter: choice, kernels: kernels as KernelProfileName | 'auto' });
let options: ReturnType<typeof resolveOptions>;
try {
  options = resolveOptions(given, !engine.adapter.isFallback);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const invoked = /\.mjs$/.test(process.argv[1] ?? '') ? 'node bench.mjs' : 'npm run bench --';
const command = `${invoked} ${args.join(' ')}`.trim(); // the single-file build runs as `node bench.mjs`
const notes: string[] = [];
const env: BenchEnv = {
  runtime: `Node ${process.version}, Dawn`,
  versions: { Node: process.version, 'webgpu (Dawn for Node)': dawnVersion() },
  log: (l) => console.log(l),
  onScenario: (partial) => saveJson(partial, command, notes, args),
};
if (options.tfjs) {
  const { tf, tfl, adapterName } = await loadTfjs(choice);
  env.tf = tf;
  env.tfl = tfl;
  notes.push(`TF.js's adapter: "${adapterName}".`);
}
console.log(
  `ours on "${engine.adapter.name}" (device "${engine.adapter.device}")` +
    (options.tfjs ? `; ${notes[0]}` : '; TF.js not run (--no-tfjs)'),
);

const run = await runTrainBench(options, env);
const loadAfter = loadavg()[0] ?? NaN;
notes.push(
  `Host: ${cpus().length} cores, 1-minute load average ${loadBefore.toFixed(1)} at the start and ` +
    `${loadAfter.toFixed(1)} at the end${engine.adapter.isFallback ? ' (a software adapter shares the cores with everything else running)' : ''}.`,
);
finishRun(run, command, notes, args);
engine.dispose();
process.exit(0); // TF.js keeps its device alive
