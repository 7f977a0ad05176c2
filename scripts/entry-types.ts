/**
 * The last step of `npm run build` (and of the consumer test's own build), after `tsc -p tsconfig.build.json` has emitted
 * declarations under dist/types/ (mirroring the source tree):
 * - writes dist/<entry>.d.ts beside each bundle (index, node and the demo's elements), each
 *   re-exporting its entry's declarations under a `/// <reference types="@webgpu/types" />`,
 *   so that a consumer's compiler (TypeScript 5.x) knows GPUDevice, GPUBufferUsageFlags, ...
 *   without adding @webgpu/types to its own `types` or turning on skipLibCheck. TypeScript 6+
 *   declares WebGPU in its DOM lib, where that reference would declare every GPU type twice:
 *   package.json's `types@>=6.0.0-0` export conditions send it to dist/types/** directly;
 * - rewrites `import("lit-html")` / `import("lit-element")` in declarations to `import("lit")`:
 *   tsc names the module where an inferred type (render()'s TemplateResult) is declared, but
 *   a consumer depends on `lit` only, and under pnpm or a linked install lit's own
 *   dependencies do not resolve from the consumer's folder;
 * - deletes the declarations no entry reaches (tsc emits one for every module the entries
 *   import, e.g. demo/src/ helpers whose types the trainer's public surface never names), so
 *   the package ships only what its types need.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Package entry (dist/<name>.d.ts) → its declarations under dist/types/. */
export const ENTRY_TYPES = {
  index: 'src/index.d.ts',
  node: 'src/node/index.d.ts',
  trainer: 'demo/src/trainer.d.ts',
  playground: 'demo/src/playground.d.ts',
  lab: 'demo/src/lab.d.ts',
  vanishing: 'demo/src/vanishing.d.ts',
  tune: 'demo/src/tune.d.ts',
  predict: 'demo/src/predict.d.ts',
} as const;

/** Relative module specifiers a declaration file names: `from '…'`, `import '…'`, `import('…')`. */
export function relativeImports(dts: string): string[] {
  const found: string[] = [];
  // Comments may quote import lines (`export * as data from './data/index.js'`): drop them.
  const code = dts.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/(?!\/).*$/gm, '');
  for (const [, spec] of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    if (spec) found.push(spec);
  }
  return found;
}

/** `import("lit-html")`, `import("lit-element/…")` → `import("lit")`, which re-exports both. */
export function litTypesFromLit(dts: string): string {
  return dts.replace(/import\((['"])(?:lit-html|lit-element)(?:\/[\w./-]*)?\1\)/g, 'import($1lit$1)');
}

/** Every .d.ts under dist/types reachable from the entries, as absolute paths. */
export function reachable(typesDir: string, entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = entries.map((e) => resolve(typesDir, e));
  for (let file = stack.pop(); file !== undefined; file = stack.pop()) {
    if (seen.has(file)) continue;
    if (!existsSync(file)) throw new Error(`${relative(process.cwd(), file)} is named but was not emitted`);
    seen.add(file);
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      // Sources import './x.js'; tsc's declaration for it is './x.d.ts'.
      stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.d.ts')));
    }
  }
  return seen;
}

function allDts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.d.ts'))
    .map((d) => join(d.parentPath, d.name));
}

/** `tsx scripts/entry-types.ts [distDir]`: distDir defaults to the repository's dist/. */
function main(): void {
  const dist = resolve(process.argv[2] ?? fileURLToPath(new URL('../dist', import.meta.url)));
  const typesDir = join(dist, 'types');
  for (const [name, target] of Object.entries(ENTRY_TYPES)) {
    const spec = `./types/${target.replace(/\.d\.ts$/, '.js')}`;
    writeFileSync(
      join(dist, `${name}.d.ts`),
      `/// <reference types="@webgpu/types" />\nexport * from '${spec}';\n`,
    );
  }
  const keep = reachable(typesDir, Object.values(ENTRY_TYPES));
  let removed = 0;
  for (const file of allDts(typesDir)) {
    if (!keep.has(file)) {
      rmSync(file);
      removed++;
      continue;
    }
    const text = readFileSync(file, 'utf8');
    const fixed = litTypesFromLit(text);
    if (fixed !== text) writeFileSync(file, fixed);
  }
  console.log(
    `dist/{${Object.keys(ENTRY_TYPES).join(',')}}.d.ts written; ${keep.size} declarations kept, ${removed} unreachable removed`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
