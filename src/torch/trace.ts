/**
 * The dynamic graph, compiled: a training loop written the PyTorch way (forward, loss,
 * zeroGrad, backward, step) runs its first iterations eagerly while each event is written
 * down with a signature (op kind, attributes, shapes, where each input comes from). An
 * iteration ends at an optimizer's step(). When an iteration's signature has been seen
 * before, the tracer records that iteration once more into engine recordings (the same
 * op records, their buffers owned by the recordings) and from then on REPLAYS it: each op
 * the loop calls is checked against the next recorded event and, when it matches, only
 * queues that event's pre-built dispatches; the queue is encoded as one compute pass when
 * the step ends or a value is read. No buffer, bind group or pipeline is created per
 * iteration, and nothing is read back unless item() or data() is called.
 *
 * A call that does not match (data-dependent control flow, a last smaller batch) flushes
 * what was queued and continues eagerly, correctly: the replayed tensors carry their graph
 * nodes, so an eager backward can pass through them. A different repeating sequence is
 * compiled too (up to MAX_COMPILED per engine).
 *
 * What varies between iterations without changing the kernels: a slice's start row (the
 * deck's X[i:i+batch_size], written to a GPU word before the replay), and tensors made anew
 * each iteration from host data ("feeds", copied into the recorded input buffer).
 */
import type { Bindable, Engine } from '../gpu/engine.js';
import type { Recording } from '../gpu/resources.js';
import { BufferSlice } from '../gpu/resources.js';
import {
  allocate,
  isGradEnabled,
  isRecording,
  Node,
  release,
  whileRecording,
  type Leaf,
  type OpDef,
  type Storage,
  type Var,
} from './autograd.js';

/** Compiled iterations kept per engine (a loop's full batches, its last batch, an evaluation pass...). */
export const MAX_COMPILED = 4;

/** What the tracer needs from the tensor class. */
export interface TensorHost<T extends Var> {
  /**
   * Runs an op eagerly: allocates the output (or uses `out`), encodes the forward, builds the
   * node.
   */
  execute(def: OpDef, inputs: readonly T[], needsGrad: boolean, dyn?: Bindable, out?: Storage): T;
  /** A tensor over a compiled event's output (stale once the event runs again). */
  replayed(def: OpDef, inputs: readonly T[], out: Storage, node: Node | null, slot: Slot): T;
  /** A new feed: a tensor over a buffer of like's shape, and that buffer's storage, which the compiled step owns. */
  feed(like: T): { tensor: T; storage: Storage };
  /** A stable identity for refs (parameters and external tensors). */
  idOf(t: T): number;
  isParameter(t: T): boolean;
}

/** A compiled event's output buffer; each replay bumps the generation. */
export interface Slot {
  generation: number;
  readonly label: string;
  /** The compiled step was freed (evicted or reset): its buffers are gone. */
  released: boolean;
}

/** An optimizer as the tracer drives it. */
export interface TracedOptimizer {
  readonly id: number;
  /** Encodes the update (eagerly or into a recording); `zeroFill`: params with zeroed grads to clear first. */
  encodeStep(zeroFill: readonly Leaf[]): void;
  /** Host-side work after a step (scheduler bookkeeping, grad flags). */
  afterStep(): void;
  /** The parameters whose gradients were zeroed and not written since. */
  zeroedParams(): Leaf[];
}

/** A backward as the tracer drives it. */
export interface BackwardCall<T extends Var> {
  root: T;
  /** Leaves the backward reaches and whether each adds to a kept gradient (false: overwrites). */
  leaves: Map<Leaf, boolean>;
  /**
   * Runs it eagerly from its root; or, given a root and leaf modes, into a recording (the
   * compiled twin of the graph, leaves written as the modes say, host flags untouched).
   * Returns the leaves whose gradients it wrote.
   */
  run(compiled?: { root: T; modes: Map<Leaf, boolean> }): Leaf[];
  /** After a replayed backward: marks the graph freed and the given leaves' gradients written. */
  free(written: readonly Leaf[]): void;
}

