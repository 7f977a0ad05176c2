/**
 * Runs every kernel case in Node on Dawn. The adapter is whatever initEngine() picks
 * ('auto': hardware if present, else lavapipe, else SwiftShader); WEBGPU_MLP_ADAPTER
 * may force 'software' or 'hardware'.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { initEngine, type AdapterChoice, type Engine } from '../src/node/index.js';
import { selectCases } from './cases/index.js';

let engine: Engine;

beforeAll(async () => {
  const adapter = (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as AdapterChoice;
  engine = await initEngine({
    adapter,
    log: (line) => console.log(`[kernels-test node] ${line}`),
  });
});

afterAll(() => engine.dispose());

describe('kernels on Node (Dawn)', () => {
  for (const c of selectCases(process.env.KERNEL_CASES)) {
    it(`${c.family}: ${c.name}`, () => c.run(engine));
  }
});
