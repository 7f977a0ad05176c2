/**
 * Sum/mean reductions: dispatch geometry, bindings and the float64 reference.
 * The WGSL lives in shaders/reduce.ts.
 */
import { columnSumShader, rowSumShader } from '../../shaders/reduce.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import type { Engine } from '../gpu/engine.js';

/** Elements one workgroup sums per pass of a full reduction over a long vector. */
const FULL_SUM_CHUNK = 16 * WORKGROUP_1D;

/**
 * Sums an [outer, n, inner] row-major f32 view over its middle axis into y[outer * inner],
 * multiplying by `scale` (1/n for a mean). A full sum is outer = inner = 1.
 */
export function encodeSum(
  engine: Engine,
  x: GPUBuffer,
  y: GPUBuffer,
  view: { outer: number; n: number; inner: number },
  scale: number,
): void {
  const { outer, n, inner } = view;
  if (inner > 1) {
    const pipeline = engine.pipeline(columnSumShader(), 'sum_columns');
    const params = engine.tempUniform(packParams(outer, n, inner, scale), 'sum_columns params');
    engine.dispatch(
      pipeline,
      [x, y, params],
      engine.dispatchGrid(outer * inner, WORKGROUP_1D),
      'sum_columns',
    );
    return;
  }
  if (outer > 1 || n <= FULL_SUM_CHUNK) {
    rowSum(engine, x, y, outer, n, outer * n, scale);
    return;
  }
  // A long vector: partial sums of chunks, then the sum of those, until one value is left.
  let input = x;
  let count = n;
  const temps: GPUBuffer[] = [];
  while (count > FULL_SUM_CHUNK) {
    const rows = Math.ceil(count / FULL_SUM_CHUNK);
    const partial = engine.createBuffer({
      size: rows * 4,
      usage: GPUBufferUsage.STORAGE,
      label: `sum partials (${rows})`,
    });
    temps.push(partial);
    rowSum(engine, input, partial, rows, FULL_SUM_CHUNK, count, 1);
    input = partial;
    count = rows;
  }
  rowSum(engine, input, y, 1, count, count, scale);
  for (const t of temps) engine.releaseBuffer(t);
}

function rowSum(
  engine: Engine,
  x: GPUBuffer,
  y: GPUBuffer,
  rows: number,
  rowLen: number,
  total: number,
  scale: number,
): void {
  const pipeline = engine.pipeline(rowSumShader(), 'sum_rows');
  const params = engine.tempUniform(packParams(rows, rowLen, total, scale), 'sum_rows params');
  engine.dispatch(pipeline, [x, y, params], engine.dispatchGrid(rows, 1), 'sum_rows');
}

/** Three u32 words and one f32, as the reduce shaders' Params structs lay them out. */
function packParams(a: number, b: number, c: number, scale: number): Uint32Array {
  const words = new Uint32Array([a, b, c, 0]);
  new Float32Array(words.buffer)[3] = scale;
  return words;
}

/** Float64 reference: sum over the middle axis of [outer, n, inner], times scale. */
export function sumReference(
  x: ArrayLike<number>,
  view: { outer: number; n: number; inner: number },
  scale: number,
): Float64Array {
  const { outer, n, inner } = view;
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += x[(o * n + k) * inner + j] ?? NaN;
      out[o * inner + j] = acc * scale;
    }
  }
  return out;
}