type Event<T extends Var> =
  | {
      type: 'op';
      sig: string;
      def: OpDef;
      inputs: readonly T[];
      needsGrad: boolean;
      output: T;
      externals: number[];
    }
  | { type: 'backward'; sig: string; call: BackwardCall<T> }
  | { type: 'step'; sig: string; optimizer: TracedOptimizer; zeroFill: Leaf[] }
  | { type: 'zero'; sig: string };

interface CompiledEvent {
  sig: string;
  rec: Recording | null;
  /** Input positions fed from tensors made anew each iteration, and their recorded buffers. */
  feeds: { index: number; storage: Storage }[];
  /** Stable externals: input position → identity and buffer the recording binds. */
  stable: { index: number; id: number; buf: Bindable }[];
  def?: OpDef;
  out?: Storage;
  node?: Node | null;
  slot?: Slot;
  /** Index into the dyn words, for a slice whose start varies. */
  dyn?: number;
  /** A backward: the leaves its recording writes. */
  written?: Leaf[];
}

interface Compiled {
  sig: string;
  events: CompiledEvent[];
  dynBuffer: GPUBuffer | null;
  dynWords: Uint32Array;
  owned: Storage[];
  lastUse: number;
}

/**
 * Events kept for one iteration: a loop with no step() (inference without noGrad) is not
 * learned past this, and the tensors the events hold are let go.
 */
const MAX_EVENTS = 1024;

/** Words between dyn slots: a binding offset must be a multiple of 256 bytes. */
const DYN_STRIDE_WORDS = 64;

/** Counters a test can assert: how iterations ran. */
export interface TraceStats {
  eagerIterations: number;
  replayedIterations: number;
  compiles: number;
  /** Replays abandoned part-way (a call that did not match). */
  divergences: number;
}

export class Tracer<T extends Var> {
  private events: Event<T>[] = [];
  private produced = new Map<T, number>();
  private seen = new Map<string, { externals: number[][]; uncompilable: boolean }>();
  private compiled = new Map<string, Compiled>();
  private active: Compiled | null = null;
  private pointer = 0;
  private queue: Recording[] = [];
  private uses = 0;
  /** The signature of the last iteration, and which iterations followed each one how often. */
  private last = '';
  private successors = new Map<string, Map<string, number>>();
  /** False while an iteration runs eagerly after a divergence (or before anything matched). */
  private replaying = false;
  /** Compiled iterations forgotten while being replayed: freed when the iteration ends. */
  private doomed: Compiled[] = [];
  /** An event of this iteration was replayed (queued or returned a tensor): no switching now. */
  private committed = false;
  /** This iteration outgrew MAX_EVENTS or ran something a replay cannot: it is not learned. */
  private unlearnable = false;
  readonly stats: TraceStats = { eagerIterations: 0, replayedIterations: 0, compiles: 0, divergences: 0 };
  /** Off: every iteration eager (torch.compile-free PyTorch). */
  enabled = true;

  constructor(
    private readonly engine: Engine,
    private readonly host: TensorHost<T>,
  ) {}

  // ---------------------------------------------------------------- events

  private ref(t: T): string {
    const k = this.produced.get(t);
    const g = t.requiresGrad ? 'g' : '';
    if (k !== undefined) return `t${k}${g}`;
    if (this.host.isParameter(t)) return `p${this.host.idOf(t)}${g}`;
    return `x${t.shape.join('x')}${t.dtype}${g}`;
  }

