/**
 * Automatic layer names, as Keras makes them (dense, dense_1, ...), and clearSession, which
 * restarts them as keras.backend.clear_session() does. Host-only: no layer here is built.
 */
import { describe, expect, it } from 'vitest';
import { sequential } from '../../model/model.js';
import { clearSession, layers } from './index.js';

describe('layer names', () => {
  it('count up per kind of layer; clearSession restarts them, and layers made before keep theirs', () => {
    clearSession();
    const a = layers.dense({ units: 2 });
    const b = layers.dense({ units: 2 });
    const bn = layers.batchNormalization();
    const c = layers.dense({ units: 2 });
    expect([a.name, b.name, bn.name, c.name]).toEqual(['dense', 'dense_1', 'batch_normalization', 'dense_2']);
    clearSession();
    const d = layers.dense({ units: 3 });
    const e = layers.batchNormalization();
    expect([d.name, e.name]).toEqual(['dense', 'batch_normalization']);
    expect([a.name, b.name, bn.name, c.name]).toEqual(['dense', 'dense_1', 'batch_normalization', 'dense_2']);
    // A name given by the caller is kept and takes no number from the count.
    const named = layers.dense({ units: 3, name: 'logits' });
    expect([named.name, layers.dense({ units: 3 }).name]).toEqual(['logits', 'dense_1']);
  });

  it("a model built after clearSession shows Keras's names in its summary, whatever was built before", () => {
    for (let run = 0; run < 3; run++) {
      clearSession();
      const m = sequential({
        layers: [layers.dense({ units: 4, inputShape: [3] }), layers.dense({ units: 2 })],
      });
      expect(m.layers.map((l) => l.name)).toEqual(['dense', 'dense_1']);
      const lines: string[] = [];
      m.summary({ printFn: (l: string) => lines.push(l) });
      expect(lines.join('\n')).toMatch(/dense \(Dense\)[\s\S]*dense_1 \(Dense\)/);
    }
  });
});
