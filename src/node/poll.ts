/**
 * Waiting on Dawn in Node without spinning a core.
 *
 * Dawn for Node settles a GPU promise (mapAsync, onSubmittedWorkDone) by polling its instance:
 * while any such promise is pending, a native callback calls ProcessEvents and schedules itself
 * again through the global setImmediate, which it looks up each round (Dawn's
 * src/dawn/node/binding/AsyncRunner.cpp). So a wait keeps one CPU core busy for as long as the
 * GPU works. On a software adapter (lavapipe, SwiftShader) that core is the GPU's own: on a
 * 2-core machine the main thread took 80–90% of a core while the driver's two threads got
 * about 45% each, and the seed MLP trained at about 1,900 samples/s at batch 128; with the
 * polls spaced 1 ms apart, 10% against 80% each and about 3,200 samples/s.
 *
 * politeWait(p) lets Dawn poll as it does for the first SPIN_MS of a wait (a short wait,
 * such as predicting one row, keeps its latency), then moves its polls to a 1 ms timer until
 * the wait ends: while any politeWait is pending, the global setImmediate is one that delays
 * Dawn's callback (a native function without a name) and passes every other call through.
 * The original is put back when the last wait ends (unless someone replaced it meanwhile).
 * initEngine uses it for software adapters in Node (src/node/dawn.ts); on a GPU a spinning
 * host does not slow the device, and a poll 1 ms late would delay short waits.
 */

/** Milliseconds of a waiting window in which Dawn polls at its own pace. */
export const SPIN_MS = 2;
/** Milliseconds between Dawn's polls after that. */
export const POLL_MS = 1;

import { setImmediate as nodeSetImmediate } from 'node:timers';

type SetImmediate = typeof globalThis.setImmediate;

let waiting = 0;
let original: SetImmediate | undefined;
let since = 0;

/** Dawn's poll: a native function (N-API) with no name, which JavaScript cannot write. */
function isDawnPoll(fn: unknown): boolean {
  return (
    typeof fn === 'function' &&
    fn.name === '' &&
    /\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn))
  );
}

function spacedSetImmediate(callback: (...args: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate {
  const pass = original ?? nodeSetImmediate;
  if (isDawnPoll(callback) && performance.now() - since > SPIN_MS) {
    // Dawn ignores what setImmediate returns.
    return setTimeout(callback, POLL_MS, ...args) as unknown as NodeJS.Immediate;
  }
  return pass(callback, ...args);
}

/** Awaits `p`, a Dawn promise, with Dawn's polls spaced POLL_MS apart after SPIN_MS (see above). */
export async function politeWait<T>(p: Promise<T>): Promise<T> {
  if (waiting++ === 0) {
    original = globalThis.setImmediate;
    since = performance.now();
    globalThis.setImmediate = spacedSetImmediate as unknown as SetImmediate;
  }
  try {
    return await p;
  } finally {
    if (--waiting === 0) {
      if (globalThis.setImmediate === (spacedSetImmediate as unknown as SetImmediate) && original) {
        globalThis.setImmediate = original;
      }
      original = undefined;
    }
  }
}
