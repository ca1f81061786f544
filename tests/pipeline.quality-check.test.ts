// Quality checks while training (the fidelity issue, item 3), as a user meets them through the
// CLI: a run records, every checkEvery steps and at its end, how a few generated models score
// against the originals on the task's check split (never the test split); a zoo without a task
// gets weight-space checks instead; the checks never change training; a finished run continues
// for more steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RunCheck } from '../engine/protocol.js';
import { describeCheck } from '../engine/report/checks.js';
import { runCli, runCliJson } from './helpers/cli.js';
import { smallGeneratorOptions } from './helpers/small-generator.js';
import { tempDir } from './helpers/tmp.js';

const data = tempDir('paramzoo-quality-check-');
const SMALL = smallGeneratorOptions({ samplerSteps: '10' });

interface TrainJson {
  run: string;
  steps: number;
  stoppedEarly: boolean;
  lastCheck: RunCheck | null;
  finalLoss: number;
  estimate: { steps: number; seconds: number; basis: string };
}

function catalog<T>(read: (db: Database.Database) => T): T {
  const db = new Database(join(data, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

const checksOf = (run: string) =>
  catalog((db) => (db.prepare('SELECT result FROM run_checks WHERE run_id = ? ORDER BY step').all(run) as { result: string }[]).map((row) => JSON.parse(row.result) as RunCheck));
const curveOf = (run: string) => catalog((db) => JSON.parse((db.prepare('SELECT loss_curve FROM runs WHERE id = ?').get(run) as { loss_curve: string }).loss_curve) as number[]);

test('collect a small task zoo', async () => {
  const result = await runCliJson<{ checkpoints: number }>(['collect', 'digits-mlp', '--zoo', 'digits', '--seeds', '2', '--checkpoints', '3', '--epochs', '3', '--data', data]);
  assert.equal(result.checkpoints, 6);
});

test('a run on a task zoo records a check every checkEvery steps and at its end, on the check split', async () => {
  const trained = await runCliJson<TrainJson>(['train', 'digits', ...SMALL, '--steps', '25', '--set', 'checkEvery=10', '--set', 'checkModels=2', '--data', data]);
  const checks = checksOf(trained.run);
  assert.deepEqual(
    checks.map((c) => c.step),
    [10, 20, 25],
  );
  for (const check of checks) {
    assert.equal(check.split, 'check');
    assert.equal(check.models, 2);
    assert.equal(check.accuracies!.length, 2);
    for (const accuracy of check.accuracies!) assert.ok(accuracy >= 0 && accuracy <= 100, `accuracy ${accuracy}`);
    // the originals are scored on the same split: collected digits MLPs are far above chance there
    assert.ok(check.originals!.min > 70 && check.originals!.min <= check.originals!.avg && check.originals!.avg <= check.originals!.best);
    // 25 steps are far too few: the bar is not met, so training was not stopped
    assert.equal(check.withinBar, false);
    assert.equal(typeof check.loss, 'number');
  }
  assert.equal(trained.steps, 25);
  assert.equal(trained.stoppedEarly, false);
  assert.deepEqual(trained.lastCheck, checks[2]);
  // stated before it started, and its own speed recorded for the next estimate
  assert.equal(trained.estimate.steps, 25);
  assert.ok(trained.estimate.seconds > 0);
  assert.ok(catalog((db) => (db.prepare('SELECT seconds_per_step FROM runs WHERE id = ?').get(trained.run) as { seconds_per_step: number }).seconds_per_step) > 0);
});

test('checks never change training: the loss curve is the same with and without them', async () => {
  const without = await runCliJson<TrainJson>(['train', 'digits', ...SMALL, '--steps', '20', '--set', 'checkEvery=0', '--data', data]);
  const withChecks = await runCliJson<TrainJson>(['train', 'digits', ...SMALL, '--steps', '20', '--set', 'checkEvery=5', '--set', 'checkModels=1', '--data', data]);
  assert.equal(checksOf(without.run).length, 0);
  assert.equal(checksOf(withChecks.run).length, 4);
  assert.deepEqual(curveOf(withChecks.run), curveOf(without.run));
});

test('a finished run continues for more steps: --resume RUN --steps N', async () => {
  const first = await runCliJson<TrainJson>(['train', 'digits', ...SMALL, '--steps', '20', '--set', 'checkEvery=20', '--set', 'checkModels=1', '--data', data]);
  const before = curveOf(first.run);
  const refused = await runCli(['train', 'digits', '--resume', first.run, '--steps', '20', '--data', data]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /does not continue run .* which is at step 20/);
  const continued = await runCliJson<TrainJson>(['train', 'digits', '--resume', first.run, '--steps', '30', '--data', data]);
  assert.equal(continued.run, first.run);
  assert.equal(continued.steps, 30);
  const after = curveOf(first.run);
  assert.equal(after.length, 30);
  assert.deepEqual(after.slice(0, 20), before);
  assert.deepEqual(
    checksOf(first.run).map((c) => c.step),
    [20, 30],
  );
});

test('a zoo without a task gets weight-space checks', async () => {
  // The collected checkpoints exported and imported into a zoo that names no task.
  const ids = catalog((db) =>
    (db.prepare("SELECT checkpoints.id FROM checkpoints JOIN zoos ON zoos.id = checkpoints.zoo_id WHERE zoos.name = 'digits' ORDER BY checkpoints.rowid").all() as { id: string }[]).map((r) => r.id),
  );
  const folder = tempDir('paramzoo-quality-export-');
  const files: string[] = [];
  for (const [i, id] of ids.entries()) {
    const file = join(folder, `m${i}.safetensors`);
    await runCliJson(['export', id, '--out', file, '--format', 'safetensors', '--data', data]);
    files.push(file);
  }
  await runCliJson(['zoo', 'create', 'untasked', '--data', data]);
  await runCliJson(['import', 'untasked', ...files, '--data', data]);
  const trained = await runCliJson<TrainJson>(['train', 'untasked', ...SMALL, '--steps', '10', '--set', 'checkEvery=10', '--set', 'checkModels=2', '--data', data]);
  const [check] = checksOf(trained.run);
  assert.equal(check!.split, null);
  assert.equal(check!.accuracies, null);
  assert.equal(check!.withinBar, null);
  const weights = check!.weights!;
  assert.equal(weights.tensors, 4, 'the digits MLP has 4 generated tensors');
  assert.ok(weights.outOfRange >= 0 && weights.outOfRange <= 8);
  assert.equal(weights.nearestDistance.length, 2);
  assert.ok(weights.originalSpacing! > 0);
  // after 10 steps the generated weights are nowhere near the originals
  for (const d of weights.nearestDistance) assert.ok(d > weights.originalSpacing!, `distance ${d} vs spacing ${weights.originalSpacing}`);
});

test('a task-conditioned run also checks one model per held-out task vector, against the unseen-task bar', async () => {
  await runCliJson(['collect', 'digits-binary', '--zoo', 'binary', '--seeds', '1', '--checkpoints', '1', '--epochs', '0', '--tasks', '2', '--data', data]);
  const trained = await runCliJson<TrainJson>(['train', 'binary', ...SMALL, '--steps', '5', '--set', 'checkEvery=5', '--set', 'checkModels=2', '--data', data]);
  const [check] = checksOf(trained.run);
  assert.equal(check!.models, 2, 'the seen-task check models are as many as before');
  assert.equal(check!.accuracies!.length, 2);
  const heldOut = check!.heldOut!;
  assert.equal(heldOut.accuracies.length, 20, 'one model per held-out task vector');
  for (const accuracy of heldOut.accuracies) assert.ok(accuracy >= 0 && accuracy <= 100, `accuracy ${accuracy}`);
  assert.equal(heldOut.bar, 85);
  const avg = heldOut.accuracies.reduce((a, b) => a + b, 0) / 20;
  // five steps from untrained heads: far below the bar
  assert.equal(heldOut.meetsBar, false, `held-out avg ${avg}`);
  assert.deepEqual(trained.lastCheck, check);
  assert.match(describeCheck(check!), new RegExp(`; 20 held-out tasks avg ${avg.toFixed(2)} worst ${Math.min(...heldOut.accuracies).toFixed(2)} \\(below the 85% bar\\)$`));
  // a zoo without task vectors gets no held-out part
  const plain = await runCliJson<TrainJson>(['train', 'digits', ...SMALL, '--steps', '5', '--set', 'checkEvery=5', '--set', 'checkModels=1', '--data', data]);
  assert.equal(checksOf(plain.run)[0]!.heldOut, undefined);
});
