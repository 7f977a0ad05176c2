/**
 * What fit(verbose: 1) prints, as Keras: in a terminal, one progress bar per epoch redrawn as
 * steps complete ("12/469 ━━━━━━━━━━━━━━━━━━━━ 3s 8ms/step - accuracy: 0.81 - loss: 0.62");
 * elsewhere (a pipe, CI, the browser console) only the per-epoch line ("Epoch 1/3 - loss:
 * 0.6200 - accuracy: 0.8100"). Only a redrawn bar reads the running loss during the epoch, and
 * model.events tells fit whether any page listens for 'batch' events: no reads nobody uses.
 */
import type { Logs } from './callbacks.js';

/** Logs as Keras prints them after an epoch: `loss: 0.3120 - accuracy: 0.9100`. */
export function formatLogs(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${k}: ${v.toFixed(4)}`)
    .join(' - ');
}

/** Where the bar is drawn: process.stdout in Node, or nothing (the console) in a browser. */
export interface ProgressOutput {
  isTTY?: boolean;
  write(s: string): unknown;
}

function stdout(): ProgressOutput | undefined {
  const p = (globalThis as { process?: { stdout?: ProgressOutput } }).process;
  return p?.stdout;
}

type Listener = EventListenerOrEventListenerObject;

/** The capture flag of addEventListener/removeEventListener options, as EventTarget reads it. */
function captureOf(options: EventListenerOptions | boolean | undefined): boolean {
  return typeof options === 'boolean' ? options : options?.capture === true;
}

/** One registration FitEvents mirrors: what EventTarget keys a listener by, and `once`. */
interface Registration {
  listener: Listener;
  capture: boolean;
  once: boolean;
}

/**
 * model.events: an EventTarget that also knows whether anyone listens for a type, which
 * EventTarget does not tell. fit reads the running logs during an epoch for 'batch' events
 * only when listens('batch'). The count errs towards listening: a `once` listener counts
 * until its type is dispatched, one added with an AbortSignal until the signal aborts.
 */
export class FitEvents extends EventTarget {
  /**
   * Per type, the listeners EventTarget holds, one entry per registration it appended (a
   * duplicate add is ignored by EventTarget, and so here, with its signal).
   */
  private readonly added = new Map<string, Registration[]>();

  override addEventListener(
    type: string,
    listener: Listener | null,
    options?: AddEventListenerOptions | boolean,
  ): void {
    super.addEventListener(type, listener, options);
    if (!listener) return;
    const capture = captureOf(options);
    const o = typeof options === 'object' ? options : {};
    if (o.signal?.aborted) return;
    const list = this.added.get(type) ?? [];
    if (list.some((e) => e.listener === listener && e.capture === capture)) return;
    const entry: Registration = { listener, capture, once: o.once === true };
    list.push(entry);
    this.added.set(type, list);
    // The signal removes this registration only: not one made again after it was removed.
    o.signal?.addEventListener('abort', () => this.drop(type, (e) => e === entry), { once: true });
  }

  override removeEventListener(
    type: string,
    listener: Listener | null,
    options?: EventListenerOptions | boolean,
  ): void {
    super.removeEventListener(type, listener, options);
    if (!listener) return;
    const capture = captureOf(options);
    this.drop(type, (e) => e.listener === listener && e.capture === capture);
  }

  override dispatchEvent(event: Event): boolean {
    // The `once` registrations this dispatch runs: those present before it (one added by a
    // listener during the dispatch waits for the next).
    const fired = (this.added.get(event.type) ?? []).filter((e) => e.once);
    const r = super.dispatchEvent(event);
    this.drop(event.type, (e) => fired.includes(e));
    return r;
  }

  /** True while a listener for `type` is added (and not removed). */
  listens(type: string): boolean {
    return (this.added.get(type)?.length ?? 0) > 0;
  }

  private drop(type: string, match: (e: Registration) => boolean): void {
    const list = this.added.get(type);
    if (list)
      this.added.set(
        type,
        list.filter((e) => !match(e)),
      );
  }
}

/**
 * One epoch's output for verbose 1: a bar redrawn in a terminal (`live`), else the one line
 * "Epoch 1/3 - loss: ..." printed when the epoch ends.
 */
export class ProgressBar {
  private readonly start = performance.now();
  /** True in a terminal: update() redraws the bar, so fit reads the logs during the epoch. */
  readonly live: boolean;

  constructor(
    private readonly epoch: number,
    private readonly epochs: number,
    private readonly steps: number,
    /** null: console.log (a browser). */
    private readonly out: ProgressOutput | null = stdout() ?? null,
  ) {
    this.live = out?.isTTY === true;
    if (this.live) out?.write(`Epoch ${epoch + 1}/${epochs}\n`);
  }

  /** The line for `step` of `steps` done (with ETA while running, total time when done). */
  line(step: number, logs: Logs, done: boolean): string {
    const width = 20;
    const filled = Math.round((width * step) / this.steps);
    const bar = '━'.repeat(filled) + (done ? '' : '─'.repeat(width - filled));
    const ms = performance.now() - this.start;
    const perStep = ms / Math.max(1, step);
    const time = done
      ? `${Math.round(ms / 1000)}s ${formatPerStep(perStep)}`
      : `${Math.round((perStep * (this.steps - step)) / 1000)}s`;
    const metrics = Object.keys(logs)
      .sort()
      .map((k) => `${k}: ${(logs[k] ?? NaN).toFixed(4)}`)
      .join(' - ');
    const n = String(this.steps);
    return `${String(step).padStart(n.length)}/${n} ${bar.padEnd(width)} ${time}${metrics ? ` - ${metrics}` : ''}`;
  }

  update(step: number, logs: Logs): void {
    if (this.live) this.out?.write(`\r${this.line(step, logs, false)}\x1b[K`);
  }

  finish(logs: Logs): void {
    if (this.live) {
      this.out?.write(`\r${this.line(this.steps, logs, true)}\x1b[K\n`);
      return;
    }
    const line = `Epoch ${this.epoch + 1}/${this.epochs} - ${formatLogs(logs)}`;
    if (this.out) this.out.write(`${line}\n`);
    else console.log(line);
  }

  get label(): string {
    return `${this.epoch + 1}/${this.epochs}`;
  }
}

function formatPerStep(ms: number): string {
  return ms >= 1000
    ? `${(ms / 1000).toFixed(1)}s/step`
    : ms >= 1
      ? `${Math.round(ms)}ms/step`
      : `${Math.round(ms * 1000)}us/step`;
}
