/**
 * What the demo's panels share: the engine, the current model (trained on the Train tab or
 * loaded on the Save / load tab; the Predict tab uses it), and which panel is using the GPU
 * for training (one at a time, so that their samples/s mean something).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Engine, LayersModel } from '../../src/index.js';
import { pageEngine } from './webgpu.js';

export interface CurrentModel {
  model: LayersModel;
  /** Where it came from, for the panels' headings: "trained: 784-128-64-10 relu, adam, 3 epochs". */
  description: string;
}

/** Events: 'model' when the current model changes, 'busy' when a panel starts or ends a job. */
export class DemoState extends EventTarget {
  readonly engine: Engine;
  private currentModel: CurrentModel | undefined;
  private job: string | undefined;
  /** Jobs running on each model (use()), and the replaced models that wait for them to end. */
  private readonly users = new Map<LayersModel, number>();
  private readonly retired = new Set<LayersModel>();
  /** Models the page owns (an embedded panel's `model`): never disposed here. */
  private readonly borrowed = new WeakSet<LayersModel>();

  constructor(engine: Engine) {
    super();
    this.engine = engine;
  }

  get current(): CurrentModel | undefined {
    return this.currentModel;
  }

  /**
   * Makes `model` the current one. The previous one is disposed (unless it is the same
   * model, or borrowed: a model the page owns), once no use() of it runs: another panel may
   * be predicting with it or saving it.
   */
  setModel(model: LayersModel, description: string, options: { borrowed?: boolean } = {}): void {
    if (options.borrowed) this.borrowed.add(model);
    else this.borrowed.delete(model);
    this.replace({ model, description });
  }

  /** No current model (the previous one is disposed as by setModel). */
  clearModel(): void {
    this.replace(undefined);
  }

  private replace(next: CurrentModel | undefined): void {
    const previous = this.currentModel?.model;
    this.currentModel = next;
    if (next) this.retired.delete(next.model);
    if (previous && previous !== next?.model && !this.borrowed.has(previous)) {
      if (this.users.has(previous)) this.retired.add(previous);
      else dispose(previous);
    }
    this.dispatchEvent(new Event('model'));
  }

  /**
   * Runs `job` with the current model `model`, which setModel() then disposes only after
   * the job ends. A disposed model would rebuild its GPU copy on the next call and leak it,
   * and one disposed during a call would fail it; so panels call the current model through
   * this. Throws if `model` is no longer the current one.
   */
  async use<T>(model: LayersModel, job: () => Promise<T>): Promise<T> {
    if (model !== this.currentModel?.model) throw new Error('the model was replaced meanwhile');
    this.users.set(model, (this.users.get(model) ?? 0) + 1);
    try {
      return await job();
    } finally {
      const left = (this.users.get(model) ?? 1) - 1;
      if (left > 0) this.users.set(model, left);
      else {
        this.users.delete(model);
        if (this.retired.delete(model)) dispose(model);
      }
    }
  }

  /** The panel training now, if any. */
  get busy(): string | undefined {
    return this.job;
  }

  /**
   * Runs `job` as `who` unless another panel is training (then throws, naming it). The
   * 'busy' event fires at the start and end.
   */
  async exclusive<T>(who: string, job: () => Promise<T>): Promise<T> {
    if (this.job) throw new Error(`${this.job} is training; wait for it or stop it first`);
    this.job = who;
    this.dispatchEvent(new Event('busy'));
    try {
      return await job();
    } finally {
      this.job = undefined;
      this.dispatchEvent(new Event('busy'));
    }
  }
}

function dispose(model: LayersModel): void {
  model.dispose().catch((e: unknown) => console.warn('disposing the replaced model failed', e));
}

/**
 * Re-renders a panel when another panel starts or ends training (its Run button waits for
 * that), following whichever DemoState the panel's `state` holds while it is connected.
 */
export class BusyWatch implements ReactiveController {
  private target: DemoState | undefined;
  private readonly onBusy = (): void => this.host.requestUpdate();

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement & { state: DemoState | undefined },
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.follow(this.host.state);
  }

  /** Before each update: `state` may have changed. */
  hostUpdate(): void {
    if (this.host.isConnected) this.follow(this.host.state);
  }

  hostDisconnected(): void {
    this.follow(undefined);
  }

  private follow(state: DemoState | undefined): void {
    if (this.target === state) return;
    this.target?.removeEventListener('busy', this.onBusy);
    this.target = state;
    this.target?.addEventListener('busy', this.onBusy);
  }
}

/**
 * The state a standalone element (a package entry on a page of its own) makes for itself once
 * connected with no `state` given: a DemoState around the element's `engine` or the page's
 * (started if need be). undefined where a state was set meanwhile (the demo sets it before
 * connecting; one set right after connecting still wins) or the element has left the page.
 * An engine given while the page's was starting wins over it.
 */
export async function standaloneState(el: {
  readonly state: DemoState | undefined;
  readonly engine: Engine | undefined;
  readonly isConnected: boolean;
}): Promise<DemoState | undefined> {
  // A function, not the field: TypeScript would narrow the field across the awaits.
  const hasState = (): boolean => el.state !== undefined;
  await Promise.resolve();
  if (hasState()) return undefined;
  const engine = el.engine ?? (await pageEngine());
  if (hasState() || !el.isConnected) return undefined;
  return new DemoState(el.engine ?? engine);
}
