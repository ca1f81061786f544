import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../engine/backend.js';
import { getTask, listTaskIds, taskVector, taskMask, heldOutTaskVectors, seenTaskVectors, isHeldOut, TaskError, digitsTrunk } from '../engine/zoo/index.js';
import { decodeFloat, float32Tensor, numel } from '../engine/zoo/tensors.js';
import { digitsFile } from '../engine/zoo/datasets/digits.js';
import { deriveSeed, shuffledIndices } from '../engine/zoo/random.js';
import type { TensorData } from '../engine/formats/types.js';
import { DIGITS_CNN_TORCH, SYSTEM_PYTHON, skipWithoutTorch } from './helpers/torch.js';

await initBackend('wasm');

const parameterCount = (id: string) =>
  getTask(id)
    .signature()
    .reduce((n, s) => n + numel(s.shape), 0);
const values = (t: TensorData) => (t.dtype === 'I64' ? Array.from(new BigInt64Array(t.data.slice().buffer), Number) : Array.from(decodeFloat(t)));

test('the registry names the built-in tasks and refuses an unknown one with the list', () => {
  for (const id of ['digits-mlp', 'mnist-mlp', 'digits-cnn', 'mnist-cnn', 'fashion-cnn', 'digits-binary']) assert.ok(listTaskIds().includes(id));
  assert.throws(
    () => getTask('cifar-resnet'),
    (e: unknown) => e instanceof TaskError && e.code === 'unknown_task' && /digits-mlp/.test(e.hint ?? ''),
  );
});

test('signatures use PyTorch names, layouts and dtypes', () => {
  assert.deepEqual(getTask('digits-mlp').signature(), [
    { name: 'fc1.weight', dtype: 'F32', shape: [64, 64] },
    { name: 'fc1.bias', dtype: 'F32', shape: [64] },
    { name: 'fc2.weight', dtype: 'F32', shape: [10, 64] },
    { name: 'fc2.bias', dtype: 'F32', shape: [10] },
  ]);
  assert.equal(parameterCount('digits-mlp'), 4810);
  assert.equal(parameterCount('mnist-mlp'), 784 * 32 + 32 + 32 * 10 + 10);
  const cnn = getTask('mnist-cnn').signature();
  assert.deepEqual(
    cnn.map((s) => s.name),
    [
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
      'bn1.num_batches_tracked',
      'conv2.weight',
      'bn2.weight',
      'bn2.bias',
      'bn2.running_mean',
      'bn2.running_var',
      'bn2.num_batches_tracked',
      'fc.weight',
      'fc.bias',
    ],
  );
  assert.deepEqual(cnn[0]!.shape, [8, 1, 3, 3]);
  assert.deepEqual(cnn[5], { name: 'bn1.num_batches_tracked', dtype: 'I64', shape: [] });
  assert.deepEqual(cnn[12]!.shape, [10, 16 * 7 * 7]);
});

test('init follows PyTorch defaults and is seeded', () => {
  const task = getTask('digits-cnn');
  const a = task.init(1);
  const b = task.init(1);
  const c = task.init(2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a[0]!.data, c[0]!.data);
  const conv1 = values(a[0]!);
  const bound = 1 / Math.sqrt(9);
  assert.ok(conv1.every((v) => Math.abs(v) <= bound) && Math.max(...conv1.map(Math.abs)) > 0.8 * bound);
  const byName = new Map(a.map((t) => [t.name, values(t)]));
  assert.ok(byName.get('bn1.weight')!.every((v) => v === 1));
  assert.ok(byName.get('bn1.running_var')!.every((v) => v === 1));
  assert.ok(byName.get('bn1.running_mean')!.every((v) => v === 0));
  assert.deepEqual(byName.get('bn1.num_batches_tracked'), [0]);
});

