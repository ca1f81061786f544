import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../engine/backend.js';
import { addNoise, collectZoo, evaluateModel, evaluateZoo, getTask, loadDataset, misclassifiedIoU, nearestIoU, summarize, TaskError, type CollectedCheckpoint } from '../engine/zoo/index.js';
import { decodeFloat, float32Tensor } from '../engine/zoo/tensors.js';

await initBackend('wasm');

test('IoU of misclassified sets, by hand', () => {
  const set = (...v: number[]) => Int32Array.from(v);
  assert.equal(misclassifiedIoU(set(1, 2, 3), set(2, 3, 4)), 2 / 4);
  assert.equal(misclassifiedIoU(set(1, 2, 3), set(1, 2, 3)), 1);
  assert.equal(misclassifiedIoU(set(1, 5), set(2, 6)), 0);
  assert.equal(misclassifiedIoU(set(), set(7)), 0);
  assert.equal(misclassifiedIoU(set(), set()), 1, 'two models that make no mistake agree: IoU 1 by definition');
  assert.equal(misclassifiedIoU(set(0, 10, 20, 30), set(10, 30)), 0.5);
  assert.deepEqual(nearestIoU(set(1, 2), [set(5), set(1, 2, 3), set(2)]), { iou: 2 / 3, index: 1 });
  assert.equal(nearestIoU(set(1), []), null);
});

test('summarize gives best / avg / min (nulls when empty)', () => {
  assert.deepEqual(summarize([90, 95, 92.5]), { best: 95, avg: 92.5, min: 90 });
  assert.deepEqual(summarize([]), { best: null, avg: null, min: null });
});

test('a model that always answers "3" is right exactly on the 3s of the test split', async () => {
  const task = getTask('digits-mlp');
  const weights = task.init(0).map((t) =>
    t.name === 'fc2.weight'
      ? float32Tensor(t.name, t.shape, new Float32Array(640))
      : t.name === 'fc2.bias'
        ? float32Tensor(
            t.name,
            t.shape,
            Float32Array.from({ length: 10 }, (_, c) => (c === 3 ? 1 : 0)),
          )
        : t,
  );
  const labels = loadDataset('digits').test.labels;
  const threes = labels.filter((l) => l === 3).length;
  const evaluation = await evaluateModel('digits-mlp', weights);
  assert.equal(evaluation.count, 450);
  assert.equal(evaluation.accuracy, (100 * threes) / 450);
  assert.deepEqual(
    Array.from(evaluation.misclassified),
    Array.from(labels.keys()).filter((i) => labels[i] !== 3),
  );
  // Loss of uniform-but-one logits: −log(e / (e + 9)) for the 3s, −log(1 / (e + 9)) for the rest.
  const expectedLoss = (threes * -Math.log(Math.E / (Math.E + 9)) + (450 - threes) * -Math.log(1 / (Math.E + 9))) / 450;
  assert.ok(Math.abs(evaluation.loss - expectedLoss) < 1e-4, `loss ${evaluation.loss} vs ${expectedLoss}`);
  // A Map of arrays works as well as TensorData.
  const asMap = new Map(weights.map((t) => [t.name, decodeFloat(t)]));
  assert.equal((await evaluateModel('digits-mlp', asMap)).accuracy, evaluation.accuracy);
});

test('noise is relative to each tensor and leaves BatchNorm statistics alone', () => {
  const task = getTask('digits-cnn');
  const weights = task.init(4);
  const noised = addNoise(weights, task, 0.1, 9);
  for (const [i, t] of weights.entries()) {
    const changed = t.data.some((b, j) => b !== noised[i]!.data[j]);
    // A tensor of zeros (BatchNorm bias at init) has no scale to be relative to: it stays.
    const learnedWithScale = !/running_|num_batches/.test(t.name) && t.data.some((b) => b !== 0);
    assert.equal(changed, learnedWithScale, t.name);
  }
  const before = decodeFloat(weights[0]!);
  const delta = decodeFloat(noised[0]!).map((v, i) => v - before[i]!);
  const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length - (a.reduce((s, v) => s + v, 0) / a.length) ** 2);
  const ratio = std(delta) / std(before);
  assert.ok(ratio > 0.07 && ratio < 0.13, `noise std / tensor std = ${ratio}`);
});

