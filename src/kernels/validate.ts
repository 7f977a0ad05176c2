import type { Bindable } from '../gpu/engine.js';

/**
 * Argument checks shared by the kernel wrappers: counts, finite numbers and buffer sizes.
 * Every message starts with `what` (the kernel or function refusing the call) and names the
 * argument or buffer, in one wording for all wrappers:
 *   "sum: n must be a non-negative integer (a u32), got -1"
 *   "argmax: buffer x ("small") has 24 bytes; [4, 3] f32 needs 48"
 */

/** The largest u32, the default upper bound of a count (kernels pass counts as u32 words). */
export const U32_MAX = 2 ** 32 - 1;

/** 2^24 for 16777216 and 2^31 − 1 for 2147483647 (from 2^16 up); other numbers as they are. */
function formatBound(x: number): string {
  for (const [v, suffix] of [
    [x, ''],
    [x + 1, ' − 1'],
  ] as const) {
    const k = Math.round(Math.log2(v));
    if (k >= 16 && 2 ** k === v) return `2^${k}${suffix}`;
  }
  return String(x);
}

/** What checkCount requires: 'a positive integer ≤ 2^24', 'a non-negative integer (a u32)', ... */
function describeCount(min: number, max: number): string {
  const lower =
    min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer ≥ ${min}`;
  if (max === U32_MAX) return `${lower} (a u32)`;
  if (max > U32_MAX) return lower;
  return `${lower}${min > 1 ? ' and' : ''} ≤ ${formatBound(max)}`;
}

/**
 * Throws a RangeError unless `value` is a safe integer in [min, max] (by default a u32):
 * "${what}: ${name} must be a positive integer ≤ 2^24, got 0".
 */
export function checkCount(what: string, name: string, value: number, min = 0, max = U32_MAX): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${what}: ${name} must be ${describeCount(min, max)}, got ${value}`);
  }
}

/** Throws a RangeError unless `value` is finite: "${what}: ${name} must be finite, got NaN". */
export function checkFinite(what: string, name: string, value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`${what}: ${name} must be finite, got ${value}`);
}

/**
 * Throws a RangeError if `buffer` holds fewer than `bytes` bytes; `holds` says what those bytes
 * are: "${what}: buffer ${name} ("${label}") has 24 bytes; [4, 3] f32 needs 48".
 */
export function checkSize(what: string, name: string, buffer: Bindable, bytes: number, holds: string): void {
  if (buffer.size < bytes) {
    throw new RangeError(
      `${what}: buffer ${name} ("${buffer.label}") has ${buffer.size} bytes; ${holds} needs ${bytes}`,
    );
  }
}

/** checkSize for `elements` f32 values of the given shape (e.g. '[4, 3]'): 4 bytes each. */
export function checkF32(
  what: string,
  name: string,
  buffer: Bindable,
  elements: number,
  shape: string,
): void {
  checkSize(what, name, buffer, elements * 4, `${shape} f32`);
}

/** checkF32 for each named buffer of `buffers`, all of the same shape, in their order. */
export function checkF32Each(
  what: string,
  buffers: Readonly<Record<string, Bindable>>,
  elements: number,
  shape: string,
): void {
  for (const [name, buffer] of Object.entries(buffers)) checkF32(what, name, buffer, elements, shape);
}
