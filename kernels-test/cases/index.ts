/** Every kernel case, in the order both runners execute them. */
import { elementwiseCases } from './elementwise.js';
import { engineCases } from './engine.js';
import { harnessCases } from './harness-self-test.js';
import { reduceCases } from './reduce.js';
import type { KernelCase } from './types.js';

export type { KernelCase };

export const kernelCases: KernelCase[] = [
  ...harnessCases,
  ...engineCases,
  ...elementwiseCases,
  ...reduceCases,
];

const names = new Set<string>();
for (const c of kernelCases) {
  if (names.has(c.name)) throw new Error(`duplicate kernel case name: ${c.name}`);
  names.add(c.name);
}
