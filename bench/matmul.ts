/**
 * npm run bench:matmul — our matmul against TF.js 4.22 WebGPU tf.matMul in Node, both on Dawn
 * and on the same kind of adapter (TF.js gets its own adapter object of the same driver).
 *
 *   npm run bench:matmul -- [--software|--hardware] [--max-square 2048] [--batches 32,128,1024]
 *                           [--min-ms 300] [--json FILE] [--write-results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { adapterFromArgs } from '../src/node/cli.js';
import { initEngine } from '../src/node/index.js';
import { loadTfjs } from './tfjs-node.js';
import { matmulCases, runMatmulBench } from './matmul-core.js';
import { matmulReport } from './matmul-report.js';
import { writeResultsSection } from './results.js';

const args = process.argv.slice(2);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const choice = adapterFromArgs(args);
const maxSquare = Number(value('--max-square') ?? 2048);
const batches = (value('--batches') ?? '32,128,1024').split(',').map(Number);
const minMs = Number(value('--min-ms') ?? 300);

const engine = await initEngine({ adapter: choice });
const { tf, adapterName: tfName } = await loadTfjs(choice);
console.log(`ours on "${engine.adapter.name}"; TF.js ${tf.version_core} WebGPU on "${tfName}"`);

const rows = await runMatmulBench(engine, tf, matmulCases(maxSquare, batches), { minMs, log: console.log });

const command = `npm run bench:matmul -- ${args.join(' ')}`.trim();
const report = matmulReport(
  `Node ${process.version}, Dawn (webgpu npm package) — ${engine.adapter.name}`,
  `\`${command}\`, ${new Date().toISOString().slice(0, 10)}. TF.js ${tf.version_core} (tfjs-backend-webgpu) on an adapter of the same driver, same process.`,
  rows,
);
console.log(`\n${report}`);
const json = value('--json');
if (json) {
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify({ adapter: engine.adapter, tfjs: tf.version_core, rows }, null, 2));
}
if (args.includes('--write-results')) writeResultsSection('bench:matmul:node', report);
engine.dispose();
process.exit(0); // TF.js keeps its device alive
