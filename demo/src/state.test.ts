/**
 * DemoState's ownership of the current model: a replaced model is disposed at once, or,
 * while a panel uses it (a prediction, a save), only when the last such use ends.
 */
import { describe, expect, it } from 'vitest';
import type { Engine, LayersModel } from '../../src/index.js';
import { DemoState } from './state.js';

/** DemoState only holds the engine for the panels; these tests never touch it. */
const NO_ENGINE = null as unknown as Engine;

/** A stand-in model that counts its dispose() calls. */
function fakeModel(): LayersModel & { disposed: number } {
  const m = {
    disposed: 0,
    dispose() {
      m.disposed++;
      return Promise.resolve();
    },
  };
  return m as unknown as LayersModel & { disposed: number };
}

/** A promise and the function that resolves it. */
function gate(): { done: Promise<void>; open: () => void } {
  let open = () => {};
  const done = new Promise<void>((resolve) => (open = resolve));
  return { done, open };
}

describe('DemoState', () => {
  it('disposes a replaced model at once when nothing uses it, never the same model', () => {
    const state = new DemoState(NO_ENGINE);
    const a = fakeModel();
    const b = fakeModel();
    state.setModel(a, 'a');
    state.setModel(a, 'a again');
    expect(a.disposed).toBe(0);
    state.setModel(b, 'b');
    expect(a.disposed).toBe(1);
    expect(state.current?.model).toBe(b);
  });

  it('disposes a model replaced during use() when the last use ends', async () => {
    const state = new DemoState(NO_ENGINE);
    const a = fakeModel();
    state.setModel(a, 'a');
    const first = gate();
    const second = gate();
    const uses = [state.use(a, () => first.done), state.use(a, () => second.done.then(() => 42))];
    state.setModel(fakeModel(), 'b');
    expect(a.disposed).toBe(0);
    first.open();
    await uses[0];
    expect(a.disposed).toBe(0);
    second.open();
    expect(await uses[1]).toBe(42);
    expect(a.disposed).toBe(1);
  });

  it('use() of a model that is no longer the current one throws, and a failing job still releases it', async () => {
    const state = new DemoState(NO_ENGINE);
    const a = fakeModel();
    state.setModel(a, 'a');
    const failing = gate();
    const use = state.use(a, () => failing.done.then(() => Promise.reject(new Error('predict failed'))));
    state.setModel(fakeModel(), 'b');
    await expect(state.use(a, () => Promise.resolve())).rejects.toThrow(/replaced/);
    failing.open();
    await expect(use).rejects.toThrow('predict failed');
    expect(a.disposed).toBe(1);
  });

  it('never disposes a borrowed model (one the page owns); clearModel() leaves no current model', () => {
    const state = new DemoState(NO_ENGINE);
    const page = fakeModel();
    const owned = fakeModel();
    let events = 0;
    state.addEventListener('model', () => events++);
    state.setModel(page, 'the page', { borrowed: true });
    state.setModel(owned, 'trained here');
    expect(page.disposed).toBe(0);
    state.setModel(page, 'the page again', { borrowed: true });
    expect(owned.disposed).toBe(1);
    state.clearModel();
    expect(state.current).toBeUndefined();
    expect(page.disposed).toBe(0);
    expect(events).toBe(4);
    // Set again without `borrowed`: the state owns it now.
    state.setModel(page, 'handed over');
    state.clearModel();
    expect(page.disposed).toBe(1);
  });
});
