/**
 * GPU time per dispatch, from timestamp queries written at the beginning and end of each
 * dispatch's compute pass. Browsers may quantize timestamps (Chrome rounds them to 100 µs
 * unless started with --enable-dawn-features=allow_unsafe_apis), so short kernels can read 0.
 */
import type { Engine } from './engine.js';

export interface DispatchTiming {
  /** The dispatch's label (the kernel name). */
  label: string;
  /** GPU time between the pass's begin and end timestamps, in milliseconds. */
  ms: number;
  /**
   * The work the dispatch declared (DispatchWork in ./engine.ts): floating-point operations
   * and minimum global-memory bytes, so flops / ms / 1e6 is its GFLOP/s and bytes / ms / 1e6
   * its GB/s. Absent when the dispatch declared none.
   */
  flops?: number;
  bytes?: number;
}

export interface Profile<T> {
  result: T;
  /** One entry per timed dispatch, in dispatch order. */
  dispatches: DispatchTiming[];
  totalMs: number;
  /** Dispatches past `maxDispatches`, run but not timed. */
  untimed: number;
}

/**
 * Runs `fn` (which encodes work on `engine`), waits for the GPU, and returns the GPU time of
 * every dispatch it made. At most `maxDispatches` (default 1024) are timed.
 */
export async function profile<T>(
  engine: Engine,
  fn: () => T | Promise<T>,
  options: { maxDispatches?: number } = {},
): Promise<Profile<T>> {
  const max = Math.max(1, Math.min(options.maxDispatches ?? 1024, 2048)); // 4096 queries per set
  await engine.flush(); // earlier work is not part of the profile
  const querySet = engine.device.createQuerySet({ type: 'timestamp', count: 2 * max, label: 'profile' });
  let recorded: ReturnType<Engine['stopTimestamps']>;
  let result: T;
  engine.startTimestamps(querySet);
  try {
    result = await fn();
  } finally {
    recorded = engine.stopTimestamps();
  }
  const count = 2 * recorded.timed.length;
  try {
    if (count === 0) return { result, dispatches: [], totalMs: 0, untimed: recorded.untimed };
    const resolved = engine.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      label: 'profile timestamps',
    });
    try {
      engine.encodeCommands((encoder) => encoder.resolveQuerySet(querySet, 0, count, resolved, 0));
      const ns = new BigInt64Array(await engine.read(resolved, count * 8, 'profile timestamps'));
      const dispatches = recorded.timed.map(({ label, work }, i): DispatchTiming => {
        const begin = ns[2 * i] ?? 0n;
        const end = ns[2 * i + 1] ?? 0n;
        const ms = Number(end > begin ? end - begin : 0n) / 1e6;
        return work ? { label, ms, flops: work.flops, bytes: work.bytes } : { label, ms };
      });
      const totalMs = dispatches.reduce((s, d) => s + d.ms, 0);
      return { result, dispatches, totalMs, untimed: recorded.untimed };
    } finally {
      engine.releaseBuffer(resolved);
    }
  } finally {
    querySet.destroy();
  }
}
