/**
 * npm run bench: GB/s of the eager elementwise and sum kernels for sizes 2^12..2^24, with
 * the adapter's name. Each size runs `reps` ops back to back and waits once, so the time
 * includes the eager path's per-op costs (a uniform buffer and a bind group per dispatch),
 * which the compiled training step (graph issue) does not pay.
 *
 *   npm run bench [-- --software | --hardware] [--json bench/out/elementwise.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { encodeBinary } from '../src/kernels/elementwise.js';
import { encodeSum } from '../src/kernels/reduce.js';
import { emptyTensor, initEngine } from '../src/node/index.js';
import { adapterFromArgs } from '../src/node/cli.js';

const args = process.argv.slice(2);
const adapter = adapterFromArgs(args);
const jsonAt = args.indexOf('--json');
const jsonPath = jsonAt >= 0 ? args[jsonAt + 1] : undefined;

const engine = await initEngine({ adapter });

interface Row {
  kernel: string;
  elements: number;
  msPerOp: number;
  gbPerS: number;
}
const rows: Row[] = [];

async function measure(kernel: string, elements: number, bytesPerOp: number, op: () => void) {
  op(); // compile and warm up
  await engine.flush();
  let reps = 4;
  for (;;) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) op();
    await engine.flush();
    const ms = performance.now() - t0;
    if (ms > 200 || reps >= 4096) {
      const msPerOp = ms / reps;
      rows.push({ kernel, elements, msPerOp, gbPerS: bytesPerOp / (msPerOp * 1e6) });
      return;
    }
    reps *= 4;
  }
}

for (let log2 = 12; log2 <= 24; log2 += 4) {
  const n = 2 ** log2;
  const a = emptyTensor(engine, [n], 'f32', 'a');
  const b = emptyTensor(engine, [n], 'f32', 'b');
  const c = emptyTensor(engine, [n], 'f32', 'c');
  const s = emptyTensor(engine, [], 'f32', 's');
  await measure('add (2 reads + 1 write)', n, 12 * n, () => encodeBinary(engine, 'add', a, b, c.buffer, [n]));
  await measure('sum (1 read)', n, 4 * n, () =>
    encodeSum(engine, a.buffer, s.buffer, { outer: 1, n, inner: 1 }, 1),
  );
  for (const t of [a, b, c, s]) t.dispose();
}

console.log(`\nadapter: ${engine.adapter.name} (${engine.adapter.runtime})`);
console.log('kernel                    elements     ms/op      GB/s');
for (const r of rows) {
  console.log(
    `${r.kernel.padEnd(25)} ${String(r.elements).padStart(9)} ${r.msPerOp.toFixed(4).padStart(9)} ${r.gbPerS.toFixed(2).padStart(9)}`,
  );
}
if (jsonPath) {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify({ adapter: engine.adapter, rows }, null, 2));
  console.log(`wrote ${jsonPath}`);
}
engine.dispose();
