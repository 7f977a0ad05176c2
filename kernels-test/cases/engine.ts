/**
 * The GPU layer and eager tensors: round trips of every dtype, limit checks, compile errors
 * with line:col, tensor() validation, disposal, counters, and recovery from a lost device.
 */
import {
  DeviceLostError,
  GPULimitError,
  GPUOperationError,
  initEngine,
  layers,
  ops,
  sequential,
  ShaderCompileError,
  tensor,
  emptyTensor,
  type Callback,
  type Engine,
} from '../../src/index.js';
import { EXACT, expectClose, expectEqual, expectError, uniformF32 } from '../harness.js';
import { seededDense } from '../models.js';
import type { KernelCase } from './types.js';

const BAD_WGSL = [
  '@compute @workgroup_size(1)',
  'fn main() {',
  '  let y: f32 = undefined_value + 1.0;',
  '}',
].join('\n');

export const cases: KernelCase[] = [
  {
    name: 'tensor() round-trips f32, i32, u32 and u8 (odd lengths, packed bytes) exactly',
    async run(engine: Engine) {
      const f = Float32Array.from([1.5, -0, NaN, Infinity, -3.25e-20, 3.4e38, 7]);
      expectClose(await tensor(f, [7], 'f32', { engine }).read(), f, EXACT, 'f32');
      const i = Int32Array.from([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1]);
      expectClose(await tensor(i, [5], 'i32', { engine }).read(), i, EXACT, 'i32');
      const u = Uint32Array.from([0, 1, 2 ** 32 - 1]);
      expectClose(await tensor(u, [3], 'u32', { engine }).read(), u, EXACT, 'u32');
      const b = Uint8Array.from([0, 1, 127, 128, 255]);
      const tb = tensor(b, [5], undefined, { engine });
      expectEqual(tb.dtype, 'u8', 'dtype inferred from Uint8Array');
      const back = await tb.read();
      expectEqual(back.length, 5, 'u8 read length');
      expectClose(back, b, EXACT, 'u8');
      const nested = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        undefined,
        undefined,
        { engine },
      );
      expectEqual(nested.shape.join(','), '2,3', 'shape inferred from nested arrays');
      expectClose(await nested.read(), [1, 2, 3, 4, 5, 6], EXACT, 'nested values');
    },
  },
  {
    name: 'tensor() rejects wrong shapes, ragged arrays, bad dtypes and out-of-range integers',
    async run(engine: Engine) {
      const opts = { engine };
      await expectError(
        () => tensor([1, 2, 3, 4, 5], [2, 3], 'f32', opts),
        RangeError,
        [/\[2, 3\] holds 6 values but 5/],
        'size',
      );
      await expectError(
        () => tensor([1, 2], [2, -1], 'f32', opts),
        RangeError,
        [/invalid dimension -1 at axis 1/],
        'negative dim',
      );
      await expectError(
        () => tensor([1, 2], [1.5], 'f32', opts),
        RangeError,
        [/invalid dimension 1.5/],
        'fractional dim',
      );
      await expectError(
        () => tensor([[1, 2], [3]], undefined, 'f32', opts),
        RangeError,
        [/ragged/, /\[1\]/, /length 2, got length 1/],
        'ragged',
      );
      await expectError(
        () => tensor([1], [1], 'float64' as 'f32', opts),
        TypeError,
        [/unknown dtype 'float64'/],
        'dtype',
      );
      await expectError(
        () => tensor([1.5], [1], 'i32', opts),
        RangeError,
        [/1.5 at index 0/, /i32/],
        'non-integer i32',
      );
      await expectError(
        () => tensor([256], [1], 'u8', opts),
        RangeError,
        [/256/, /u8/, /0..255/],
        'u8 range',
      );
      await expectError(
        () => tensor([[1, 'a' as unknown as number]], undefined, 'f32', opts),
        TypeError,
        [/\[0, 1\]/, /not a number/],
        'string',
      );
    },
  },
  {
    name: 'reading or using a disposed tensor fails with a clear error',
    async run(engine: Engine) {
      const t = tensor([1, 2, 3], [3], 'f32', { engine });
      t.dispose();
      t.dispose(); // twice is harmless
      await expectError(() => t.read(), Error, [/was disposed/, /\[3\] f32/], 'read after dispose');
      await expectError(() => ops.relu(t), Error, [/was disposed/], 'op on disposed');
    },
  },
  {
    name: 'buffers over maxStorageBufferBindingSize / maxBufferSize are refused before allocation',
    async run(engine: Engine) {
      const before = engine.stats();
      const binding = engine.limits.maxStorageBufferBindingSize;
      const e = await expectError(
        () => emptyTensor(engine, [binding / 4 + 1], 'f32', 'too big'),
        GPULimitError,
        [/maxStorageBufferBindingSize/, new RegExp(`${binding} bytes`), /nothing was allocated/],
        'tensor over the binding limit',
      );
      expectEqual(e.limit, 'maxStorageBufferBindingSize', 'limit named');
      await expectError(
        () =>
          engine.createBuffer({
            size: engine.limits.maxBufferSize + 4,
            usage: GPUBufferUsage.COPY_DST,
            label: 'huge',
          }),
        GPULimitError,
        [/maxBufferSize/, /"huge"/],
        'buffer over maxBufferSize',
      );
      const after = engine.stats();
      expectEqual(after.liveBuffers, before.liveBuffers, 'live buffers unchanged');
      expectEqual(after.buffersCreated, before.buffersCreated, 'no buffer created');
    },
  },
  {
    name: 'a buffer the device refuses is caught by its error scope and raised at the next flush, naming it',
    async run(engine: Engine) {
      // MAP_READ may only be combined with COPY_DST: a validation error inside the scope.
      const bad = engine.createBuffer({
        size: 16,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE,
        label: 'bad usage',
      });
      const e = await expectError(
        () => engine.flush(),
        GPUOperationError,
        [/creating buffer "bad usage"/],
        'flush',
      );
      expectEqual(e.kind, 'validation', 'error kind');
      engine.releaseBuffer(bad);
      const t = tensor([1, 2], [2], 'f32', { engine });
      expectClose(await t.read(), [1, 2], EXACT, 'the engine works afterwards');
      t.dispose();
    },
  },
  {
    name: 'a WGSL compile error reports line:col, the message and the source line',
    async run(engine: Engine) {
      const e = await expectError(
        () => engine.pipelineAsync(BAD_WGSL, 'bad shader'),
        ShaderCompileError,
        [/"bad shader"/, /3:16 error/, /undefined_value/, /let y: f32 = undefined_value \+ 1\.0;/],
        'pipelineAsync',
      );
      expectEqual(e.diagnostics[0]?.line, 3, 'diagnostic line');
      // The synchronous path reports the same error at the next flush, and again on reuse.
      const other = BAD_WGSL.replace('1.0', '2.0');
      engine.pipeline(other, 'bad shader (sync)');
      await expectError(
        () => engine.flush(),
        ShaderCompileError,
        [/3:16 error/],
        'flush after sync pipeline',
      );
      await expectError(
        () => engine.pipeline(other, 'again'),
        ShaderCompileError,
        [/3:16/],
        'cached failure',
      );
    },
  },
  {
    name: 'counters: pipelines are cached by WGSL text; disposing frees every buffer',
    async run(engine: Engine) {
      await engine.flush();
      const base = engine.stats();
      const a = tensor(new Float32Array(1000).fill(2), [1000], 'f32', { engine });
      const b = ops.exp(a); // may compile a pipeline
      await b.read();
      const mid = engine.stats();
      const c = ops.exp(a); // same WGSL: must reuse it
      const d = ops.exp(c);
      await d.read();
      const end = engine.stats();
      expectEqual(end.pipelines, mid.pipelines, 'no new pipeline for the same WGSL');
      expectEqual(end.dispatches - mid.dispatches, 2, 'dispatches counted');
      expectEqual(end.bindGroups - mid.bindGroups, 2, 'bind groups counted');
      expectEqual(end.readbacks - mid.readbacks, 1, 'readbacks counted');
      for (const t of [a, b, c, d]) t.dispose();
      await engine.flush();
      const freed = engine.stats();
      expectEqual(freed.liveBuffers, base.liveBuffers, 'live buffers back to the start');
      expectEqual(freed.liveBytes, base.liveBytes, 'live bytes back to the start');
    },
  },
  {
    name: 'a lost device rejects pending and later work; initEngine() gives a working engine',
    async run() {
      const doomed = await initEngine({ log: false });
      const t = tensor([1, 2, 3], [3], 'f32', { engine: doomed });
      const pending = ops.relu(t).read();
      doomed.device.destroy();
      await expectError(
        () => pending,
        DeviceLostError,
        [/device was lost/, /initEngine\(\) again/],
        'pending read',
      );
      const lost = await doomed.lost;
      expectEqual(lost.reason, 'destroyed', 'loss reason');
      await expectError(() => t.read(), DeviceLostError, [/initEngine/], 'read after loss');
      await expectError(
        () => tensor([1], [1], 'f32', { engine: doomed }),
        DeviceLostError,
        [/lost/],
        'tensor() after loss',
      );
      const fresh = await initEngine({ log: false });
      const x = tensor([-1, 2], [2], 'f32', { engine: fresh });
      expectClose(await ops.relu(x).read(), [0, 2], EXACT, 'relu on the new engine');
      fresh.dispose();
    },
  },
  {
    name: 'a model survives a lost device: fit resumes after initEngine() as if uninterrupted',
    async run() {
      const rows = 24;
      const x = { data: uniformF32(rows * 3, -1, 1, 21), shape: [rows, 3] };
      const y = { data: uniformF32(rows * 2, -1, 1, 22), shape: [rows, 2] };
      const fit = { batchSize: 4, seed: 3, verbose: 0 as const };
      const make = () => {
        const m = sequential({
          layers: [
            seededDense(5, 'relu', 1, { inputShape: [3] }),
            layers.dropout({ rate: 0.25, seed: 2 }),
            seededDense(2, 'linear', 2),
          ],
        });
        m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
        return m;
      };
      const flat = async (m: ReturnType<typeof make>) =>
        Float32Array.from((await m.getWeights()).flatMap((w) => [...w.data]));
      let engine = await initEngine({ log: false });
      const reference = make();
      await reference.fit(x, y, { ...fit, epochs: 1 });
      const afterOne = await flat(reference);
      await reference.fit(x, y, { ...fit, epochs: 3, initialEpoch: 1 });
      const afterThree = await flat(reference);
      await reference.dispose();
      // Lost mid-epoch (epoch 1, after batch 2) and, on the resumed run, at an epoch end.
      const m = make();
      let epoch = 0;
      const lose: Callback = {
        onEpochBegin: (e) => {
          epoch = e;
        },
        onBatchEnd: (b) => {
          if (epoch === 1 && b === 2) engine.device.destroy();
        },
      };
      const first = await expectError(
        () => m.fit(x, y, { ...fit, epochs: 3, stepsPerSubmit: 1, callbacks: lose }),
        DeviceLostError,
        [/as of the end of epoch 1/, /initialEpoch: 1/],
        'fit on a device lost mid-epoch',
      );
      expectEqual(first.resumeEpoch, 1, 'epoch to resume from');
      expectClose(await flat(m), afterOne, EXACT, 'host weights after the loss: those of epoch 1');
      await m.dispose(); // never throws on a lost device
      engine = await initEngine({ log: false });
      // Between epochs 1 and 2: after epoch 1's checkpoint (taken after its onEpochEnd).
      const atEnd: Callback = { onEpochBegin: (e) => (e === 2 ? engine.device.destroy() : undefined) };
      const second = await expectError(
        () => m.fit(x, y, { ...fit, epochs: 3, initialEpoch: 1, callbacks: atEnd }),
        DeviceLostError,
        [/initialEpoch: 2/],
        'fit on a device lost at an epoch end',
      );
      expectEqual(second.resumeEpoch, 2, 'epoch to resume from');
      engine = await initEngine({ log: false });
      await m.fit(x, y, { ...fit, epochs: 3, initialEpoch: 2 });
      expectClose(await flat(m), afterThree, EXACT, 'resumed weights against the uninterrupted run');
      await m.dispose();
      engine.dispose();
    },
  },
];