  /**
   * An op called by the user's code: replayed if it is the next recorded event, else eager.
   * Ops under noGrad() (an evaluation between steps, a metric) are not part of an iteration:
   * they run eagerly after what is queued, and a replay goes on after them.
   */
  op(def: OpDef, inputs: readonly T[], needsGrad: boolean): T {
    if (!isGradEnabled() && !isRecording()) {
      this.flushQueued();
      return this.host.execute(def, inputs, needsGrad);
    }
    const refs = inputs.map((t) => this.ref(t));
    const sig = `${def.kind}:${def.key}:${refs.join(',')}:${needsGrad ? 1 : 0}`;
    const externals = inputs.map((t, i) => (refs[i]?.startsWith('x') ? this.host.idOf(t) : -1));
    const index = this.events.length;
    let output: T | undefined;
    const expected = this.expect(sig);
    if (expected && this.matches(expected, inputs, externals)) {
      output = this.replayOp(expected, def, inputs, needsGrad);
    } else {
      this.diverge();
      output = this.host.execute(def, inputs, needsGrad);
    }
    this.remember({ type: 'op', sig, def, inputs, needsGrad, output, externals }, output, index);
    return output;
  }

  /** Keeps an event for learning the iteration; a run with no step() is dropped when too long. */
  private remember(e: Event<T>, output?: T, index?: number): void {
    if (this.events.length >= MAX_EVENTS) {
      this.diverge();
      this.events = [];
      this.produced = new Map();
      this.unlearnable = true;
      return;
    }
    if (output && index !== undefined) this.produced.set(output, index);
    this.events.push(e);
  }

  /**
   * Work a replay cannot stand for (a backward with a given gradient or retainGraph, from a
   * tensor made outside the iteration): it runs eagerly after what is queued, and this
   * iteration is not compiled.
   */
  opaque(run: () => void): void {
    this.diverge();
    this.flush();
    this.unlearnable = true;
    run();
  }

  /** A backward() from root: replayed, or run eagerly by call.run(). */
  backward(call: BackwardCall<T>): void {
    const k = this.produced.get(call.root);
    const modes = [...call.leaves.entries()].map(
      ([l, acc]) => `${this.ref(l as unknown as T)}${acc ? '+' : '='}`,
    );
    const sig = `backward:${k === undefined ? 'external' : `t${k}`}:${modes.join(',')}`;
    const expected = this.expect(sig);
    if (expected?.rec) {
      this.queue.push(expected.rec);
      this.committed = true;
      this.pointer++;
      call.free(expected.written ?? []);
    } else {
      this.diverge();
      call.run();
    }
    this.remember({ type: 'backward', sig, call });
  }

  /** optimizer.zeroGrad(): only host flags change; kept in the signature. */
  zero(optimizer: TracedOptimizer): void {
    const sig = `zero:o${optimizer.id}`;
    if (this.expect(sig)) this.pointer++;
    else this.diverge();
    this.remember({ type: 'zero', sig });
  }

  /** optimizer.step(): ends the iteration. */
  step(optimizer: TracedOptimizer): void {
    const zeroFill = optimizer.zeroedParams();
    const sig = `step:o${optimizer.id}:${zeroFill.map((l) => this.ref(l as unknown as T)).join(',')}`;
    const expected = this.expect(sig);
    const last = this.pointer === (this.active?.events.length ?? 0) - 1;
    const rec = last ? expected?.rec : undefined;
    const replayed = rec !== undefined && rec !== null;
    if (rec) {
      this.queue.push(rec);
      this.flush();
      this.stats.replayedIterations++;
    } else {
      this.diverge();
      optimizer.encodeStep(zeroFill);
      this.stats.eagerIterations++;
    }
    optimizer.afterStep();
    this.remember({ type: 'step', sig, optimizer, zeroFill });
    this.endIteration(!replayed);
  }

  /** Encodes what is queued (one compute pass) and submits: before any read of a value. */
  flush(): void {
    if (this.queue.length === 0) return;
    const c = this.active;
    if (c?.dynBuffer) this.engine.writeBuffer(c.dynBuffer, 0, c.dynWords);
    this.engine.replaySequence(this.queue.map((recording) => ({ recording, times: 1 })));
    this.queue = [];
    this.engine.submitPending();
  }

  // ---------------------------------------------------------------- replay

