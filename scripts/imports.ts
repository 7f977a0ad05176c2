/**
 * The import graph of the source tree, read with TypeScript's own pre-processor (static
 * imports, `export ... from`, `import type`, and dynamic `import('...')` of literal paths):
 * scripts/imports.test.ts asserts from it that src/ has no import cycle.
 *
 *   npx tsx scripts/imports.ts [folder]   prints the cycles (none: exit 0)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Every .ts file under `dir` (tests included unless `tests` is false). */
export function sourceFiles(dir: string, tests = false): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path, tests));
    else if (name.endsWith('.ts') && (tests || !name.endsWith('.test.ts'))) out.push(path);
  }
  return out.sort();
}

/** file → the files it imports (relative imports only, resolved from .js to .ts). */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files.map((f) => resolve(f)));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((r) => r.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
      .filter((t) => known.has(t));
    graph.set(resolve(file), [...new Set(targets)]);
  }
  return graph;
}

/** The cycles of a graph, each as the files around it (one entry per strongly connected set). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components; a component of 2+ files, or a file importing
  // itself, is a cycle.
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, indices.get(w) as number));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const dir = process.argv[2] ?? 'src';
  const found = cycles(importGraph(sourceFiles(dir)));
  for (const c of found) console.log(`cycle: ${c.map((f) => relative(process.cwd(), f)).join(' ⇄ ')}`);
  console.log(`${found.length} import cycle(s) in ${dir}/`);
  process.exitCode = found.length === 0 ? 0 : 1;
}
