import type { Bindable } from '../gpu/engine.js';

/** Argument checks shared by kernel wrappers: counts and buffer sizes, with messages naming both. */

export function checkCount(what: string, name: string, value: number, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min || value >= 2 ** 32) {
    throw new RangeError(`${what}: ${name} ${value} is not an integer in [${min}, 2^32)`);
  }
}

export function checkSize(what: string, name: string, buffer: Bindable, bytes: number, holds: string): void {
  if (buffer.size < bytes) {
    throw new RangeError(
      `${what}: buffer ${name} ("${buffer.label}") has ${buffer.size} bytes; ${holds} needs ${bytes}`,
    );
  }
}