  /** The next compiled event if its signature is `sig` (picking a compiled iteration at event 0). */
  private expect(sig: string): CompiledEvent | undefined {
    if (!this.enabled || isRecording()) return undefined;
    if (this.events.length === 0 && this.pointer === 0) {
      this.committed = false;
      this.active = this.pick(sig);
      this.replaying = this.active !== null;
    }
    if (!this.replaying || !this.active) return undefined;
    let e = this.active.events[this.pointer];
    if (e?.sig !== sig && !this.committed) {
      // Nothing replayed yet (only zeroGrad): another compiled iteration with the same
      // beginning may be the one running (the last smaller batch after zeroGrad()).
      const other = this.pick(sig, this.pointer);
      if (other) {
        this.active = other;
        e = other.events[this.pointer];
      }
    }
    return e?.sig === sig ? e : undefined;
  }

  /**
   * Of the compiled iterations whose events before `at` are this iteration's so far and whose
   * event `at` is `sig`: the one that most often came after the last iteration (alternating
   * branches, a last smaller batch after the full ones), else the most recently completed.
   */
  private pick(sig: string, at = 0): Compiled | null {
    const after = this.successors.get(this.last);
    let best: Compiled | null = null;
    let bestCount = -1;
    for (const c of this.compiled.values()) {
      if (c.events[at]?.sig !== sig) continue;
      if (this.events.some((e, j) => j < at && c.events[j]?.sig !== e.sig)) continue;
      const count = after?.get(c.sig) ?? 0;
      if (count > bestCount || (count === bestCount && best && c.lastUse > best.lastUse)) {
        best = c;
        bestCount = count;
      }
    }
    return best;
  }

  /**
   * The recorded bindings hold: each stable external is the same tensor as when recorded,
   * still over the same buffer (a view of a parameter that moved into an arena is not).
   */
  private matches(e: CompiledEvent, inputs: readonly T[], externals: readonly number[]): boolean {
    return e.stable.every(
      ({ index, id, buf }) => externals[index] === id && inputs[index]?.storage.buf === buf,
    );
  }

  private replayOp(e: CompiledEvent, def: OpDef, inputs: readonly T[], needsGrad: boolean): T {
    for (const { index, storage } of e.feeds) {
      const src = (inputs[index] as T).storage.buf;
      const bytes = (inputs[index] as T).elements * 4;
      this.flushQueued();
      const from = src instanceof BufferSlice ? src : { buffer: src, offset: 0 };
      this.engine.copy(from.buffer, storage.buf as GPUBuffer, bytes, from.offset, 0);
    }
    if (e.dyn !== undefined && this.active && def.dynamic) {
      this.active.dynWords[e.dyn * DYN_STRIDE_WORDS] = def.dynamic.value;
    }
    if (e.rec) this.queue.push(e.rec);
    this.committed = true;
    const slot = e.slot as Slot;
    slot.generation++;
    const node = needsGrad && e.node ? new Node(e.node.def, inputs, e.node.saved, e.out as Storage) : null;
    this.pointer++;
    return this.host.replayed(def, inputs, e.out as Storage, node, slot);
  }

  /** Encodes the queue without ending the iteration (a feed copy must come after it). */
  private flushQueued(): void {
    if (this.queue.length === 0) return;
    const c = this.active;
    if (c?.dynBuffer) this.engine.writeBuffer(c.dynBuffer, 0, c.dynWords);
    this.engine.replaySequence(this.queue.map((recording) => ({ recording, times: 1 })));
    this.queue = [];
  }

  /** Leaves replay for the rest of this iteration: what was queued runs first. */
  private diverge(): void {
    if (!this.replaying) return;
    this.flush();
    this.replaying = false;
    this.stats.divergences++;
  }

  // ---------------------------------------------------------------- iterations

  private endIteration(eager: boolean): void {
    for (const c of this.doomed.splice(0)) this.release(c);
    const events = this.events;
    const active = this.active;
    this.events = [];
    this.produced = new Map();
    this.pointer = 0;
    this.active = null;
    this.replaying = false;
    const unlearnable = this.unlearnable;
    this.unlearnable = false;
    const sig = !eager && active ? active.sig : events.map((e) => e.sig).join('\n');
    if (active && !eager) active.lastUse = ++this.uses;
    this.follow(sig);
    if (!eager || !this.enabled || unlearnable) return;
    if (this.compiled.has(sig)) return;
    const externals = events.map((e) => (e.type === 'op' ? e.externals : []));
    const before = this.seen.get(sig);
    if (!before) {
      this.seen.set(sig, { externals, uncompilable: !compilable(events) });
      if (this.seen.size > 64) this.seen.delete(this.seen.keys().next().value as string);
      return;
    }
    if (before.uncompilable) return;
    this.compile(sig, events, before.externals);
  }

