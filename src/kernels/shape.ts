/** Shape arithmetic shared by the kernel wrappers and tensors. */

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Row-major element strides of `shape`. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d] ?? 1;
  }
  return strides;
}

/** The numpy broadcast of two shapes, or an error naming both. */
export function broadcastShapes(a: Shape, b: Shape, what: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${what}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast ` +
          `(axis ${i} of the result: ${da} vs ${db})`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * For each axis of `out` (rank r), the element stride of `input` along it: 0 where `input`
 * is broadcast (its size 1, or the axis missing on its left).
 */
export function broadcastStrides(input: Shape, out: Shape): number[] {
  const own = stridesOf(input);
  const offset = out.length - input.length;
  return out.map((d, i) => {
    const k = i - offset;
    if (k < 0) return 0;
    return input[k] === 1 && d !== 1 ? 0 : (own[k] ?? 0);
  });
}
