/**
 * npm run bench:bundle — `npm run bench` as one ES module, dist/bench/bench.mjs, with every
 * dependency inlined (TF.js included) except `webgpu` (Dawn's native addon), so that it runs
 * on the GPU machine, which has no npm: see ../shared/gpu/README.md and the README's
 * "Benchmarks" section. Then:
 *
 *   ../shared/gpu/pack.sh dist/bench/bench.mjs
 *   (device tool, carry [".gpu"]) bash .gpu/run.sh bench.mjs --hardware --json $OUT/gpu.json
 *   npm run bench -- --report gpu.json --write-results
 */
import { statSync } from 'node:fs';
import { build } from 'vite';

const outDir = 'dist/bench';
await build({
  configFile: false,
  logLevel: 'warn',
  build: {
    ssr: 'bench/train-node.ts',
    outDir,
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: false,
    rollupOptions: {
      external: ['webgpu'],
      output: { entryFileNames: 'bench.mjs', codeSplitting: false },
    },
  },
  ssr: { noExternal: true, external: ['webgpu'], target: 'node' },
});
const file = `${outDir}/bench.mjs`;
console.log(`${file}: ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB (webgpu left external)`);
