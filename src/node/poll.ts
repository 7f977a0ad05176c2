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
 * polls spaced 1 ms apart, 6–16% against 72–85% each and 2,700–3,600 samples/s.
 *
 * politeWait(p) opens a waiting window, or joins the one open: for its first SPIN_MS Dawn
 * polls at its own pace (a short wait, such as predicting one row, keeps its latency), then
 * from a POLL_MS timer until the last wait of the window ends. Meanwhile the global
 * setImmediate is one that moves only Dawn's rescheduling to the timer: a native function
 * without a name (N-API's) that Node's immediate or timer queue itself is running (no
 * JavaScript frame between them), which a JavaScript caller never is; every other call goes
 * to the setImmediate it replaced, unchanged. That one is put back when the window closes,
 * unless someone replaced it meanwhile (then theirs stays, and passes everything through
 * once no window is open). Dawn settles these promises when the device is lost too, so a
 * window does not outlive its waits.
 * initEngine uses it for software adapters in Node (src/node/dawn.ts); on a GPU a spinning
 * host does not slow the device, and a poll 1 ms late would delay short waits.
 */
import { setImmediate as nodeSetImmediate } from 'node:timers';
import { promisify } from 'node:util';

/** Milliseconds of a waiting window in which Dawn polls at its own pace. */
export const SPIN_MS = 2;
/** Milliseconds between Dawn's polls after that. */
export const POLL_MS = 1;

type SetImmediate = typeof globalThis.setImmediate;

let waiting = 0;
let original: SetImmediate | undefined;
let since = 0;

/** A native function without a name: N-API's, as Dawn's poll (JavaScript cannot write one). */
function isNativeUnnamed(fn: unknown): boolean {
  return (
    typeof fn === 'function' &&
    fn.name === '' &&
    /\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn))
  );
}

/**
 * Whether the call to spacedSetImmediate came straight from Node's immediate or timer queue,
 * that is from a native callback the queue ran (Dawn's poll rescheduling itself), not from
 * JavaScript (whose frame would come first). No stack (Error.stackTraceLimit 0): false.
 */
function calledByNodeTimers(): boolean {
  const frames = new Error().stack?.split('\n') ?? [];
  const own = frames.findIndex((f) => f.includes('spacedSetImmediate'));
  return own >= 0 && /\b(processImmediate|listOnTimeout)\b/.test(frames[own + 1] ?? '');
}

function spacedSetImmediate(callback: (...args: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate {
  if (
    waiting > 0 &&
    performance.now() - since > SPIN_MS &&
    isNativeUnnamed(callback) &&
    calledByNodeTimers()
  ) {
    // Dawn ignores what setImmediate returns.
    return setTimeout(callback, POLL_MS, ...args) as unknown as NodeJS.Immediate;
  }
  return (original ?? nodeSetImmediate)(callback, ...args);
}

/** Awaits `p`, a Dawn promise, with Dawn's polls spaced POLL_MS apart after SPIN_MS (see above). */
export async function politeWait<T>(p: Promise<T>): Promise<T> {
  if (waiting++ === 0) {
    original = globalThis.setImmediate;
    since = performance.now();
    // util.promisify(setImmediate) during the window: the replaced one's promise form.
    const custom = (original as unknown as Record<symbol, unknown>)[promisify.custom];
    Object.defineProperty(spacedSetImmediate, promisify.custom, { value: custom, configurable: true });
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
