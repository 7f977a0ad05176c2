/**
 * Every kernel case, gathered from the modules of this folder: each `<family>.ts` exports
 * `cases: KernelCase[]`. Vite's import.meta.glob finds them both under vitest (Node) and in
 * the Vite-served browser page, so a new kernel family needs no edit here.
 *
 * KERNEL_CASES (comma-separated substrings of the family or the case name) narrows a run,
 * e.g. `KERNEL_CASES=matmul npm run test:node`; the Chromium runner passes it to the page.
 */
import type { KernelCase } from './types.js';

export type { KernelCase };

export interface FamilyCase extends KernelCase {
  family: string;
}

const modules = import.meta.glob<{ cases: KernelCase[] }>(['./*.ts', '!./index.ts', '!./types.ts'], {
  eager: true,
});

/** The harness self-test first, then families in file-name order. */
export const kernelCases: FamilyCase[] = Object.entries(modules)
  .map(([path, mod]) => ({ family: path.replace(/^\.\/|\.ts$/g, ''), cases: mod.cases }))
  .sort((a, b) => order(a.family) - order(b.family) || a.family.localeCompare(b.family))
  .flatMap(({ family, cases }) => cases.map((c) => ({ ...c, family })));

function order(family: string): number {
  return family === 'harness-self-test' ? 0 : family === 'engine' ? 1 : 2;
}

const names = new Set<string>();
for (const c of kernelCases) {
  if (names.has(c.name)) throw new Error(`duplicate kernel case name: ${c.name}`);
  names.add(c.name);
}

/** The cases matching a KERNEL_CASES-style filter (all of them when it is empty). */
export function selectCases(filter: string | undefined): FamilyCase[] {
  const parts = (filter ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s);
  if (parts.length === 0) return kernelCases;
  return kernelCases.filter((c) =>
    parts.some((p) => c.family.toLowerCase().includes(p) || c.name.toLowerCase().includes(p)),
  );
}
