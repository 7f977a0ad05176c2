/** The training benchmark inside a page: our engine and TF.js both on navigator.gpu. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/index.js';
import { runTrainBench, type BenchRun } from '../train/core.js';
import { resolveOptions, type BenchOptions } from '../train/scenarios.js';

declare global {
  interface Window {
    runTrainBench: (
      options: Partial<BenchOptions>,
    ) => Promise<BenchRun & { userAgent: string; isolated: boolean }>;
  }
}

const out = document.getElementById('out');
const log = (line: string): void => {
  out?.append(`${line}\n`);
  console.log(line);
};

window.runTrainBench = async (partial) => {
  const engine = await initEngine({ log });
  try {
    const options = resolveOptions(partial, !engine.adapter.isFallback);
    if (options.tfjs && !(await tf.setBackend('webgpu')))
      throw new Error('TF.js could not start its WebGPU backend');
    const chrome = /(HeadlessChrome|Chrome)\/(\d+)/.exec(navigator.userAgent);
    const run = await runTrainBench(options, {
      ...(options.tfjs ? { tf, tfl } : {}),
      runtime: `Headless Chromium ${chrome?.[2] ?? '?'}`,
      versions: { Chromium: chrome?.[2] ?? '?' },
      log,
    });
    return { ...run, userAgent: navigator.userAgent, isolated: crossOriginIsolated };
  } finally {
    engine.dispose();
  }
};
