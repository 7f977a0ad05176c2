/**
 * fit(verbose: 1)'s output and what it costs: a terminal gets the redrawn bar (and the reads
 * during the epoch it draws), piped output Keras's one line per epoch and no reads beyond
 * verbose 0's; a 'batch' listener on model.events or a batch callback brings the reads back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { layers } from '../nn/layers/index.js';
import { optimizers } from '../nn/optimizers.js';
import { sequential } from './model.js';
import { FitEvents, ProgressBar, type ProgressOutput } from './progress.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

// 1000 rows in batches of 8: 125 steps an epoch, read every ceil(125 / 30) = 5 steps while
// someone uses the running logs: after steps 5, 10, ..., 120 (24 reads; step 125's read is
// the epoch's own). Every epoch reads twice in any case: its logs, and the checkpoint of the
// weights that a lost device resumes from.
const ROWS = 1000;
const BATCH = 8;
const EPOCHS = 2;
const PER_EPOCH = 2;
const STEP_READS = 24;

const x = Float32Array.from({ length: ROWS * 2 }, (_, i) => Math.sin(i * 0.37));
const y = Float32Array.from({ length: ROWS }, (_, r) => (x[2 * r] ?? 0) - 2 * (x[2 * r + 1] ?? 0));

function linear() {
  const m = sequential({ layers: [layers.dense({ units: 1, inputShape: [2] })] });
  m.compile({ optimizer: optimizers.sgd({ learningRate: 0.05 }), loss: 'mse' });
  return m;
}

/** process.stdout as a TTY or a pipe, its writes captured. */
function captureStdout(isTTY: boolean): string[] {
  const writes: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    writes.push(String(s));
    return true;
  });
  const had = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
  Object.defineProperty(process.stdout, 'isTTY', { value: isTTY, configurable: true });
  restore.push(() => {
    if (had) Object.defineProperty(process.stdout, 'isTTY', had);
    else delete (process.stdout as { isTTY?: boolean }).isTTY;
  });
  return writes;
}
const restore: (() => void)[] = [];

/** A write with the terminal's erase-to-end-of-line (ESC [K) shown as <EL>. */
const shown = (s: string | undefined): string => (s ?? '').replaceAll('\x1b[K', '<EL>');
afterEach(() => {
  vi.restoreAllMocks();
  for (const r of restore.splice(0)) r();
});

/** Readbacks of one fit of EPOCHS epochs. */
async function fitReadbacks(
  m: ReturnType<typeof linear>,
  args: Parameters<typeof m.fit>[2],
): Promise<number> {
  const before = engine.stats().readbacks;
  await m.fit(
    { data: x, shape: [ROWS, 2] },
    { data: y, shape: [ROWS, 1] },
    {
      epochs: EPOCHS,
      batchSize: BATCH,
      shuffle: false,
      ...args,
    },
  );
  return engine.stats().readbacks - before;
}

describe('fit verbose 1: reads only what is shown or listened to', () => {
  it('piped: as many readbacks as verbose 0, and one "Epoch i/n - loss: ..." line per epoch', async () => {
    const m = linear();
    const silent = await fitReadbacks(m, { verbose: 0 });
    expect(silent).toBe(EPOCHS * PER_EPOCH);
    const writes = captureStdout(false);
    const before = engine.stats().readbacks;
    const h = await m.fit(
      { data: x, shape: [ROWS, 2] },
      { data: y, shape: [ROWS, 1] },
      {
        epochs: EPOCHS,
        batchSize: BATCH,
        shuffle: false,
        verbose: 1,
      },
    );
    expect(engine.stats().readbacks - before).toBe(EPOCHS * PER_EPOCH);
    const loss = h.history.loss ?? [];
    expect(loss).toHaveLength(EPOCHS);
    expect(writes).toEqual(loss.map((l, e) => `Epoch ${e + 1}/${EPOCHS} - loss: ${l.toFixed(4)}\n`));
  });

  it('a terminal: the bar redrawn after each read, 24 reads an epoch more', async () => {
    const m = linear();
    const writes = captureStdout(true);
    expect(await fitReadbacks(m, { verbose: 1 })).toBe(EPOCHS * (PER_EPOCH + STEP_READS));
    // Per epoch: the "Epoch i/n" header, 25 redraws (24 reads and the epoch's own, at step
    // 125), and the finished line.
    expect(writes).toHaveLength(EPOCHS * (3 + STEP_READS));
    expect(writes[0]).toBe(`Epoch 1/${EPOCHS}\n`);
    expect(shown(writes[1])).toMatch(/^\r {2}5\/125 ━─{19} \d+s - loss: \d+\.\d{4}<EL>$/);
    expect(shown(writes[STEP_READS + 2])).toMatch(
      /^\r125\/125 ━{20} \d+s \d+(ms|us)\/step - loss: \d+\.\d{4}<EL>\n$/,
    );
    expect(writes[STEP_READS + 3]).toBe(`Epoch 2/${EPOCHS}\n`);
  });

  it("piped with a 'batch' listener or a batch callback: the reads they use, until removed", async () => {
    const m = linear();
    captureStdout(false);
    const steps: number[] = [];
    const listener = (e: Event): void => void steps.push((e as CustomEvent<{ step: number }>).detail.step);
    m.events.addEventListener('batch', listener);
    expect(await fitReadbacks(m, { verbose: 1 })).toBe(EPOCHS * (PER_EPOCH + STEP_READS));
    const oneEpoch = [...Array.from({ length: STEP_READS }, (_, i) => 5 * (i + 1)), 125];
    expect(steps).toEqual([...oneEpoch, ...oneEpoch]);
    // With verbose 0 no events are sent, so a listener reads nothing.
    expect(await fitReadbacks(m, { verbose: 0 })).toBe(EPOCHS * PER_EPOCH);
    m.events.removeEventListener('batch', listener);
    steps.length = 0;
    expect(await fitReadbacks(m, { verbose: 1 })).toBe(EPOCHS * PER_EPOCH);
    expect(steps).toEqual([]);
    // An 'epoch' listener needs no reads during the epoch.
    m.events.addEventListener('epoch', listener);
    expect(await fitReadbacks(m, { verbose: 1 })).toBe(EPOCHS * PER_EPOCH);
    const batches: number[] = [];
    const callback = { onBatchEnd: (b: number) => void batches.push(b) };
    expect(await fitReadbacks(m, { verbose: 0, callbacks: [callback] })).toBe(
      EPOCHS * (PER_EPOCH + STEP_READS),
    );
    expect(batches.slice(0, STEP_READS + 1)).toEqual(oneEpoch.map((s) => s - 1));
  });
});

