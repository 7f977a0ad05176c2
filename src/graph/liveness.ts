/**
 * Liveness and memory sharing of a step's buffers. A lowered step is a list of kernel calls
 * over virtual buffers; a virtual buffer is either fixed (a slice of an arena, a dataset, an
 * accumulator) or a temporary whose lifetime is the span of calls from its first to its
 * last use. Temporaries whose lifetimes do not overlap share one GPU buffer (greedy, largest
 * first, best fit), so a step's activations and gradients need about the memory of the
 * widest point of the graph.
 */
import type { Bindable, Engine } from '../gpu/engine.js';

export interface VBuf {
  readonly id: number;
  /** Bytes needed (a multiple of 16). */
  readonly bytes: number;
  readonly label: string;
  /** Set for buffers the plan does not own (arena slices, data, accumulators). */
  readonly fixed?: Bindable;
}

let nextId = 0;

/**
 * A virtual buffer with a fresh id: the one allocator of buffer ids, for the temporaries of
 * every plan and the fixed buffers of every model alike, so no two VBufs share an id.
 */
export function vbuf(bytes: number, label: string, fixed?: Bindable): VBuf {
  return fixed ? { id: nextId++, bytes, label, fixed } : { id: nextId++, bytes, label };
}

/** One kernel call of a lowered step. */
export interface Call {
  readonly label: string;
  readonly reads: readonly VBuf[];
  /** Written (or accumulated into). */
  readonly writes: readonly VBuf[];
  encode(engine: Engine, get: (v: VBuf) => Bindable): void;
}

export interface MemoryPlan {
  /** Physical buffer of each temporary, by VBuf id. */
  readonly assignment: Map<number, GPUBuffer>;
  readonly buffers: GPUBuffer[];
  /** Bytes of the shared temporaries. */
  readonly bytes: number;
  /** What the temporaries would take without sharing. */
  readonly unsharedBytes: number;
}

/**
 * Lifetime [first, last] call index of every temporary used by `calls` (by id; the largest
 * size seen for an id counts). Pinned ids live to the end.
 */
export function lifetimes(
  calls: readonly Call[],
  pinned: ReadonlySet<number> = new Set(),
): Map<number, { bytes: number; label: string; span: [number, number] }> {
  const spans = new Map<number, { bytes: number; label: string; span: [number, number] }>();
  calls.forEach((call, i) => {
    for (const v of [...call.reads, ...call.writes]) {
      if (v.fixed) continue;
      const t = spans.get(v.id);
      if (t) {
        t.span[1] = i;
        t.bytes = Math.max(t.bytes, v.bytes);
      } else spans.set(v.id, { bytes: v.bytes, label: v.label, span: [i, i] });
    }
  });
  for (const [id, t] of spans) if (pinned.has(id)) t.span[1] = calls.length;
  return spans;
}

/**
 * Assigns temporaries to shared buffers. Two temporaries share a buffer only if their
 * lifetimes are disjoint, so a call's inputs and outputs never alias (both are live at it).
 */
export function planMemory(
  engine: Engine,
  calls: readonly Call[],
  label: string,
  pinned: ReadonlySet<number> = new Set(),
): MemoryPlan {
  const spans = lifetimes(calls, pinned);
  const temps = [...spans.entries()]
    .map(([id, t]) => ({ id, ...t }))
    .sort((a, b) => b.bytes - a.bytes || a.id - b.id);
  interface Slot {
    bytes: number;
    busy: [number, number][];
  }
  const slots: Slot[] = [];
  const slotOf = new Map<number, Slot>();
  for (const v of temps) {
    const [start, end] = v.span;
    let best: Slot | undefined;
    for (const slot of slots) {
      if (slot.busy.some(([s, e]) => s <= end && start <= e)) continue;
      // Best fit: the smallest slot that holds v; else the largest, which then grows.
      if (!best) best = slot;
      else if (slot.bytes >= v.bytes && (best.bytes < v.bytes || slot.bytes < best.bytes)) best = slot;
      else if (best.bytes < v.bytes && slot.bytes > best.bytes) best = slot;
    }
    if (!best) {
      best = { bytes: 0, busy: [] };
      slots.push(best);
    }
    best.bytes = Math.max(best.bytes, v.bytes);
    best.busy.push([start, end]);
    slotOf.set(v.id, best);
  }
  const buffers: GPUBuffer[] = [];
  const physical = new Map<Slot, GPUBuffer>();
  try {
    slots.forEach((slot, i) => {
      const buffer = engine.createBuffer({
        size: slot.bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label: `${label} temp ${i}`,
      });
      buffers.push(buffer);
      physical.set(slot, buffer);
    });
  } catch (e) {
    for (const b of buffers) engine.releaseBuffer(b);
    throw e;
  }
  const assignment = new Map<number, GPUBuffer>();
  for (const [id, slot] of slotOf) assignment.set(id, physical.get(slot) as GPUBuffer);
  return {
    assignment,
    buffers,
    bytes: slots.reduce((s, x) => s + x.bytes, 0),
    unsharedBytes: temps.reduce((s, v) => s + v.bytes, 0),
  };
}
