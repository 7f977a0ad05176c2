/**
 * The matmul autotuner's choices per engine (src/kernels/tune.ts tunes; encodeMatmul reads
 * them here). Apart from tune.ts so that the matmul wrapper, which tune.ts runs, does not
 * import it back.
 */
import type { MatmulTiling } from '../../shaders/matmul.js';
import type { Engine } from '../gpu/engine.js';

/** A product as the tuner keys it: transposes and shape (the epilogue does not matter). */
export interface ProductShape {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
}

/** "TN 784x512x128": the transposes and the shape of a product. */
export function matmulTuneKey(spec: ProductShape): string {
  return `${spec.transA ? 'T' : 'N'}${spec.transB ? 'T' : 'N'} ${spec.m}x${spec.n}x${spec.k}`;
}

export interface Tuning {
  choices: Map<string, MatmulTiling>;
  /** Products noted while plans compiled ('on'), with their shape. */
  pending: Map<string, Required<ProductShape>>;
  loaded?: Promise<void>;
  /** The round of tunePending in progress (settled when none is). */
  running: Promise<void>;
}
const tunings = new WeakMap<Engine, Tuning>();

export function tuningOf(engine: Engine): Tuning {
  let t = tunings.get(engine);
  if (!t) {
    t = { choices: new Map(), pending: new Map(), running: Promise.resolve() };
    tunings.set(engine, t);
  }
  return t;
}

/**
 * The tuned tiling of a product the tiled kernel runs, if any (never in mode 'off'). In mode
 * 'on' a product without one is noted for tunePending.
 */
export function lookupTiling(engine: Engine, spec: ProductShape): MatmulTiling | undefined {
  const mode = engine.profile.tune;
  if (mode === 'off') return undefined;
  const t = tuningOf(engine);
  const key = matmulTuneKey(spec);
  const chosen = t.choices.get(key);
  if (!chosen && mode === 'on') {
    t.pending.set(key, {
      m: spec.m,
      n: spec.n,
      k: spec.k,
      transA: spec.transA ?? false,
      transB: spec.transB ?? false,
    });
  }
  return chosen;
}
