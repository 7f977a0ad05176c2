import type { Engine } from '../../src/index.js';

/** One kernel test, run unchanged in Node (Dawn) and in headless Chromium. */
export interface KernelCase {
  name: string;
  run(engine: Engine): Promise<void>;
}
