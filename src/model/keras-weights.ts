/**
 * Keras files' weights into a model's layers, all checked (shape, NaN/±Inf) before the first
 * is written: load.ts (whole models) and LayersModel.loadWeights use it.
 */
import { readKerasWeights } from '../keras/files.js';
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

/** Reads a Keras weights file (.weights.h5, or an .h5 model's weights) into `layers`. */
export async function loadKerasWeightsInto(
  layers: readonly Layer[],
  source: KerasFileSource,
  what: string,
): Promise<void> {
  const { bytes, name } = await readKerasBytes(source, what);
  const w = await readKerasWeights(bytes, name);
  assignKerasWeights(layers, w.weights(layers), name);
}
