/**
 * The consumer's Vite page: the library's browser entry trains and predicts, and the
 * `webgpu-mlp/trainer` entry registers <mlp-trainer> (created, not attached: attached, it
 * would load MNIST), and the playground, lab, vanishing, tune and predict entries theirs. The outcome
 * lands in <body data-result> for the test to read.
 */
import { GPUInitError, initEngine } from 'webgpu-mlp';
import { MlpTrainer } from 'webgpu-mlp/trainer';
import { MlpPlayground } from 'webgpu-mlp/playground';
import { MlpLab } from 'webgpu-mlp/lab';
import { MlpVanishing } from 'webgpu-mlp/vanishing';
import { MlpTune } from 'webgpu-mlp/tune';
import { MlpPredict } from 'webgpu-mlp/predict';
import { fitLine } from './fit.js';

async function run(): Promise<object> {
  await initEngine();
  const trainer = document.createElement('mlp-trainer');
  // The elements' events are typed for a consumer (a strict tsc checks this file).
  const predict = document.createElement('mlp-predict');
  predict.addEventListener('mlp-prediction', (e) =>
    console.log(e.detail.digit, e.detail.probabilities.length),
  );
  predict.addEventListener('mlp-evaluated', (e) => console.log(e.detail.accuracy.toFixed(4)));
  return {
    predictions: await fitLine(),
    trainerDefined: customElements.get('mlp-trainer') === MlpTrainer && trainer instanceof MlpTrainer,
    elementsDefined: (
      [
        ['mlp-playground', MlpPlayground],
        ['mlp-lab', MlpLab],
        ['mlp-vanishing', MlpVanishing],
        ['mlp-tune', MlpTune],
        ['mlp-predict', MlpPredict],
      ] as const
    )
      .filter(([tag, cls]) => customElements.get(tag) === cls && document.createElement(tag) instanceof cls)
      .map(([tag]) => tag),
  };
}

run().then(
  (result) => (document.body.dataset.result = JSON.stringify(result)),
  (e: unknown) =>
    (document.body.dataset.result = JSON.stringify({
      error: `${e instanceof GPUInitError ? 'GPUInitError: ' : ''}${String(e)}`,
    })),
);
