/**
 * numpy's legacy `np.random.RandomState(seed)`, bit for bit: the permutation Keras's
 * california_housing and boston_housing loaders split by (so `loadData({ seed })` gives the
 * rows Keras gives), and the stream scikit-learn draws from for a `random_state` (so KFold,
 * StratifiedKFold and ShuffleSplit cut scikit-learn's folds and RandomizedSearchCV samples its
 * candidates: numpyRandomState()).
 *
 * - MT19937 (Matsumoto & Nishimura 1998), seeded as numpy's `mt19937_seed` (the reference
 *   `init_genrand`): key[0] = seed, key[i] = 1812433253·(key[i−1] ⊕ key[i−1] ≫ 30) + i mod 2³².
 * - `shuffle` (numpy's `_shuffle_raw`): for i = n−1 down to 1, swap x[i] with x[j], j drawn by
 *   `random_interval(i)`: 32-bit draws masked to the smallest all-ones mask ≥ i, rejected
 *   while above i (every n here is below 2³²).
 *
 * Checked against numpy's own output (test/fixtures/make_datasets.py).
 */

import { shuffleWith, truncatedFrom, type Rng } from '../../util/random.js';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

/** numpy's legacy MT19937 stream (RandomState's bit generator), 32 bits at a time. */
export class Mt19937 {
  private readonly key = new Uint32Array(N);
  private pos = N;

  /** `seed`: an integer in [0, 2³² − 1], as RandomState requires. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed ${seed} must be an integer between 0 and 2**32 - 1 (numpy's RandomState)`);
    }
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      this.key[i] = s;
      s = (Math.imul(1812433253, s ^ (s >>> 30)) + i + 1) >>> 0;
    }
  }

  /** The next 32-bit output (tempered). */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.key[this.pos++] ?? 0;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Regenerates the 624 words of state. */
  private twist(): void {
    const k = this.key;
    for (let i = 0; i < N; i++) {
      const y = ((k[i] ?? 0) & UPPER) | ((k[(i + 1) % N] ?? 0) & LOWER);
      k[i] = (k[(i + M) % N] ?? 0) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.pos = 0;
  }

  /** numpy's `random_interval(max)`: uniform in [0, max] by masked rejection (max < 2³²). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.nextUint32() & mask) >>> 0;
    while (v > max);
    return v;
  }
}

/** `np.random.RandomState(seed).shuffle(np.arange(n))`'s result. */
export function randomStatePermutation(n: number, seed: number): Uint32Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`n ${n} is not a row count`);
  const rng = new Mt19937(seed); // refuses a seed outside numpy's range
  return shuffleWith(
    Uint32Array.from({ length: n }, (_, i) => i),
    (k) => rng.interval(k - 1),
  );
}

/**
 * `np.random.RandomState(seed)` as this library's Rng, for the draws scikit-learn makes with a
 * random_state: next() is random_sample (53 bits from two outputs), int(n) is randint(0, n)
 * (masked rejection, random_interval), shuffle is RandomState.shuffle, normal is the legacy
 * polar Box–Muller (gauss, with its saved second value). A seed outside numpy's [0, 2³² − 1]
 * is taken mod 2³²; none draws one.
 */
export function numpyRandomState(seed?: number): Rng {
  if (seed !== undefined && !Number.isSafeInteger(seed))
    throw new RangeError(`random_state ${seed} must be a safe integer`);
  const s = seed === undefined ? Math.floor(Math.random() * 2 ** 32) : ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const mt = new Mt19937(s);
  const next = (): number =>
    ((mt.nextUint32() >>> 5) * 67108864 + (mt.nextUint32() >>> 6)) / 9007199254740992;
  const int = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`randint: n ${n} must be a safe integer ≥ 1`);
    if (n <= 2 ** 32) return mt.interval(n - 1);
    // numpy's 64-bit masked rejection for wider ranges: high word first (mt19937_next64).
    const max = BigInt(n - 1);
    let mask = max;
    for (let sh = 1n; sh <= 32n; sh *= 2n) mask |= mask >> sh;
    let v: bigint;
    do v = ((BigInt(mt.nextUint32()) << 32n) | BigInt(mt.nextUint32())) & mask;
    while (v > max);
    return Number(v);
  };
  let gauss: number | undefined;
  const normal = (): number => {
    if (gauss !== undefined) {
      const g = gauss;
      gauss = undefined;
      return g;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * next() - 1;
      x2 = 2 * next() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    gauss = f * x1;
    return f * x2;
  };
  return {
    nextU32: () => mt.nextUint32(),
    next,
    int,
    normal,
    truncatedNormal: () => truncatedFrom(normal),
    // int(i + 1) is random_interval(i): numpy's legacy shuffle.
    shuffle: (arr) => shuffleWith(arr, int),
  };
}