  /** Counts that iteration `sig` came after the last one (the choice of the next replay). */
  private follow(sig: string): void {
    let after = this.successors.get(this.last);
    if (!after) {
      after = new Map();
      this.successors.set(this.last, after);
      if (this.successors.size > 64) this.successors.delete(this.successors.keys().next().value as string);
    }
    after.set(sig, (after.get(sig) ?? 0) + 1);
    if (after.size > 16) after.delete(after.keys().next().value as string);
    this.last = sig;
  }

  private compile(sig: string, events: Event<T>[], previous: number[][]): void {
    const engine = this.engine;
    const dynCount = events.filter((e) => e.type === 'op' && e.def.dynamic).length;
    const compiled: Compiled = {
      sig,
      events: [],
      dynBuffer: null,
      dynWords: new Uint32Array(Math.max(1, dynCount) * DYN_STRIDE_WORDS),
      owned: [],
      lastUse: ++this.uses,
    };
    if (dynCount > 0) {
      compiled.dynBuffer = engine.createBuffer({
        size: compiled.dynWords.byteLength,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
        label: 'torch trace dyn words',
      });
    }
    const outs: T[] = [];
    const fused = new Map<number, Storage>();
    let dynNext = 0;
    try {
      for (const [k, e] of events.entries()) {
        if (e.type === 'op') {
          const feeds: CompiledEvent['feeds'] = [];
          const stable: CompiledEvent['stable'] = [];
          const ins = e.inputs.map((t, i) => {
            const j = this.indexIn(events, t, k);
            if (j !== undefined) return outs[j] as T;
            const id = e.externals[i] ?? -1;
            if (id < 0) return t;
            if (previous[k]?.[i] === id) {
              stable.push({ index: i, id, buf: t.storage.buf });
              return t;
            }
            const f = this.host.feed(t);
            feeds.push({ index: i, storage: f.storage });
            compiled.owned.push(f.storage);
            return f.tensor;
          });
          let dyn: number | undefined;
          let dynBinding: Bindable | undefined;
          if (e.def.dynamic && compiled.dynBuffer) {
            dyn = dynNext++;
            dynBinding = new BufferSlice(
              compiled.dynBuffer,
              dyn * DYN_STRIDE_WORDS * 4,
              16,
              'torch slice start',
            );
          }
          // A linear whose only consumer is the next event's activation runs both in one
          // kernel; the activation's event then records nothing.
          let def = e.def;
          const given = fused.get(k);
          const next = events[k + 1];
          const fuse =
            next?.type === 'op' &&
            next.def.activation &&
            next.inputs[0] === e.output &&
            usedOnceBy(events, e.output, k + 1)
              ? e.def.fuseForward?.(next.def.activation)
              : undefined;
          let out: T | undefined;
          const rec = engine.record(`torch ${e.def.kind}`, () =>
            whileRecording(() => {
              if (fuse && next?.type === 'op') {
                const activated = allocate(engine, next.output.elements, `torch ${next.def.kind}`);
                fused.set(k + 1, activated);
                def = {
                  ...e.def,
                  forward: (eng, inputs, o) => (fuse(eng, inputs, o, activated.buf), undefined),
                };
              } else if (given) {
                def = { ...e.def, forward: () => undefined };
              }
              out = this.host.execute(def, ins, e.needsGrad, dynBinding, given);
            }),
          );
          const result = out as T;
          outs[k] = result;
          compiled.events.push({
            sig: e.sig,
            rec: rec.dispatches.length > 0 ? rec : null,
            feeds,
            stable,
            def,
            out: result.storage,
            node: result.gradFn,
            slot: { generation: 0, label: `${e.def.kind} #${k}`, released: false },
            ...(dyn !== undefined ? { dyn } : {}),
          });
        } else if (e.type === 'backward') {
          const j = this.indexIn(events, e.call.root, k);
          const root = outs[j as number] as T;
          let written: Leaf[] = [];
          const rec = engine.record('torch backward', () =>
            whileRecording(() => {
              written = e.call.run({ root, modes: e.call.leaves });
            }),
          );
          compiled.events.push({ sig: e.sig, rec, feeds: [], stable: [], written });
        } else if (e.type === 'step') {
          const rec = engine.record('torch step', () =>
            whileRecording(() => e.optimizer.encodeStep(e.zeroFill)),
          );
          compiled.events.push({ sig: e.sig, rec, feeds: [], stable: [] });
        } else {
          compiled.events.push({ sig: e.sig, rec: null, feeds: [], stable: [] });
        }
      }
    } catch (err) {
      this.release(compiled);
      this.seen.set(sig, { externals: previous, uncompilable: true });
      throw err;
    }
    this.compiled.set(sig, compiled);
    this.stats.compiles++;
    if (this.compiled.size > MAX_COMPILED) {
      const oldest = [...this.compiled.values()].sort((a, b) => a.lastUse - b.lastUse)[0] as Compiled;
      this.compiled.delete(oldest.sig);
      this.release(oldest);
    }
  }

