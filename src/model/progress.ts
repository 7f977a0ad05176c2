/**
 * Keras's progress bar for fit(verbose: 1): in a terminal, one line per epoch redrawn as
 * steps complete ("12/469 ━━━━━━━━━━━━━━━━━━━━ 3s 8ms/step - accuracy: 0.81 - loss: 0.62");
 * elsewhere (a pipe, CI, the browser console) only the finished line.
 */
import type { Logs } from './callbacks.js';

/** Logs as Keras prints them after an epoch: `loss: 0.3120 - accuracy: 0.9100`. */
export function formatLogs(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${k}: ${v.toFixed(4)}`)
    .join(' - ');
}

interface Output {
  isTTY?: boolean;
  write(s: string): unknown;
}

function stdout(): Output | undefined {
  const p = (globalThis as { process?: { stdout?: Output } }).process;
  return p?.stdout;
}

export class ProgressBar {
  private readonly start = performance.now();
  private readonly out = stdout();

  constructor(
    private readonly epoch: number,
    private readonly epochs: number,
    private readonly steps: number,
  ) {
    this.print(`Epoch ${epoch + 1}/${epochs}\n`);
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
    if (this.out?.isTTY) this.out.write(`\r${this.line(step, logs, false)}\x1b[K`);
  }

  finish(logs: Logs): void {
    const line = this.line(this.steps, logs, true);
    if (this.out) this.out.write(`${this.out.isTTY ? '\r' : ''}${line}${this.out.isTTY ? '\x1b[K' : ''}\n`);
    else console.log(line);
  }

  private print(s: string): void {
    if (this.out) this.out.write(s);
    else console.log(s.trimEnd());
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
