/**
 * The consumer's Vite page: the library's browser entry trains and predicts, and the
 * `webgpu-mlp/trainer` entry registers <mlp-trainer> (created, not attached: attached, it
 * would load MNIST). The outcome lands in <body data-result> for the test to read.
 */
import { GPUInitError, initEngine } from 'webgpu-mlp';
import { MlpTrainer } from 'webgpu-mlp/trainer';
import { fitLine } from './fit.js';

async function run(): Promise<object> {
  await initEngine();
  const trainer = document.createElement('mlp-trainer');
  return {
    predictions: await fitLine(),
    trainerDefined: customElements.get('mlp-trainer') === MlpTrainer && trainer instanceof MlpTrainer,
  };
}

run().then(
  (result) => (document.body.dataset.result = JSON.stringify(result)),
  (e: unknown) =>
    (document.body.dataset.result = JSON.stringify({
      error: `${e instanceof GPUInitError ? 'GPUInitError: ' : ''}${String(e)}`,
    })),
);
