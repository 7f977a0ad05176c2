/**
 * npm run bench:bundle — `npm run bench` and `npm run bench:gpu` as one ES module each,
 * dist/bench/bench.mjs and dist/bench/bench-gpu.mjs, with every dependency inlined (TF.js
 * included) except `webgpu` (Dawn's native addon), so that they run on the GPU machine,
 * which has no npm: see ../shared/gpu/README.md and the README's "Benchmarks" section. Then:
 *
 *   ../shared/gpu/pack.sh dist/bench/bench-gpu.mjs
 *   (device tool, carry [".gpu"]) bash .gpu/run.sh bench-gpu.mjs --hardware --json $OUT/gpu.json
 *   npm run bench -- --report gpu.json --write-results
 */
import { statSync } from 'node:fs';
import { build } from 'vite';

const outDir = 'dist/bench';
// Two entries: the training benchmark (bench.mjs) and the GPU machine's one call
// (bench-gpu.mjs, bench/gpu.ts), each one file.
for (const [i, [entry, file]] of [
  ['bench/train-node.ts', 'bench.mjs'],
  ['bench/gpu.ts', 'bench-gpu.mjs'],
].entries()) {
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      ssr: entry,
      outDir,
      emptyOutDir: i === 0,
      target: 'node20',
      minify: false,
      sourcemap: false,
      rollupOptions: {
        external: ['webgpu'],
        output: { entryFileNames: file, codeSplitting: false },
      },
    },
    ssr: { noExternal: true, external: ['webgpu'], target: 'node' },
  });
  const path = `${outDir}/${file}`;
  console.log(`${path}: ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB (webgpu left external)`);
}
