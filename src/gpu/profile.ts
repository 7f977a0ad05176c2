/**
 * The kernel profile: how an engine shapes its kernels for the adapter it runs on, chosen
 * once by initEngine from what the adapter says (fallback or not, vendor, architecture,
 * subgroup sizes). The kernels read it where a choice depends on the device: the matmul's
 * tiles and when to split k, the thin matmul's layout.
 *
 * What each profile holds comes from two sources. 'cpu' is what was measured on the
 * software adapters of our machines (lavapipe, SwiftShader): unchanged choices, no split K
 * (a CPU adapter runs a few workgroups at a time, whatever the grid). The GPU profiles are
 * the shape of the hardware, not measurements of it: how many workgroups keep its cores
 * busy (the multiprocessors or compute units of the vendor's current discrete parts, a few
 * workgroups each; fewer for integrated parts), and a longer k-step. No GPU has run them
 * yet (bench/RESULTS.md says so); initEngine({ kernels }) pins one for tests and benchmarks.
 */
import type { AdapterDescription } from './capabilities.js';

export const KERNEL_PROFILES = ['cpu', 'nvidia', 'amd', 'intel', 'apple', 'gpu'] as const;
export type KernelProfileName = (typeof KERNEL_PROFILES)[number];

/**
 * Matmul autotuning (src/kernels/tune.ts): 'off' none; 'cached' choices from the device's
 * cache; 'on' also times the products a plan has no choice for.
 */
export const TUNE_MODES = ['off', 'cached', 'on'] as const;
export type TuneMode = (typeof TUNE_MODES)[number];

export interface KernelProfile {
  readonly name: KernelProfileName;
  /** What chose it: "software adapter", "vendor nvidia", "asked for". */
  readonly reason: string;
  /**
   * Workgroups a matmul should launch to fill the device. A product whose grid of tiles is
   * smaller takes smaller tiles, then splits k (deterministically). 0: never (CPU adapters).
   */
  readonly fillWorkgroups: number;
  /** k-values per shared-memory step of the tiled matmul (a multiple of 4). */
  readonly matmulTk: number;
  /**
   * The thin matmul: 'cpu' one k-slice a thread (no barrier), and every product of more than
   * 8 rows whose A is not transposed (src/kernels/matmul.ts, matmulKernelFor); 'gpu' k-slices,
   * up to 8 rows only.
   */
  readonly thin: 'cpu' | 'gpu';
  /**
   * With thin 'cpu': products with A transposed take the thin kernel too (SwiftShader, where
   * it is 1.2–2× as fast as the tiled one; lavapipe, where it is slower, keeps the tiled one).
   */
  readonly thinTransA: boolean;
  /**
   * The tiled matmul's blocks per thread (bm × bn blocks of 4×4 outputs, 8×8 threads) and
   * k-step for a weight gradient Xᵀ·dY (A transposed, B not) of at least WEIGHT_GRADIENT_MIN_M
   * rows and more than 16 columns (src/kernels/matmul.ts, matmulTiling); none: as any other
   * product. 'cpu': 4×2 blocks, a 128×64 tile (k-step 16 on lavapipe; 8 on SwiftShader, whose
   * shader compile time grows with the workgroup memory declared).
   */
  readonly weightGradient?: { readonly bm: number; readonly bn: number; readonly tk: number };
  /** The adapter's subgroup sizes [min, max] where it offers subgroups and says them. */
  readonly subgroupSizes?: readonly [number, number];
  /**
   * The most lanes of a row that the row kernels (losses) reduce with subgroup shuffles
   * instead of a workgroup-memory tree: the adapter's smallest subgroup size (at most 32),
   * where ProfileHints.subgroups says they may be used. 0: the tree everywhere.
   */
  readonly subgroupLanes: number;
  /** Matmul autotuning: by default 'off' on 'cpu' (its choices were measured), else 'cached'. */
  readonly tune: TuneMode;
  /** Mode 'on': the most ms one round of tuning takes before training (products left wait). */
  readonly tuneBudgetMs: number;
}

/** The fewest rows (the layer's inputs) of a weight gradient that takes profile.weightGradient. */
export const WEIGHT_GRADIENT_MIN_M = 256;

/** The default tuneBudgetMs: issue 21's bound for the seed MLP on a GPU. */
export const TUNE_BUDGET_MS = 3000;

