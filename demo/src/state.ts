/**
 * What the demo's panels share: the engine, the current model (trained on the Train tab or
 * loaded on the Save / load tab; the Predict tab uses it), and which panel is using the GPU
 * for training (one at a time, so that their samples/s mean something).
 */
import type { Engine, LayersModel } from '../../src/index.js';

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

  constructor(engine: Engine) {
    super();
    this.engine = engine;
  }

  get current(): CurrentModel | undefined {
    return this.currentModel;
  }

  /** Makes `model` the current one; the previous one is disposed unless it is the same model. */
  setModel(model: LayersModel, description: string): void {
    const previous = this.currentModel?.model;
    this.currentModel = { model, description };
    if (previous && previous !== model) void previous.dispose();
    this.dispatchEvent(new Event('model'));
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
