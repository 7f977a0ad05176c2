/**
 * Keras files' weights into a model's layers, all checked (shape, NaN/±Inf) before the first
 * is written: load.ts (whole models) and LayersModel.loadWeights use it.
 */
import { readKerasWeights, slotsOf } from '../keras/files.js';
import type { NamedState } from '../keras/optimizer-vars.js';
import { ModelFormatError, type Layer } from '../nn/layers/index.js';
import { assertFiniteWeight } from './finite.js';
import { readKerasBytes, type KerasFileSource } from './keras-io.js';

/**
 * Checks every value a Keras file gives the layers (shape, NaN/±Inf) before writing any, so
 * a file that does not fit leaves the model as it was.
 */
export function assignKerasWeights(
  layers: readonly Layer[],
  values: Map<Layer, { shape: number[]; data: Float32Array }[]>,
  file: string,
): void {
  const writes: [Float32Array, Float32Array][] = [];
  for (const l of layers) {
    const vs = values.get(l);
    if (l.weights.length === 0) continue;
    if (!vs) throw new ModelFormatError(`${file}: no weights for layer "${l.name}"`);
    l.weights.forEach((w, k) => {
      const v = vs[k] as { shape: number[]; data: Float32Array };
      if (v.shape.length !== w.shape.length || v.shape.some((d, i) => d !== w.shape[i])) {
        throw new ModelFormatError(
          `${file}: weight "${w.name}": the file has shape [${v.shape.join(', ')}], the model needs [${w.shape.join(', ')}]`,
        );
      }
      assertFiniteWeight(`loading ${file}`, w.name, v.data);
      writes.push([w.values, v.data]);
    });
  }
  for (const l of layers) for (const w of l.weights) w.version++;
  for (const [to, from] of writes) to.set(from);
}

/**
 * Reads a Keras weights file (.weights.h5, or an .h5 model's weights) into `layers` (in
 * Keras's order). With `optimizer` (a compiled model's), also gives the optimizer state the
 * file carries, as Keras's load_weights restores it: every check (shapes, counts, NaN/±Inf)
 * comes before the first weight is written.
 */
export async function loadKerasWeightsInto(
  layers: readonly Layer[],
  source: KerasFileSource,
  what: string,
  optimizer?: { className: string; config: Readonly<Record<string, unknown>> },
): Promise<NamedState[] | undefined> {
  const { bytes, name } = await readKerasBytes(source, what);
  const w = await readKerasWeights(bytes, name);
  const values = w.weights(layers);
  let state: NamedState[] | undefined;
  if (optimizer && w.optimizer) {
    const trainable = layers.flatMap((l) => (l.trainable ? l.weights.filter((x) => x.trainable) : []));
    state = w.optimizer(optimizer.className, trainable, slotsOf(optimizer.className, optimizer.config)).state;
    state?.forEach((s) => assertFiniteWeight(`${what} ${name}: optimizer state`, s.name, s.data));
  }
  assignKerasWeights(layers, values, name);
  return state;
}