describe('FitEvents knows whether anyone listens', () => {
  it('add, add again, capture, remove, once, AbortSignal', () => {
    const ev = new FitEvents();
    const a = (): void => undefined;
    const b = { handleEvent: (): void => undefined };
    expect(ev.listens('batch')).toBe(false);
    ev.addEventListener('batch', a);
    ev.addEventListener('batch', a); // the same listener once, as EventTarget keeps it
    ev.removeEventListener('batch', a, { capture: true }); // another registration: a stays
    expect(ev.listens('batch')).toBe(true);
    expect(ev.listens('epoch')).toBe(false);
    ev.removeEventListener('batch', a);
    expect(ev.listens('batch')).toBe(false);
    let calls = 0;
    ev.addEventListener('batch', () => calls++, { once: true });
    expect(ev.listens('batch')).toBe(true);
    ev.dispatchEvent(new Event('batch'));
    ev.dispatchEvent(new Event('batch'));
    expect(calls).toBe(1);
    expect(ev.listens('batch')).toBe(false);
    const stop = new AbortController();
    ev.addEventListener('batch', b, { signal: stop.signal });
    expect(ev.listens('batch')).toBe(true);
    stop.abort();
    expect(ev.listens('batch')).toBe(false);
    ev.addEventListener('batch', b, { signal: stop.signal }); // an aborted signal adds nothing
    expect(ev.listens('batch')).toBe(false);
  });

  it('never says no while EventTarget would call a listener (signals of removed or duplicate adds)', () => {
    // Runtimes differ on a signal of a registration already removed (Node's removes a later
    // one of the same listener; the DOM's does not): listens() may then say yes for nothing
    // (one read too many), never no for a listener that is called.
    const ev = new FitEvents();
    let calls = 0;
    const a = (): void => {
      calls++;
    };
    const dispatch = (): boolean => {
      const said = ev.listens('batch');
      const before = calls;
      ev.dispatchEvent(new Event('batch'));
      if (calls > before) expect(said).toBe(true);
      return calls > before;
    };
    const old = new AbortController();
    ev.addEventListener('batch', a, { signal: old.signal });
    ev.removeEventListener('batch', a);
    ev.addEventListener('batch', a);
    old.abort();
    dispatch();
    ev.removeEventListener('batch', a);
    const dup = new AbortController();
    ev.addEventListener('batch', a);
    ev.addEventListener('batch', a, { signal: dup.signal });
    dup.abort();
    dispatch();
    ev.removeEventListener('batch', a);
    ev.addEventListener('batch', a);
    expect(dispatch()).toBe(true);
  });

  it('a once listener added during a dispatch counts until the dispatch that runs it', () => {
    const ev = new FitEvents();
    let later = 0;
    const adder = (): void => {
      ev.removeEventListener('batch', adder);
      ev.addEventListener(
        'batch',
        () => {
          later++;
        },
        { once: true },
      );
    };
    ev.addEventListener('batch', adder);
    ev.dispatchEvent(new Event('batch'));
    expect(later).toBe(0); // EventTarget runs it from the next dispatch on
    expect(ev.listens('batch')).toBe(true);
    ev.dispatchEvent(new Event('batch'));
    expect(later).toBe(1);
    expect(ev.listens('batch')).toBe(false);
  });
});

describe('ProgressBar output', () => {
  it('without a stdout (a browser): the per-epoch line on the console', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const bar = new ProgressBar(2, 5, 10, null);
    expect(bar.live).toBe(false);
    bar.update(3, { loss: 1 });
    bar.finish({ loss: 0.25, accuracy: 0.875 });
    expect(log.mock.calls).toEqual([['Epoch 3/5 - loss: 0.2500 - accuracy: 0.8750']]);
  });

  it('a TTY output: header, redraws and the finished line', () => {
    const writes: string[] = [];
    const out: ProgressOutput = { isTTY: true, write: (s) => writes.push(s) };
    const bar = new ProgressBar(0, 1, 4, out);
    expect(bar.live).toBe(true);
    bar.update(2, { loss: 0.5 });
    bar.finish({ loss: 0.125 });
    expect(writes[0]).toBe('Epoch 1/1\n');
    expect(shown(writes[1])).toMatch(/^\r2\/4 ━{10}─{10} \d+s - loss: 0\.5000<EL>$/);
    expect(shown(writes[2])).toMatch(/^\r4\/4 ━{20} \d+s \d+(ms|us)\/step - loss: 0\.1250<EL>\n$/);
  });
});
