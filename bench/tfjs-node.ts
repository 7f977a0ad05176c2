/**
 * TF.js 4.22 on its WebGPU backend in Node, for side-by-side benchmarks: TF.js asks
 * `navigator.gpu` for an adapter, which Node lacks, so it is handed its own adapter of the
 * same Dawn driver our engine uses (same kind: software or hardware).
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type * as tflayers from '@tensorflow/tfjs-layers';
import type { AdapterChoice } from '../src/gpu/init.js';
import { dawnSource } from '../src/node/index.js';

const keepAlive: unknown[] = [];

export interface NodeTfjs {
  tf: typeof tfc;
  tfl: typeof tflayers;
  /** The adapter TF.js runs on, as Dawn names it. */
  adapterName: string;
}

/**
 * Loads tfjs-core, tfjs-backend-webgpu and tfjs-layers and starts the 'webgpu' backend on a
 * Dawn adapter of `choice`. Call after initEngine(): our engine would take an installed
 * navigator.gpu for a browser's.
 */
export async function loadTfjs(choice: AdapterChoice): Promise<NodeTfjs> {
  const found = await dawnSource.find(choice, 'high-performance');
  if (!found) throw new Error(`no ${choice} adapter for TF.js`);
  // The Dawn instance must outlive TF.js's device: collected, it takes the device down with
  // it (Node aborts in Dawn's threads).
  keepAlive.push(found.owner);
  const adapter = found.adapter;
  // TF.js's backend registers itself only if navigator.gpu exists when its module is
  // evaluated: install it before the imports (lazy in the single-file build too).
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    value: {
      gpu: { requestAdapter: () => Promise.resolve(adapter), getPreferredCanvasFormat: () => 'rgba8unorm' },
    },
  });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  const tfl = await import('@tensorflow/tfjs-layers');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its WebGPU backend');
  return { tf, tfl, adapterName: adapter.info.description || adapter.info.vendor };
}
