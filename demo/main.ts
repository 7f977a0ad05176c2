/** The demo page for now: which adapter the browser gives, and one checked computation. */
import { initEngine, ops, tensor } from '../src/index.js';

const out = document.getElementById('out');
const lines: string[] = [];
const print = (line: string) => {
  lines.push(line);
  if (out) out.textContent = lines.join('\n');
};

try {
  const engine = await initEngine({ log: print });
  const n = 10_000; // the sum, 50,005,000, is exact in f32
  const k = tensor(
    Float32Array.from({ length: n }, (_, i) => i + 1),
    [n],
  );
  const [sum] = await ops.sum(k).read();
  print(`sum of 1..${n} on the GPU: ${sum} (exact: ${(n * (n + 1)) / 2})`);
  print(`limits: maxStorageBufferBindingSize ${engine.limits.maxStorageBufferBindingSize} bytes`);
} catch (e) {
  print(String(e));
}