test('evaluateZoo: the evaluate --json shape; more noise → lower accuracy and lower similarity', async () => {
  const zoo: CollectedCheckpoint[] = [];
  await collectZoo('digits-mlp', { seeds: 2, checkpointsPerSeed: 4, epochs: 20, seed: 3 }, { onCheckpoint: (ck) => void zoo.push(ck) });
  const task = getTask('digits-mlp');
  const originals = zoo.map((ck, i) => ({ id: `ck${i}`, weights: ck.tensors }));
  // Stand-ins for generated models: one original itself, one untrained model.
  const generated = [
    { id: 'copy', weights: zoo[2]!.tensors },
    { id: 'untrained', weights: task.init(99) },
  ];
  const result = await evaluateZoo({ zoo: 'digits', task: 'digits-mlp', originals, generated, noiseLevels: [0.01, 0.1, 0.5, 1.5] });
  assert.deepEqual(Object.keys(result).slice(0, 7), ['zoo', 'task', 'originals', 'generated', 'nearestIoU', 'verdict', 'seconds']);
  assert.ok(result.originals.min! >= 88);
  assert.equal(result.details.generated[0]!.nearestIoU, 1);
  assert.equal(result.details.generated[0]!.nearestOriginal, 'ck2');
  assert.ok(result.details.generated[1]!.accuracy < 30);
  assert.equal(result.generated.best, result.details.generated[0]!.accuracy);
  const levels = result.details.noise;
  assert.deepEqual(
    levels.map((l) => l.level),
    [0.01, 0.1, 0.5, 1.5],
  );
  assert.ok(levels[0]!.accuracy.avg! > levels[3]!.accuracy.avg! + 10, `accuracy by noise: ${levels.map((l) => l.accuracy.avg)}`);
  assert.ok(levels[0]!.accuracy.avg! >= levels[2]!.accuracy.avg! - 1);
  assert.ok(levels[0]!.nearestIoU! > 0.9 && levels[0]!.nearestIoU! > levels[3]!.nearestIoU!);
  assert.ok(result.nearestIoU.noised !== null && result.details.noisedLevel !== null);
  assert.ok(result.details.originalsIoU.mean! > 0.5 && result.details.originalsIoU.max! <= 1);
  assert.ok(typeof result.seconds.originals === 'number' && typeof result.seconds.noise === 'number');
  // The untrained stand-in is flagged below the worst original, so the run misses the bar.
  assert.deepEqual(result.verdict.belowOriginals, ['untrained']);
  assert.equal(result.verdict.meetsBar, false);
});

test('evaluateZoo for binary heads: held-out tasks next to their originals', async () => {
  const checkpoints: CollectedCheckpoint[] = [];
  await collectZoo('digits-binary', { tasks: 2, seeds: 1, checkpointsPerSeed: 2, epochs: 2, seed: 0 }, { onCheckpoint: (ck) => void checkpoints.push(ck) });
  const asModel = (ck: CollectedCheckpoint, i: number) => ({ id: `b${i}`, weights: ck.tensors, condition: ck.condition });
  const zoo = checkpoints.filter((ck) => ck.role === 'zoo').map(asModel);
  const held = checkpoints.filter((ck) => ck.role === 'heldOut').map(asModel);
  const result = await evaluateZoo({
    zoo: 'binary',
    task: 'digits-binary',
    originals: zoo,
    generated: zoo.slice(0, 1),
    heldOut: { originals: held, generated: held.filter((_, i) => i % 2 === 0) },
    noiseLevels: [0.1],
    noisedOriginals: 2,
  });
  assert.equal(result.details.heldOut!.length, 20);
  for (const row of result.details.heldOut!) {
    assert.equal(row.condition.length, 10);
    assert.ok(row.originals.avg! > 70 && row.generated.avg! > 70);
    assert.equal(row.generatedModels, 1, 'every other held-out original is scored as generated: one per task');
  }
  // One line over the 20 tasks: the average of their averages (the generated side here are originals).
  const perTask = result.details.heldOut!.map((row) => row.generated.avg!);
  assert.equal(result.heldOutTasks!.tasks, 20);
  assert.equal(result.heldOutTasks!.generatedModels, 20);
  assert.ok(Math.abs(result.heldOutTasks!.generated.avg! - perTask.reduce((a, b) => a + b, 0) / 20) < 1e-9);
  assert.equal(result.heldOutTasks!.generated.min, Math.min(...perTask));
  assert.equal(result.heldOutTasks!.meetsBar, true);
  assert.equal(result.nearestIoU.generated, 1);
  await assert.rejects(
    evaluateZoo({ zoo: 'binary', task: 'digits-binary', originals: zoo.map((m) => ({ ...m, condition: null })), generated: [] }),
    (e: unknown) => e instanceof TaskError && e.code === 'bad_condition',
  );
});
