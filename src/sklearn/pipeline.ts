/**
 * scikit-learn's Pipeline: transformers (fit/transform) then a final estimator, fitted as
 * one. fit runs fitTransform through each intermediate step in turn and fits the last one on
 * the result; predict, predictProba, score and transform pass X through the fitted steps.
 * clone() gives an unfitted copy of every step, which is what each cross-validation fold
 * must fit so the test fold never reaches a scaler's statistics.
 */
import { suggest } from '../util/suggest.js';
import type { Estimator, Matrix, Target, Transformer } from './types.js';

/** A step: an estimator, or 'passthrough' (scikit-learn's identity step). */
export type Step = Estimator | 'passthrough';

function isTransformer(s: Step): s is Transformer {
  return s !== 'passthrough' && typeof (s as Partial<Transformer>).transform === 'function';
}

function checkSteps(steps: readonly (readonly [string, Step])[]): void {
  if (!(steps instanceof Array) || steps.length === 0)
    throw new TypeError('Pipeline: steps must be a non-empty array of [name, estimator] pairs');
  const seen = new Set<string>();
  steps.forEach(([name, step], i) => {
    if (typeof name !== 'string' || name === '') throw new TypeError(`Pipeline: step ${i} needs a name`);
    if (name.includes('__')) throw new RangeError(`Pipeline: step name '${name}' must not contain '__'`);
    if (name === 'steps') throw new RangeError(`Pipeline: 'steps' is reserved and cannot name a step`);
    if (seen.has(name)) throw new RangeError(`Pipeline: names provided are not unique: '${name}' twice`);
    seen.add(name);
    const last = i === steps.length - 1;
    if (step === 'passthrough') return;
    if (typeof step !== 'object' || typeof step.fit !== 'function')
      throw new TypeError(`Pipeline: step '${name}' must have fit (or be 'passthrough')`);
    if (!last && !isTransformer(step))
      throw new TypeError(
        `Pipeline: all intermediate steps should be transformers with fit and transform; '${name}' is not`,
      );
  });
}

export class Pipeline implements Transformer {
  private stepList: [string, Step][];

  constructor(steps: readonly (readonly [string, Step])[]) {
    checkSteps(steps);
    this.stepList = steps.map(([n, s]) => [n, s]);
  }

  /** The [name, step] pairs (a copy of the list; the steps themselves are shared). */
  get steps(): [string, Step][] {
    return this.stepList.map(([n, s]) => [n, s]);
  }

  /** The last step's estimatorType ('classifier' / 'regressor'), as scikit-learn's Pipeline reports it. */
  get estimatorType(): unknown {
    return (this.last[1] as { estimatorType?: unknown }).estimatorType;
  }

  /** Frees what the steps hold (a Keras wrapper's fitted model on the GPU). */
  async dispose(): Promise<void> {
    for (const [, step] of this.stepList) {
      const d = (step as { dispose?: () => unknown }).dispose;
      if (typeof d === 'function') await d.call(step);
    }
  }

  /** Steps by name (scikit-learn's named_steps). */
  get namedSteps(): Record<string, Step> {
    return Object.fromEntries(this.stepList);
  }

  private get last(): [string, Step] {
    return this.stepList[this.stepList.length - 1] as [string, Step];
  }

  /** X through the fitted intermediate steps. */
  private through(x: Matrix): Matrix {
    let xt = x;
    for (const [, step] of this.stepList.slice(0, -1)) if (isTransformer(step)) xt = step.transform(xt);
    return xt;
  }

  async fit(x: Matrix, y?: Target): Promise<this> {
    let xt = x;
    for (const [, step] of this.stepList.slice(0, -1)) {
      if (isTransformer(step)) xt = step.fitTransform(xt, y);
    }
    const [, last] = this.last;
    if (last !== 'passthrough') await last.fit(xt, y);
    return this;
  }

  /** Every step fitted and applied in turn; the last step must be a transformer too. */
  fitTransform(x: Matrix, y?: Target): number[][] {
    let xt = x;
    for (const [name, step] of this.stepList) {
      if (step === 'passthrough') continue;
      if (!isTransformer(step))
        throw new TypeError(`Pipeline.fitTransform: the last step '${name}' has no transform`);
      xt = step.fitTransform(xt, y);
    }
    return xt.map((row) => [...row]);
  }

  transform(x: Matrix): number[][] {
    const [name, last] = this.last;
    if (last !== 'passthrough' && !isTransformer(last))
      throw new TypeError(`Pipeline.transform: the last step '${name}' has no transform`);
    const xt = this.through(x);
    return (last === 'passthrough' ? xt : last.transform(xt)).map((row) => [...row]);
  }

