/**
 * The library's one seeded random generator, for everything drawn on the host: weight
 * initializers, fit's shuffles, train/test splits, folds, permutations and the tuners'
 * searches. The same seed gives the same sequence on every platform.
 *
 * xoshiro128** (Blackman & Vigna: 32-bit outputs, period 2^128 − 1), its state filled by
 * splitmix32 from the seed (both 32-bit halves of a safe-integer seed take part, so 1 and
 * 2^32 + 1 differ). Floats take 53 random bits; normals are Box–Muller (both values of a
 * pair are used). state() / restore() save and resume it exactly (a tuner's project). The
 * GPU's dropout masks use a counter-based hash instead (shaders/dropout.ts), which needs no
 * state.
 */

export interface Rng {
  /** A uniform u32. */
  nextU32(): number;
  /** A uniform float in [0, 1) with 53 random bits. */
  next(): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
  /** A standard normal. */
  normal(): number;
  /** A standard normal conditioned on |z| ≤ 2 (rejection: about 95% of draws are kept). */
  truncatedNormal(): number;
  /** Shuffles in place (Fisher–Yates) and returns the array. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T;
}

/** Where a generator is: xoshiro128**'s four state words, and a pending Box–Muller normal. */
export interface RngState {
  words: [number, number, number, number];
  spare?: number;
}

/** createRng's generator: an Rng whose state can be saved (JSON) and restored in place. */
export interface SeededRng extends Rng {
  state(): RngState;
  /** Continues from a saved state (holders of this generator see the change). */
  restore(state: RngState): void;
}

/** A standard normal conditioned on |z| ≤ 2, by rejection from `normal`: every Rng's truncatedNormal. */
export function truncatedFrom(normal: () => number): number {
  for (;;) {
    const z = normal();
    if (Math.abs(z) <= 2) return z;
  }
}

/**
 * Fisher–Yates in place, from the last element down, j = int(i + 1) in [0, i]: every Rng's
 * shuffle (numpy's legacy shuffle too, whose random_interval(i) is such an int).
 */
export function shuffleWith<T extends { length: number; [i: number]: number }>(
  arr: T,
  int: (n: number) => number,
): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = int(i + 1);
    const t = arr[i] as number;
    arr[i] = arr[j] as number;
    arr[j] = t;
  }
  return arr;
}

/** A fresh seed from Math.random, for callers that were given none (a safe integer < 2^53). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 53);
}

/** A seeded generator; without a seed, one drawn by randomSeed(). */
export function createRng(seed?: number): SeededRng {
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    throw new RangeError(`createRng: seed ${seed} must be a safe integer`);
  }
  const s = seed ?? randomSeed();
  let mix = (s >>> 0) ^ Math.imul(Math.floor(s / 2 ** 32) >>> 0, 0x27d4eb2f);
  const splitmix = (): number => {
    mix = (mix + 0x9e3779b9) | 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const next = (): number => ((nextU32() >>> 5) * 2 ** 26 + (nextU32() >>> 6)) / 2 ** 53;
  const int = (n: number): number => Math.floor(next() * n);
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const u1 = 1 - next(); // (0, 1]: the log is finite
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  return {
    nextU32,
    next,
    int,
    normal,
    truncatedNormal: () => truncatedFrom(normal),
    shuffle: (arr) => shuffleWith(arr, int),
    state: () => ({ words: [a >>> 0, b >>> 0, c >>> 0, d >>> 0], ...(spare !== undefined ? { spare } : {}) }),
    restore(st) {
      // From a file: checked as unknown data, whatever its declared type.
      const words: unknown = (st as Partial<RngState> | null)?.words;
      const ok =
        Array.isArray(words) &&
        words.length === 4 &&
        words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32) &&
        words.some((w) => w !== 0) &&
        (st.spare === undefined || Number.isFinite(st.spare));
      if (!ok) throw new RangeError(`restore: not a generator state: ${JSON.stringify(st)}`);
      [a, b, c, d] = words.map((w) => w | 0) as [number, number, number, number];
      spare = st.spare;
    },
  };
}

/** 0, 1, ..., n − 1. */
export function iota(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}
