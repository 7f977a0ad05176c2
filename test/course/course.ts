/**
 * Shared by the course conformance suite (deck000.test.ts … deck004.test.ts): the engine, the
 * two spellings of every options object (the deck's snake_case and tfjs's camelCase), test
 * names that cite the deck and slide, and small seeded synthetic data sets.
 */
import { afterAll, beforeAll, it } from 'vitest';
import { data, initEngine, type Engine, type Prediction } from '../../src/node/index.js';

export type Spelling = 'snake_case' | 'camelCase';
export const SPELLINGS: readonly Spelling[] = ['snake_case', 'camelCase'];

/** One engine per test file. */
export function useEngine(): void {
  let engine: Engine | undefined;
  beforeAll(async () => {
    engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
  });
  afterAll(() => engine?.dispose());
}

const camel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * The deck's options as written (snake_case), or the same options with every top-level key in
 * camelCase (`batch_size` → `batchSize`, `num_trials` → `numTrials`): the mechanical translation.
 */
export function kw<T extends object>(spelling: Spelling, options: T): T {
  if (spelling === 'snake_case') return options;
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [camel(k), v])) as T;
}

/** Tests named "deck 00N, slide '<title>': <what>" (and " [snake_case]" / " [camelCase]"). */
export function slide(deck: number, title: string) {
  const prefix = `deck ${String(deck).padStart(3, '0')}, slide '${title}'`;
  return {
    /** One test (a snippet without options). */
    it: (what: string, fn: () => Promise<void> | void) => it(`${prefix}: ${what}`, fn),
    /** The same body once per spelling. */
    both: (what: string, fn: (s: Spelling) => Promise<void> | void) => {
      for (const s of SPELLINGS) it(`${prefix}: ${what} [${s}]`, () => fn(s));
    },
  };
}

/** The one output of a single-output prediction. */
export function single(p: Prediction | Prediction[]): { data: Float32Array; shape: number[] } {
  if (Array.isArray(p)) throw new Error('expected one output');
  return p;
}

/** Rows of a flat [rows, cols] array. */
export function rows(flat: ArrayLike<number>, cols: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r * cols < flat.length; r++)
    out.push(Array.from({ length: cols }, (_, c) => flat[r * cols + c] as number));
  return out;
}

export function argmax(row: readonly number[]): number {
  let best = 0;
  row.forEach((v, i) => {
    if (v > (row[best] as number)) best = i;
  });
  return best;
}

/** `classes` well-separated Gaussian blobs in `features` dimensions: x [n][features], y class ids. */
export function blobs(
  n: number,
  features: number,
  classes: number,
  seed = 1,
): { x: number[][]; y: number[] } {
  const rng = data.createRng(seed);
  const centres = Array.from({ length: classes }, () =>
    Array.from({ length: features }, () => 4 * rng.normal()),
  );
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    x.push((centres[c] as number[]).map((m) => m + 0.5 * rng.normal()));
    y.push(c);
  }
  return { x, y };
}

/** A noisy linear regression: x [n][features] ~ N(0, 1), y [n][1]. */
export function regression(n: number, features: number, seed = 1): { x: number[][]; y: number[][] } {
  const rng = data.createRng(seed);
  const w = Array.from({ length: features }, () => rng.normal());
  const x = Array.from({ length: n }, () => Array.from({ length: features }, () => rng.normal()));
  const y = x.map((r) => [r.reduce((s, v, j) => s + v * (w[j] as number), 1) + 0.1 * rng.normal()]);
  return { x, y };
}

/** Uniform random [n, size] floats in [0, 1) (MNIST-shaped inputs for shape checks). */
export function uniform(n: number, size: number, seed = 1): Float32Array {
  const rng = data.createRng(seed);
  return Float32Array.from({ length: n * size }, () => rng.next());
}

/** A seeded Glorot-uniform kernel initializer (the decks' default, made reproducible). */
export const seeded = (seed: number) => ({ className: 'GlorotUniform', config: { seed } });
