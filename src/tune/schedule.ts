/**
 * Hyperband's bracket schedule as Keras Tuner defines it (keras_tuner/tuners/hyperband.py,
 * HyperbandOracle), a pure function of maxEpochs and factor:
 *
 * - brackets: how many times maxEpochs can be divided by factor before dropping below the
 *   minimum of 1 epoch (`while epochs >= 1: epochs /= factor; brackets += 1`);
 * - bracket s (s = brackets − 1 down to 0, most exploratory first) has s + 1 rounds;
 * - round r of bracket s runs ceil(endSize · factor^(s − r)) trials, where
 *   endSize = ceil(1 + log_factor(maxEpochs)) / (s + 1), each trained to
 *   ceil(maxEpochs / factor^(s − r)) epochs in all;
 * - the best trials of round r continue in round r + 1 from their weights, training only the
 *   epochs between the two rounds' totals.
 *
 * One deliberate difference: Keras Tuner computes log_factor(maxEpochs) with Python's
 * floating-point math.log, which for some exact powers lands an ulp or two above the integer.
 * Usually 1 + log rounds back to the integer (math.log(125, 5) = 3.0000000000000004, and
 * 1 + that is 4.0), but for maxEpochs 15625 with factor 5, 16807 with 7 and 46656 with 6 it
 * does not, and its ceil(1 + log) is one more than the exact value (the only such cases for
 * maxEpochs < 200,000 and factors 2..39). We use the exact value: the smallest k with
 * factor^k ≥ maxEpochs. Everything else is the same IEEE arithmetic as Keras Tuner's, so the
 * numbers agree.
 *
 * For maxEpochs 81 and factor 3, the first round of every bracket and every round's epochs
 * are those of the Hyperband paper's table (Li et al. 2018, R = 81, η = 3); later rounds keep
 * ceil(...) trials where the paper keeps floor(n_i / η), so Keras Tuner (and we) continue a
 * few more trials in the brackets s = 3, 2, 1.
 */

export interface HyperbandRound {
  /** Trials in this round. */
  trials: number;
  /** Total epochs each trial has trained at the end of this round. */
  epochs: number;
}

export interface HyperbandBracket {
  /** Keras Tuner's bracket number s: s + 1 rounds; s = 0 is plain random search. */
  bracket: number;
  rounds: HyperbandRound[];
}

function checkSchedule(maxEpochs: number, factor: number): void {
  if (!Number.isSafeInteger(maxEpochs) || maxEpochs < 1)
    throw new RangeError(`hyperband: maxEpochs ${maxEpochs} must be an integer ≥ 1`);
  if (!Number.isSafeInteger(factor) || factor < 2)
    throw new RangeError(`hyperband: factor ${factor} must be an integer ≥ 2`);
}

/** ceil(log_factor(n)) for integers n ≥ 1, factor ≥ 2, computed exactly. */
function ceilLog(n: number, factor: number): number {
  let k = 0;
  for (let p = 1; p < n; p *= factor) k++;
  return k;
}

/** Keras Tuner's _get_num_brackets. */
export function hyperbandBrackets(maxEpochs: number, factor: number): number {
  checkSchedule(maxEpochs, factor);
  let epochs = maxEpochs;
  let brackets = 0;
  while (epochs >= 1) {
    epochs /= factor;
    brackets++;
  }
  return brackets;
}

/** The brackets of one Hyperband iteration, in the order they run (most exploratory first). */
export function hyperbandSchedule(maxEpochs: number, factor = 3): HyperbandBracket[] {
  const brackets = hyperbandBrackets(maxEpochs, factor);
  const bracket0EndSize = 1 + ceilLog(maxEpochs, factor); // ceil(1 + log_factor(maxEpochs))
  const out: HyperbandBracket[] = [];
  for (let s = brackets - 1; s >= 0; s--) {
    const endSize = bracket0EndSize / (s + 1);
    const rounds: HyperbandRound[] = [];
    for (let r = 0; r <= s; r++) {
      rounds.push({
        trials: Math.ceil(endSize * factor ** (s - r)),
        epochs: Math.ceil(maxEpochs / factor ** (s - r)),
      });
    }
    out.push({ bracket: s, rounds });
  }
  return out;
}

/** Trials and epochs one iteration of the schedule runs at most (no failures, no early stops). */
export function scheduleTotals(schedule: readonly HyperbandBracket[]): { trials: number; epochs: number } {
  let trials = 0;
  let epochs = 0;
  for (const b of schedule) {
    let before = 0;
    for (const r of b.rounds) {
      trials += r.trials;
      epochs += r.trials * (r.epochs - before);
      before = r.epochs;
    }
  }
  return { trials, epochs };
}

/** The schedule as text: one line per bracket, "bracket 2: 12 × 2 ep → 4 × 4 ep → 2 × 10 ep". */
export function formatSchedule(schedule: readonly HyperbandBracket[]): string[] {
  return schedule.map(
    (b) => `bracket ${b.bracket}: ${b.rounds.map((r) => `${r.trials} × ${r.epochs} ep`).join(' → ')}`,
  );
}
