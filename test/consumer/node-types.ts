// The Node entries' types, as a TypeScript consumer on Node sees them.
import { initEngine, type Engine } from 'webgpu-mlp';
import { adapterFromArgs } from 'webgpu-mlp/node';

export const start: () => Promise<Engine> = () => initEngine({ adapter: adapterFromArgs([]) });
