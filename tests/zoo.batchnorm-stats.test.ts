// BatchNorm running statistics measured afresh (generated CNNs get them before they are stored):
// the same numbers as PyTorch's update_bn on the same images, and a model whose statistics are
// wrong gets its accuracy back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../engine/backend.js';
import { getTask } from '../engine/zoo/index.js';
import { decodeFloat } from '../engine/zoo/tensors.js';
import { checkSplitIndices } from '../engine/zoo/datasets/index.js';
import { DIGITS_TRAIN_COUNT, digitsFile } from '../engine/zoo/datasets/digits.js';
import { shuffledIndices } from '../engine/zoo/random.js';
import { float32Tensor } from '../engine/zoo/tensors.js';
import type { TensorData } from '../engine/formats/types.js';
import { DIGITS_CNN_TORCH, runTorch, skipWithoutTorch } from './helpers/torch.js';

await initBackend('wasm');

const task = getTask('digits-cnn');
const values = (t: TensorData) => Array.from(decodeFloat(t));

async function trainedDigitsCnn(): Promise<TensorData[]> {
  const run = task.startTraining(task.init(5), { lr: 3e-3, batchSize: 32, seed: 5 });
  for (let epoch = 0; epoch < 3; epoch++) await task.trainEpoch(run);
  const weights = await run.weights();
  run.dispose();
  return weights;
}

const trained = await trainedDigitsCnn();

/** `weights` with every BatchNorm layer's running statistics set to mean 0, variance 1 (a fresh layer's). */
function withResetStatistics(weights: TensorData[]): TensorData[] {
  return weights.map((t) => {
    if (t.name.endsWith('.running_mean')) return float32Tensor(t.name, t.shape, new Float32Array(t.shape[0]!));
    if (t.name.endsWith('.running_var')) return float32Tensor(t.name, t.shape, new Float32Array(t.shape[0]!).fill(1));
    return t;
  });
}

const UPDATE_BN = `
${DIGITS_CNN_TORCH}
order = torch.tensor(request['order'])
loader = [images[order[i:i + request['batchSize']]] for i in range(0, len(order), request['batchSize'])]
torch.optim.swa_utils.update_bn(loader, model)
print(json.dumps({name: t.flatten().tolist() for name, t in model.state_dict().items() if 'running' in name}))
`;

test("re-estimated statistics equal PyTorch's update_bn on the same training images (never the check slice) and batches", { skip: skipWithoutTorch() }, async () => {
  const options = { images: 600, batchSize: 256, seed: 3 };
  const measured = await task.reestimateBatchNorm!(trained, options);
  assert.equal(measured.images, 600);
  const usable = DIGITS_TRAIN_COUNT - checkSplitIndices(DIGITS_TRAIN_COUNT).length;
  const order = Array.from(shuffledIndices(usable, options.seed).subarray(0, options.images));
  const torch = runTorch<Record<string, number[]>>(UPDATE_BN, {
    csv: digitsFile(),
    order,
    batchSize: options.batchSize,
    weights: Object.fromEntries(withResetStatistics(trained).map((t) => [t.name, { shape: t.shape, values: t.dtype === 'I64' ? [0] : values(t) }])),
  });
  const ours = new Map(measured.tensors.map((t) => [t.name, t]));
  for (const name of ['bn1.running_mean', 'bn1.running_var', 'bn2.running_mean', 'bn2.running_var']) {
    const mine = values(ours.get(name)!);
    torch[name]!.forEach((expected, i) => {
      assert.ok(Math.abs(mine[i]! - expected) < 1e-6 + 1e-4 * Math.abs(expected), `${name}[${i}]: ${mine[i]} vs PyTorch ${expected}`);
    });
  }
});

test('a model whose statistics are wrong gets its accuracy back, and nothing else changes', async () => {
  const original = (await task.evaluate(trained)).accuracy;
  const broken = withResetStatistics(trained);
  const brokenAccuracy = (await task.evaluate(broken)).accuracy;
  assert.ok(brokenAccuracy < original - 20, `reset statistics should break the model: ${brokenAccuracy} vs ${original}`);

  const measured = await task.reestimateBatchNorm!(broken);
  const usable = DIGITS_TRAIN_COUNT - checkSplitIndices(DIGITS_TRAIN_COUNT).length;
  assert.equal(measured.images, usable, 'the digits training split less its check slice is smaller than the 2048 images asked');
  const repaired = (await task.evaluate(measured.tensors)).accuracy;
  assert.ok(Math.abs(repaired - original) <= 1, `re-estimated ${repaired} vs trained ${original}`);

  const before = new Map(broken.map((t) => [t.name, t]));
  for (const t of measured.tensors) {
    if (t.name.includes('running_')) continue;
    assert.deepEqual(t, before.get(t.name), `${t.name} must not change`);
  }
  assert.deepEqual(measured, await task.reestimateBatchNorm!(broken), 'same weights, same statistics');
  // The generated statistics do not enter: training-mode passes normalise with each batch's own.
  assert.deepEqual(measured.tensors, (await task.reestimateBatchNorm!(trained)).tensors);
});

test('re-estimating leaves no tensors behind', async () => {
  await task.reestimateBatchNorm!(trained);
  const before = tf.memory().numTensors;
  await task.reestimateBatchNorm!(trained, { images: 300, batchSize: 64, seed: 1 });
  assert.equal(tf.memory().numTensors, before);
});

test('tasks without BatchNorm have nothing to re-estimate', () => {
  assert.equal(getTask('digits-mlp').reestimateBatchNorm, undefined);
  assert.equal(typeof getTask('mnist-cnn').reestimateBatchNorm, 'function');
});
