/**
 * The consumer's Vite page: the library's browser entry trains and predicts, and the
 * `webgpu-mlp/trainer` entry registers <mlp-trainer> (created, not attached: attached, it
 * would load MNIST), and `webgpu-mlp/playground` <mlp-playground>. The outcome lands in
 * <body data-result> for the test to read.
 */
import { GPUInitError, initEngine } from 'webgpu-mlp';
import { MlpTrainer } from 'webgpu-mlp/trainer';
import { MlpPlayground } from 'webgpu-mlp/playground';
import { fitLine } from './fit.js';

async function run(): Promise<object> {
  await initEngine();
  const trainer = document.createElement('mlp-trainer');
  const playground = document.createElement('mlp-playground');
  return {
    predictions: await fitLine(),
    trainerDefined: customElements.get('mlp-trainer') === MlpTrainer && trainer instanceof MlpTrainer,
    playgroundDefined:
      customElements.get('mlp-playground') === MlpPlayground && playground instanceof MlpPlayground,
  };
}

run().then(
  (result) => (document.body.dataset.result = JSON.stringify(result)),
  (e: unknown) =>
    (document.body.dataset.result = JSON.stringify({
      error: `${e instanceof GPUInitError ? 'GPUInitError: ' : ''}${String(e)}`,
    })),
);