  /** The event index that produced t in this event list, before event `before`. */
  private indexIn(events: readonly Event<T>[], t: T, before: number): number | undefined {
    for (let j = before - 1; j >= 0; j--) {
      const e = events[j];
      if (e?.type === 'op' && e.output === t) return j;
    }
    return undefined;
  }

  private release(c: Compiled): void {
    // Tensors still holding these buffers fail by name from now on.
    for (const e of c.events) if (e.slot) e.slot.released = true;
    for (const e of c.events) e.rec?.release();
    for (const s of c.owned) release(this.engine, s);
    if (c.dynBuffer) this.engine.releaseBuffer(c.dynBuffer);
  }

  /**
   * Forgets the compiled iterations that bind any of these parameters (by id): their
   * buffers are about to move (into an optimizer's arena). One being replayed now runs on
   * eagerly and is freed when its iteration ends.
   */
  forget(parameterIds: readonly number[]): void {
    if (parameterIds.length === 0 || this.compiled.size === 0) return;
    this.flush();
    const uses = new RegExp(`(^|[,:])p(${parameterIds.join('|')})(g|[,:\n]|$)`, 'm');
    for (const [sig, c] of [...this.compiled]) {
      if (!uses.test(sig)) continue;
      this.compiled.delete(sig);
      if (c === this.active) {
        this.diverge();
        this.doomed.push(c);
      } else {
        this.release(c);
      }
    }
  }

  /** Frees every compiled iteration (the engine's buffers they own). */
  reset(): void {
    this.flush();
    for (const c of [...this.compiled.values(), ...this.doomed.splice(0)]) this.release(c);
    this.compiled.clear();
    this.seen.clear();
    this.successors.clear();
    this.last = '';
    this.unlearnable = false;
    this.committed = false;
    this.events = [];
    this.produced = new Map();
    this.pointer = 0;
    this.active = null;
    this.replaying = false;
  }

  /** Compiled iterations held now. */
  get compiledCount(): number {
    return this.compiled.size;
  }
}

/** True when no event but `user` takes t as an input. */
function usedOnceBy<T extends Var>(events: readonly Event<T>[], t: T, user: number): boolean {
  return events.every((e, j) => j === user || e.type !== 'op' || !e.inputs.includes(t));
}

/** An iteration can be compiled when each backward starts from a scalar made in it. */
function compilable<T extends Var>(events: readonly Event<T>[]): boolean {
  return (
    events.some((e) => e.type === 'step') &&
    events.every((e) => e.type !== 'backward' || e.sig.includes(':t'))
  );
}