test('weights of another architecture are refused with the tensor named', async () => {
  const task = getTask('digits-mlp');
  const weights = task.init(0);
  await assert.rejects(task.evaluate(weights.slice(1)), (e: unknown) => e instanceof TaskError && /fc1\.weight/.test(e.message) && /missing/.test(e.message));
  const wrongShape = [float32Tensor('fc1.weight', [64, 63], new Float32Array(64 * 63)), ...weights.slice(1)];
  await assert.rejects(task.evaluate(wrongShape), (e: unknown) => e instanceof TaskError && /\[64,63\]/.test(e.message));
  const extra = [...weights, float32Tensor('fc3.weight', [1], new Float32Array(1))];
  await assert.rejects(task.evaluate(extra), (e: unknown) => e instanceof TaskError && /fc3\.weight/.test(e.message));
});

test('the digits CNN trains on wasm to well above chance', async () => {
  const task = getTask('digits-cnn');
  const run = task.startTraining(task.init(3), { lr: 3e-3, batchSize: 32, seed: 3 });
  for (let epoch = 0; epoch < 3; epoch++) await task.trainEpoch(run);
  const weights = await run.weights();
  run.dispose();
  const evaluation = await task.evaluate(weights);
  assert.ok(evaluation.accuracy > 80, `accuracy ${evaluation.accuracy}`);
  const tracked = weights.find((t) => t.name === 'bn1.num_batches_tracked')!;
  assert.equal(tracked.dtype, 'I64');
  assert.deepEqual(values(tracked), [3 * run.stepsPerEpoch]);
});

// Loads ParamZoo's digits-cnn weights (JSON on stdin) into a plain PyTorch module with the same
// names and reports what PyTorch computes.
const TORCH_REFERENCE = `
${DIGITS_CNN_TORCH}
model.eval()
with torch.no_grad():
    logits = model(images[1347:])
    wrong = (logits.argmax(1) != labels[1347:]).nonzero().flatten().tolist()
    loss = F.cross_entropy(logits, labels[1347:]).item()
model.train()
with torch.no_grad():
    model(images[request['trainBatch']])
print(json.dumps({
    'accuracy': 100 * (450 - len(wrong)) / 450, 'loss': loss, 'misclassified': wrong,
    'names': list(model.state_dict().keys()),
    'bn1_running_mean': model.bn1.running_mean.tolist(), 'bn1_running_var': model.bn1.running_var.tolist(),
    'bn2_running_var': model.bn2.running_var.tolist(), 'bn1_num_batches_tracked': int(model.bn1.num_batches_tracked),
}))
`;

test('PyTorch loads the digits CNN as is: same test accuracy, same mistakes, same BatchNorm running stats', { skip: skipWithoutTorch() }, async () => {
  const task = getTask('digits-cnn');
  const options = { lr: 3e-3, batchSize: 32, seed: 11 };
  const run = task.startTraining(task.init(11), options);
  for (let i = 0; i < 20; i++) await run.step();
  const trained = await run.weights();
  await run.step(); // one more training-mode batch: batch 21 of the first epoch
  const afterStep = new Map((await run.weights()).map((t) => [t.name, values(t)]));
  run.dispose();
  const trainBatch = Array.from(shuffledIndices(1347, deriveSeed(options.seed, 0)).subarray(20 * 32, 21 * 32));
  const ours = await task.evaluate(trained);
  const request = {
    csv: digitsFile(),
    trainBatch,
    weights: Object.fromEntries(trained.map((t) => [t.name, { shape: t.shape, values: values(t) }])),
  };
  const python = spawnSync(SYSTEM_PYTHON, ['-c', TORCH_REFERENCE], { input: JSON.stringify(request), encoding: 'utf8' });
  assert.equal(python.status, 0, python.stderr);
  const torch = JSON.parse(python.stdout);
  assert.deepEqual(
    torch.names,
    trained.map((t) => t.name),
  );
  assert.equal(ours.accuracy, torch.accuracy);
  assert.deepEqual(Array.from(ours.misclassified), torch.misclassified);
  assert.ok(Math.abs(ours.loss - torch.loss) < 1e-4, `loss ${ours.loss} vs ${torch.loss}`);
  const close = (a: number[], b: number[], what: string) =>
    a.forEach((v, i) => {
      assert.ok(Math.abs(v - b[i]!) < 1e-7 + 2e-5 * Math.abs(b[i]!), `${what}[${i}] ${v} vs ${b[i]}`);
    });
  close(afterStep.get('bn1.running_mean')!, torch.bn1_running_mean, 'bn1.running_mean');
  close(afterStep.get('bn1.running_var')!, torch.bn1_running_var, 'bn1.running_var');
  close(afterStep.get('bn2.running_var')!, torch.bn2_running_var, 'bn2.running_var');
  assert.deepEqual(afterStep.get('bn1.num_batches_tracked'), [torch.bn1_num_batches_tracked]);
});

