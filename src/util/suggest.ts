/**
 * "Did you mean ...?" for names the library does not know (activations, losses, options,
 * GPU limits): the closest valid spelling by edit distance. Used from every layer of the
 * library, so it imports nothing.
 */

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and transpositions
 * of adjacent characters each cost 1 ('rleu' → 'relu' is 1).
 */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] as number;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i * cols + j] = v;
    }
  }
  return at(rows - 1, cols - 1);
}

/**
 * The valid name closest to `name` (case-insensitive edit distance), or undefined when none is
 * close: at most max(2, ⌈length/3⌉) edits away. Ties go to the name closer with case counted
 * ('heUnifrom' → 'heUniform' rather than 'HeUniform'), then to the earlier entry of `valid`.
 */
export function suggest(name: string, valid: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const limit = Math.max(2, Math.ceil(lower.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  let bestExact = Infinity;
  for (const v of valid) {
    const dist = editDistance(lower, v.toLowerCase());
    if (dist > bestDistance) continue;
    const exact = editDistance(name, v);
    if (dist < bestDistance || exact < bestExact) {
      best = v;
      bestDistance = dist;
      bestExact = exact;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
