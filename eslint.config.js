// Typed ESLint over the whole repository; `npm run lint` allows zero warnings.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layering of src/ (ARCHITECTURE.md), from the bottom: util, gpu, shaders, kernels,
 * graph, tensor and data, nn, keras (Keras's file formats), model, tune, sklearn (scikit-learn
 * style estimators and searches), utils (Keras's utilities: pictures) and torch (the PyTorch-style
 * front-end, on gpu and kernels only), node. Each folder's sources (not its tests) may
 * not import the folders listed for it; nothing but src/node/ imports src/node/ or node:*.
 * scripts/layering.test.ts proves each rule fires on a deliberate bad import.
 */
const SRC = [
  'gpu',
  'kernels',
  'graph',
  'tensor',
  'data',
  'nn',
  'keras',
  'model',
  'tune',
  'sklearn',
  'utils',
  'torch',
  'node',
];
/** The folders of SRC that `folder` may not import: all but itself and those it builds on. */
const above = (folder, ...allowed) => SRC.filter((f) => f !== folder && !allowed.includes(f));
export const LAYERS = {
  'src/util': SRC,
  'src/gpu': above('gpu'),
  'src/kernels': above('kernels', 'gpu'),
  'src/graph': above('graph', 'gpu', 'kernels'),
  'src/tensor': above('tensor', 'gpu', 'kernels'),
  'src/data': above('data', 'gpu', 'kernels', 'graph', 'tensor'),
  'src/nn': above('nn', 'gpu', 'kernels', 'graph'),
  'src/keras': above('keras', 'nn'),
  'src/model': above('model', 'gpu', 'kernels', 'graph', 'tensor', 'data', 'nn', 'keras'),
  'src/tune': above('tune', 'gpu', 'kernels', 'graph', 'tensor', 'data', 'nn', 'keras', 'model'),
  'src/sklearn': above(
    'sklearn',
    'gpu',
    'kernels',
    'graph',
    'tensor',
    'data',
    'nn',
    'keras',
    'model',
    'tune',
  ),
  'src/utils': above('utils', 'gpu', 'kernels', 'graph', 'tensor', 'data', 'nn', 'keras', 'model', 'tune'),
  'src/torch': above('torch', 'gpu', 'kernels'),
};
export const layerRules = Object.entries(LAYERS).map(([folder, forbidden]) => ({
  files: [`${folder}/**/*.ts`],
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: forbidden.map((f) => `**/${f}/**`),
            message: `${folder}/ sits below these folders and may not import them (see ARCHITECTURE.md).`,
          },
          {
            group: ['node:*', ...(folder === 'src/util' || folder === 'src/gpu' ? ['**/shaders/**'] : [])],
            message: `${folder}/ is browser-safe: only src/node/ imports node:* (and only kernels and above use shaders/).`,
          },
        ],
      },
    ],
  },
}));

/** The browser entry never imports src/node/; shaders/ imports only shaders/. */
export const entryRules = [
  {
    files: ['src/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', '**/node/**'], message: 'the browser entry never imports src/node/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['shaders/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../**', 'node:*'], message: 'shaders/ imports only shaders/.' }] },
      ],
    },
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      'bench/out/',
      '.gpu/',
      'eslint.config.js',
      // A consumer's project: scripts/consumer.test.ts copies it out and type-checks it there
      // against the packed package ('webgpu-mlp' does not resolve inside this repository).
      'test/consumer/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
      // Numbers in template literals and `${err}` of unknown are fine in messages.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      // A default method that ignores its arguments names them with a leading underscore.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...layerRules,
  ...entryRules,
);