  /** The transformers' inverses in reverse order (each step must have inverseTransform). */
  inverseTransform(x: Matrix): number[][] {
    let xt = x;
    for (const [name, step] of this.stepList.slice().reverse()) {
      if (step === 'passthrough') continue;
      if (!isTransformer(step) || step.inverseTransform === undefined)
        throw new TypeError(`Pipeline.inverseTransform: step '${name}' has no inverseTransform`);
      xt = step.inverseTransform(xt);
    }
    return xt.map((row) => [...row]);
  }

  private final<K extends 'predict' | 'predictProba' | 'score'>(
    method: K,
  ): Estimator & Required<Pick<Estimator, K>> {
    const [name, last] = this.last;
    if (last === 'passthrough' || typeof last[method] !== 'function')
      throw new TypeError(`Pipeline.${method}: the last step '${name}' has no ${method}`);
    return last as Estimator & Required<Pick<Estimator, K>>;
  }

  async predict(x: Matrix): Promise<(number | string)[]> {
    const last = this.final('predict');
    return last.predict(this.through(x));
  }

  async predictProba(x: Matrix): Promise<number[][]> {
    const last = this.final('predictProba');
    return last.predictProba(this.through(x));
  }

  async score(x: Matrix, y: Target): Promise<number> {
    const last = this.final('score');
    return last.score(this.through(x), y);
  }

  /**
   * { steps, <name>: step, ... } and, when deep (default), every step's parameters as
   * `<name>__<param>`, as scikit-learn's get_params.
   */
  getParams(deep = true): Record<string, unknown> {
    const out: Record<string, unknown> = { steps: this.steps };
    for (const [name, step] of this.stepList) {
      out[name] = step;
      if (deep && step !== 'passthrough') {
        for (const [k, v] of Object.entries(step.getParams(true))) out[`${name}__${k}`] = v;
      }
    }
    return out;
  }

  /**
   * `steps` replaces the list, `<name>` replaces a step, `<name>__<param>` goes to that
   * step's setParams (after the replacements). Unknown names are refused with the closest.
   */
  setParams(params: Record<string, unknown>): this {
    const names = this.stepList.map(([n]) => n);
    const nested = new Map<string, Record<string, unknown>>();
    let steps = this.stepList.map(([n, s]): [string, Step] => [n, s]);
    for (const [key, value] of Object.entries(params)) {
      const cut = key.indexOf('__');
      const head = cut < 0 ? key : key.slice(0, cut);
      if (key === 'steps') {
        checkSteps(value as [string, Step][]);
        steps = (value as [string, Step][]).map(([n, s]) => [n, s]);
      } else if (names.includes(head)) {
        if (cut < 0) steps = steps.map(([n, s]) => [n, n === head ? (value as Step) : s]);
        else nested.set(head, { ...nested.get(head), [key.slice(cut + 2)]: value });
      } else {
        const valid = ['steps', ...names, ...Object.keys(this.getParams(true))];
        const guess = suggest(key, valid);
        throw new TypeError(
          `Pipeline.setParams: invalid parameter '${key}'${guess === undefined ? '' : `; did you mean '${guess}'?`} ` +
            `Step names: ${names.join(', ')}`,
        );
      }
    }
    checkSteps(steps);
    for (const [name, p] of nested) {
      const step = steps.find(([n]) => n === name)?.[1];
      if (step === undefined || step === 'passthrough')
        throw new TypeError(`Pipeline.setParams: step '${name}' is 'passthrough' and has no parameters`);
      step.setParams(p);
    }
    this.stepList = steps;
    return this;
  }

  /** An unfitted copy: every step cloned (scikit-learn's clone(pipeline)). */
  clone(): Pipeline {
    return new Pipeline(this.stepList.map(([n, s]) => [n, s === 'passthrough' ? s : s.clone()]));
  }
}

/**
 * A Pipeline whose step names are the lowercased class names, numbered '-1', '-2', ... where
 * a name repeats (scikit-learn's make_pipeline).
 */
export function makePipeline(...steps: Step[]): Pipeline {
  const names = steps.map((s) => (s === 'passthrough' ? 'passthrough' : s.constructor.name.toLowerCase()));
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  const used = new Map<string, number>();
  const named = steps.map((s, i): [string, Step] => {
    const n = names[i] as string;
    if ((counts.get(n) as number) === 1) return [n, s];
    const k = (used.get(n) ?? 0) + 1;
    used.set(n, k);
    return [`${n}-${k}`, s];
  });
  return new Pipeline(named);
}