/** The GPU profiles: [fillWorkgroups, matmulTk]. */
const GPU_SHAPES: Record<Exclude<KernelProfileName, 'cpu'>, [number, number]> = {
  // 132 multiprocessors on an H100, 108 on an A100, up to 128 on consumer parts: 2 each.
  nvidia: [256, 16],
  // 96–120 compute units on current discrete parts.
  amd: [192, 16],
  // Integrated Xe (96 EUs) to Arc (32 Xe cores).
  intel: [64, 16],
  // Apple M-series: 8–40 GPU cores.
  apple: [64, 16],
  // An adapter that names no vendor we know.
  gpu: [128, 16],
};

/** Adapter info beyond the description that the choice reads (subgroup sizes). */
export interface ProfileHints {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /**
   * Kernels may use the device's subgroups: it has the feature, lays them out as the row
   * kernels need (src/gpu/subgroups.ts), and initEngine({ subgroups }) is not false.
   */
  subgroups?: boolean;
}

/**
 * The profile for `adapter`: 'cpu' for a software adapter, else by vendor (nvidia, amd,
 * intel, apple; 'gpu' for any other). `asked` pins one (initEngine({ kernels })).
 */
export function chooseKernelProfile(
  adapter: AdapterDescription,
  hints: ProfileHints = {},
  asked?: KernelProfileName,
  tune?: TuneMode,
  tuneBudgetMs = TUNE_BUDGET_MS,
): KernelProfile {
  const name = asked ?? profileFor(adapter);
  const reason = asked
    ? 'asked for'
    : name === 'cpu'
      ? 'software adapter'
      : name === 'gpu'
        ? `vendor "${adapter.vendor}" not known`
        : `vendor ${name}`;
  const { subgroupMinSize: min, subgroupMaxSize: max } = hints;
  const subgroupSizes: [number, number] | undefined =
    typeof min === 'number' && typeof max === 'number' && min > 0 && max >= min ? [min, max] : undefined;
  // Subgroup sizes are powers of two from 4 to 128 (WGSL); a row takes at most 32 lanes.
  const subgroupLanes =
    hints.subgroups === true && subgroupSizes && isPowerOfTwo(subgroupSizes[0]) && subgroupSizes[0] >= 4
      ? Math.min(subgroupSizes[0], 32)
      : 0;
  const base = {
    tune: tune ?? (name === 'cpu' ? 'off' : 'cached'),
    tuneBudgetMs,
    subgroupLanes,
    ...(subgroupSizes ? { subgroupSizes } : {}),
  };
  if (name === 'cpu') {
    const swiftShader = /swiftshader/i.test(`${adapter.vendor} ${adapter.architecture} ${adapter.name}`);
    const weightGradient = { bm: 4, bn: 2, tk: swiftShader ? 8 : 16 };
    return {
      name,
      reason,
      fillWorkgroups: 0,
      matmulTk: 8,
      thin: 'cpu',
      thinTransA: swiftShader,
      weightGradient,
      ...base,
    };
  }
  const [fillWorkgroups, matmulTk] = GPU_SHAPES[name];
  return { name, reason, fillWorkgroups, matmulTk, thin: 'gpu', thinTransA: false, ...base };
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function profileFor(adapter: AdapterDescription): KernelProfileName {
  if (adapter.isFallback) return 'cpu';
  const text = `${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.name}`.toLowerCase();
  if (/nvidia|geforce|quadro|tesla/.test(text)) return 'nvidia';
  if (/\bamd\b|\bati\b|radeon/.test(text)) return 'amd';
  if (/intel/.test(text)) return 'intel';
  if (/apple/.test(text)) return 'apple';
  return 'gpu';
}

/**
 * "kernels nvidia (vendor nvidia): fill 256 workgroups, k-step 16, thin gpu, subgroups 32
 * (row reductions), tune cached".
 */
export function describeKernelProfile(p: KernelProfile): string {
  const sizes = p.subgroupSizes;
  const sub = sizes
    ? `, subgroups ${sizes[0] === sizes[1] ? sizes[0] : sizes.join('–')}` +
      (p.subgroupLanes > 0 ? ` (row reductions)` : ' (unused)')
    : '';
  const fill = p.fillWorkgroups > 0 ? `fill ${p.fillWorkgroups} workgroups` : 'no split k';
  const thin = `thin ${p.thin}${p.thin === 'cpu' && p.thinTransA ? ' (Aᵀ too)' : ''}`;
  const g = p.weightGradient;
  const gradient = g ? `, Xᵀ·dY ${32 * g.bm}×${32 * g.bn} k-step ${g.tk}` : '';
  return `kernels ${p.name} (${p.reason}): ${fill}, k-step ${p.matmulTk}${gradient}, ${thin}${sub}, tune ${p.tune}`;
}
