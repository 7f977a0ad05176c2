/**
 * The optimizer's state between this library's names and Keras's files.
 *
 * Here (Executor.optimizerWeights): 'iterations', Nadam's 'u_product', then per slot, per
 * trainable weight, '<weight>/<slot>' (slots: SGD velocity; Adam m, v, v_hat; RMSprop velocity,
 * momentum, average_grad; Nadam m, v).
 *
 * Keras 3 (base_optimizer.py, and each optimizer's build): iteration (int), learning_rate,
 * then the slots; slots created together by one add_optimizer_variables call are interleaved
 * per weight (Adam and Nadam: m₀ v₀ m₁ v₁ …), separate calls follow each other (Adam's
 * velocity_hat, RMSprop's momentum and average_gradient); Nadam's u_product comes last.
 * SGD's momentum slot is our velocity (the same update: m ← μ·m − lr·g).
 */
import type { H5Array } from './h5.js';

export interface NamedState {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Keras 3's blocks of slots (our names) for an optimizer class, and whether u_product ends it. */
function layout(className: string): { blocks: string[][]; uProduct: boolean } {
  switch (className.toLowerCase()) {
    case 'sgd':
      return { blocks: [['velocity']], uProduct: false };
    case 'adam':
    case 'adamw':
      return { blocks: [['m', 'v'], ['v_hat']], uProduct: false };
    case 'nadam':
      return { blocks: [['m', 'v']], uProduct: true };
    case 'rmsprop':
      return { blocks: [['velocity'], ['momentum'], ['average_grad']], uProduct: false };
    default:
      throw new Error(`the optimizer state of ${className} has no Keras layout here`);
  }
}

/** Keras 3's optimizer variables (iteration as int64, as the TensorFlow backend writes it). */
export function toKeras3Vars(
  className: string,
  state: readonly NamedState[],
  trainable: readonly string[],
  learningRate: number,
): { data: H5Array; shape: number[] }[] {
  const byName = new Map(state.map((s) => [s.name, s]));
  const iterations = byName.get('iterations')?.data[0] ?? 0;
  const out: { data: H5Array; shape: number[] }[] = [
    { data: BigInt64Array.of(BigInt(Math.round(iterations))), shape: [] },
    { data: Float32Array.of(learningRate), shape: [] },
  ];
  const { blocks, uProduct } = layout(className);
  for (const block of blocks) {
    const present = block.filter((slot) => trainable.some((w) => byName.has(`${w}/${slot}`)));
    for (const w of trainable) {
      for (const slot of present) {
        const s = byName.get(`${w}/${slot}`);
        if (!s) throw new Error(`internal: optimizer state "${w}/${slot}" is missing`);
        out.push({ data: s.data, shape: s.shape });
      }
    }
  }
  if (uProduct) out.push({ data: Float32Array.of(byName.get('u_product')?.data[0] ?? 1), shape: [] });
  return out;
}

/**
 * Keras 3's optimizer variables back as our named state, for an optimizer with these slots
 * (`slots`: our slot names the compiled optimizer has, e.g. ['m', 'v']). Returns the state
 * and the saved learning rate; a count or shape that does not fit is an Error saying so.
 */
export function fromKeras3Vars(
  className: string,
  vars: readonly { data: H5Array; shape: number[] }[],
  trainable: readonly { name: string; shape: readonly number[] }[],
  slots: readonly string[],
): { state: NamedState[] | undefined; learningRate: number } {
  const { blocks, uProduct } = layout(className);
  const present = blocks.map((b) => b.filter((s) => slots.includes(s)));
  // Compiled in Keras but never trained: the optimizer was not built, so only iteration and
  // learning_rate were saved (Keras skips the rest on load, as this does).
  if (vars.length === 2 && slots.length > 0 && trainable.length > 0) {
    return { state: undefined, learningRate: Number(vars[1]?.data[0] ?? 0) };
  }
  const expected = 2 + present.reduce((n, b) => n + b.length * trainable.length, 0) + (uProduct ? 1 : 0);
  if (vars.length !== expected) {
    throw new Error(
      `${className} with ${trainable.length} trainable weights and slots [${slots.join(', ')}] has ${expected} variables; the file has ${vars.length}`,
    );
  }
  const scalar = (i: number): number => Number((vars[i] as { data: H5Array }).data[0] ?? 0);
  const state: NamedState[] = [{ name: 'iterations', shape: [], data: Float32Array.of(scalar(0)) }];
  const bySlot = new Map<string, NamedState>();
  let at = 2;
  for (const block of present) {
    for (const w of trainable) {
      for (const slot of block) {
        const v = vars[at++] as { data: H5Array; shape: number[] };
        if (v.shape.length !== w.shape.length || v.shape.some((d, k) => d !== w.shape[k])) {
          throw new Error(
            `variable ${at - 1} (${w.name}/${slot}) has shape [${v.shape.join(', ')}]; the weight has [${w.shape.join(', ')}]`,
          );
        }
        bySlot.set(`${w.name}/${slot}`, {
          name: `${w.name}/${slot}`,
          shape: [...v.shape],
          data: Float32Array.from(v.data as ArrayLike<number>),
        });
      }
    }
  }
  if (uProduct) state.push({ name: 'u_product', shape: [], data: Float32Array.of(scalar(at)) });
  // Our order: per slot, per weight.
  for (const slot of slots)
    for (const w of trainable) state.push(bySlot.get(`${w.name}/${slot}`) as NamedState);
  return { state, learningRate: scalar(1) };
}

/** The slot names our optimizer of this class and config keeps (shaders/optim.ts stateSlotNames). */
export function slotsOf(className: string, config: Readonly<Record<string, unknown>>): string[] {
  switch (className.toLowerCase()) {
    case 'sgd':
      return Number(config.momentum ?? 0) > 0 ? ['velocity'] : [];
    case 'adam':
    case 'adamw':
      return config.amsgrad === true ? ['m', 'v', 'v_hat'] : ['m', 'v'];
    case 'nadam':
      return ['m', 'v'];
    case 'rmsprop':
      return [
        'velocity',
        ...(Number(config.momentum ?? 0) > 0 ? ['momentum'] : []),
        ...(config.centered === true ? ['average_grad'] : []),
      ];
    default:
      throw new Error(`the optimizer state of ${className} has no Keras layout here`);
  }
}
