/** The matmul benchmark inside a page: our engine and TF.js both on navigator.gpu. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { initEngine, type AdapterDescription } from '../../src/index.js';
import { matmulCases, runMatmulBench, type MatmulRow } from '../matmul-core.js';

declare global {
  interface Window {
    runMatmulBench: (opts: {
      maxSquare: number;
      batches: number[];
      minMs: number;
    }) => Promise<{ adapter: AdapterDescription; tfjs: string; userAgent: string; rows: MatmulRow[] }>;
  }
}

const out = document.getElementById('out');

window.runMatmulBench = async ({ maxSquare, batches, minMs }) => {
  const engine = await initEngine({ log: (l) => out?.append(`${l}\n`) });
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its WebGPU backend');
  const rows = await runMatmulBench(engine, tf, matmulCases(maxSquare, batches), {
    minMs,
    log: (l) => out?.append(`${l}\n`),
  });
  engine.dispose();
  return { adapter: engine.adapter, tfjs: tf.version_core, userAgent: navigator.userAgent, rows };
};
