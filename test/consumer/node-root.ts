// Under Node, 'webgpu-mlp' itself resolves to the Dawn entry, types included (the `node`
// export condition): its Node-only exports type-check without the '/node' subpath.
import { adapterFromArgs, initEngine, type Engine } from 'webgpu-mlp';

export const startFromRoot: () => Promise<Engine> = () => initEngine({ adapter: adapterFromArgs([]) });
