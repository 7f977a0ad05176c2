// The Node entries' types, as a TypeScript consumer on Node sees them.
import { initEngine, type Engine } from 'webgpu-mlp';
import { adapterFromArgs } from 'webgpu-mlp/node';

export const start: () => Promise<Engine> = () => initEngine({ adapter: adapterFromArgs([]) });

// The PyTorch style: a Module subclass with a forward of its own, callable as a function.
import { torch } from 'webgpu-mlp';
class Net extends torch.nn.Module {
  layer = new torch.nn.Linear(2, 1);
  override forward(x: torch.Tensor): torch.Tensor {
    return this.layer(x).sigmoid();
  }
}
export const predict: (x: torch.Tensor) => torch.Tensor = (x) => new Net()(x);
