/**
 * The source tree's import graph (scripts/imports.ts): src/ has no import cycle. The
 * detector itself is checked on graphs whose cycles are known.
 */
import { describe, expect, it } from 'vitest';
import { cycles, importGraph, sourceFiles } from './imports.js';

describe('import graph', () => {
  it('finds the cycles of small graphs: a ⇄ b, a → b → c → a, a self-import; none in a chain', () => {
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b']]);
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a', 'd']],
          ['d', []],
        ]),
      ),
    ).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', ['a']]]))).toEqual([['a']]);
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('src/ has no import cycle (type-only and dynamic imports included)', () => {
    const files = sourceFiles('src');
    const graph = importGraph(files);
    // The graph is read: the model imports its topology, the executor its compiled plans.
    const edge = (from: string, to: string): boolean =>
      [...graph.entries()].some(([f, ts]) => f.endsWith(from) && ts.some((t) => t.endsWith(to)));
    expect(edge('src/model/model.ts', 'src/model/topology.ts')).toBe(true);
    expect(edge('src/graph/executor.ts', 'src/graph/compile.ts')).toBe(true);
    expect(cycles(graph).map((c) => c.join(' ⇄ '))).toEqual([]);
  });
});