test('binary tasks: 10-bit vectors, 1022 tasks, 20 held out and never among the seen ones', () => {
  assert.deepEqual(taskVector(0b0000000101), [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(taskMask([0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), 2 + 512);
  assert.throws(() => taskMask([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), TaskError);
  assert.throws(() => taskMask([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), TaskError);
  assert.throws(() => taskMask([1, 0, 2, 0, 0, 0, 0, 0, 0, 0]), TaskError);
  assert.throws(() => taskMask([1, 0]), TaskError);
  const heldOut = heldOutTaskVectors();
  const seen = seenTaskVectors();
  assert.equal(heldOut.length, 20);
  assert.equal(seen.length, 1002);
  assert.deepEqual(heldOutTaskVectors(), heldOut, 'the held-out set is fixed');
  const seenMasks = new Set(seen.map(taskMask));
  assert.equal(seenMasks.size, 1002);
  for (const v of heldOut) {
    assert.ok(!seenMasks.has(taskMask(v)));
    assert.ok(isHeldOut(v));
  }
  assert.equal(new Set([...seenMasks, ...heldOut.map(taskMask)]).size, 1022);
});

test('a binary head on the frozen trunk learns its task (binary accuracy)', async () => {
  assert.ok(digitsTrunk().trunkAccuracy > 90, `trunk ${digitsTrunk().trunkAccuracy}`);
  const task = getTask('digits-binary');
  const condition = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]; // even digits positive
  const run = task.startTraining(task.init(0), { lr: 1e-2, batchSize: 32, seed: 0, condition });
  for (let epoch = 0; epoch < 5; epoch++) await run.trainEpoch();
  const weights = await run.weights();
  run.dispose();
  assert.deepEqual(
    weights.map((t) => [t.name, t.shape]),
    [
      ['head.0.weight', [32, 64]],
      ['head.0.bias', [32]],
      ['head.2.weight', [1, 32]],
      ['head.2.bias', [1]],
    ],
  );
  const even = await task.evaluate(weights, { condition });
  assert.ok(even.accuracy > 90, `even-vs-odd accuracy ${even.accuracy}`);
  const flipped = await task.evaluate(weights, { condition: condition.map((b) => 1 - b) });
  assert.ok(Math.abs(flipped.accuracy - (100 - even.accuracy)) < 1e-9, 'the opposite task scores the complement');
  await assert.rejects(task.evaluate(weights), (e: unknown) => e instanceof TaskError && e.code === 'bad_condition');
});

test('training and evaluation leave no tensors behind', async () => {
  const { tf } = await import('../engine/backend.js');
  for (const id of ['digits-cnn', 'digits-binary']) {
    const task = getTask(id);
    const condition = task.conditioned ? { condition: [0, 1, 1, 0, 0, 0, 0, 0, 0, 1] } : {};
    await task.evaluate(task.init(0), condition); // first use loads data and warms kernels
    const before = tf.memory().numTensors;
    const run = task.startTraining(task.init(1), { lr: 1e-2, batchSize: 32, seed: 1, ...condition });
    for (let i = 0; i < 5; i++) await run.step();
    const weights = await run.weights();
    run.dispose();
    await task.evaluate(weights, condition);
    assert.equal(tf.memory().numTensors, before, id);
  }
});

test('a binary head exports with its frozen trunk as one PyTorch state_dict', async () => {
  const { withFrozenTrunk } = await import('../engine/zoo/index.js');
  const head = getTask('digits-binary').init(0);
  const full = withFrozenTrunk(head);
  assert.deepEqual(
    full.map((t) => t.name),
    ['fc1.weight', 'fc1.bias', 'head.0.weight', 'head.0.bias', 'head.2.weight', 'head.2.bias'],
  );
  assert.deepEqual(full[0]!.shape, [64, 64]);
  assert.deepEqual(full.slice(2), head);
});
