// Models made elsewhere are judged exactly like ParamZoo's own: a zoo created with a built-in task,
// filled by import (with the permutation state of each checkpoint), evaluated against another zoo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { EvaluateJobResult, ExportResult, ImportResult, ZooDetail } from '../engine/protocol.js';
import { runCli, runCliJson } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

test('evaluate --zoo Z --originals O scores imported checkpoints on the task, as a run is scored', async () => {
  const dataDir = tempDir();
  const data = ['--data', dataDir];
  await runCliJson(['collect', 'digits-mlp', '--zoo', 'collected', '--seeds', '2', '--checkpoints', '2', '--epochs', '3', ...data]);
  const collected = await runCliJson<ZooDetail>(['zoo', 'show', 'collected', ...data]);
  assert.equal(collected.checkpoints.length, 4);

  // The same four models, written out as PyTorch files and brought back in as a zoo of "other" models.
  const files: string[] = [];
  for (const [i, checkpoint] of collected.checkpoints.entries()) {
    const out = join(dataDir, `model${i}.pth`);
    const exported = await runCliJson<ExportResult>(['export', checkpoint.id, '--out', out, '--format', 'pth', ...data]);
    files.push(exported.path);
  }
  await runCliJson(['zoo', 'create', 'elsewhere', '--task', 'digits-mlp', ...data]);
  const imported = await runCliJson<ImportResult>(['import', 'elsewhere', ...files, '--permutation-states', '0,0,1,1', ...data]);
  assert.equal(imported.imported.length, 4);
  const elsewhere = await runCliJson<ZooDetail>(['zoo', 'show', 'elsewhere', ...data]);
  assert.equal(elsewhere.task, 'digits-mlp');
  assert.deepEqual(
    elsewhere.checkpoints.map((c) => c.permutationState),
    [0, 0, 1, 1],
  );

  const result = await runCliJson<EvaluateJobResult>(['evaluate', '--zoo', 'elsewhere', '--originals', 'collected', ...data]);
  const [zoo] = result.zoos;
  assert.equal(result.evaluation, null, 'a zoo-against-zoo evaluation belongs to no run and is not stored');
  assert.equal(zoo!.task, 'digits-mlp');
  // Identical weights: identical accuracies, and each model's nearest original is itself (IoU 1).
  assert.deepEqual(zoo!.generated, zoo!.originals);
  assert.ok(zoo!.originals.avg! > 50, `originals avg ${zoo!.originals.avg}`);
  assert.equal(zoo!.nearestIoU.generated, 1);
});

test('bad zoo evaluations and imports are refused with what to do', async () => {
  const dataDir = tempDir();
  const data = ['--data', dataDir];
  const unknownTask = await runCli(['zoo', 'create', 'z', '--task', 'cifar-resnet', ...data]);
  assert.equal(unknownTask.code, 1);
  assert.match(unknownTask.stderr, /no built-in task 'cifar-resnet'/);
  assert.match(unknownTask.stderr, /digits-mlp/);

  await runCliJson(['zoo', 'create', 'plain', ...data]);
  await runCliJson(['zoo', 'create', 'other', ...data]);
  const noTask = await runCli(['evaluate', '--zoo', 'plain', '--originals', 'other', ...data]);
  assert.equal(noTask.code, 1);
  assert.match(noTask.stderr, /names a built-in task/);
  const halfAsked = await runCli(['evaluate', '--zoo', 'plain', ...data]);
  assert.equal(halfAsked.code, 1);
  assert.match(halfAsked.stderr, /--zoo and --originals together/);

  const fixture = join('tests', 'fixtures', 'checkpoints', 'tiny_cnn.pth');
  const wrongCount = await runCli(['import', 'plain', fixture, '--permutation-states', '0,1', ...data]);
  assert.equal(wrongCount.code, 1);
  assert.match(wrongCount.stderr, /2 values for 1 checkpoints/);
  const shown = await runCliJson<ZooDetail>(['zoo', 'show', 'plain', ...data]);
  assert.equal(shown.checkpoints.length, 0, 'nothing imported');
});
