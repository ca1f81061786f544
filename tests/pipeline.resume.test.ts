// Training survives a crash: a run killed with SIGKILL resumes from its last save and ends with
// the loss curve of a run that was never interrupted. Plus the pipeline's user errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PROJECT_ROOT, runCli, runCliJson } from './helpers/cli.js';
import { smallGeneratorOptions } from './helpers/small-generator.js';
import { tempDir } from './helpers/tmp.js';

const BIN = fileURLToPath(new URL('../bin/paramzoo.js', import.meta.url));
const data = tempDir('paramzoo-resume-');
const SMALL = [...smallGeneratorOptions(), '--steps', '60'];

interface TrainJson {
  run: string;
  steps: number;
  finalLoss: number;
  secondsPerStep: number;
  config: { steps: number; saveEvery: number };
}

function runRow(id: string): { status: string; step: number; loss_curve: string } | undefined {
  const db = new Database(join(data, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT status, step, loss_curve FROM runs WHERE id = ?').get(id) as { status: string; step: number; loss_curve: string } | undefined;
  } finally {
    db.close();
  }
}

function newestRunId(): string | undefined {
  const db = new Database(join(data, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT id FROM runs ORDER BY rowid DESC LIMIT 1').get() as { id: string } | undefined)?.id;
  } finally {
    db.close();
  }
}

test('collect a small zoo', async () => {
  const result = await runCliJson<{ zoo: string; checkpoints: number; accuracy: { avg: number } }>([
    'collect',
    'digits-mlp',
    '--zoo',
    'small',
    '--seeds',
    '2',
    '--checkpoints',
    '3',
    '--epochs',
    '3',
    '--data',
    data,
  ]);
  assert.equal(result.zoo, 'small');
  assert.equal(result.checkpoints, 6);
  assert.ok(result.accuracy.avg > 70, `accuracy ${result.accuracy.avg}`);
});

test('train --resume after SIGKILL continues the same loss curve', async () => {
  const reference = await runCliJson<TrainJson>(['train', 'small', ...SMALL, '--data', data]);
  assert.equal(reference.steps, 60);
  const referenceCurve = JSON.parse(runRow(reference.run)!.loss_curve) as number[];
  assert.equal(referenceCurve.length, 60);

  // Same settings, killed without warning once its first state is saved.
  const child = spawn(process.execPath, [BIN, 'train', 'small', ...SMALL, '--data', data], { cwd: PROJECT_ROOT, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let killedAt = -1;
  let killed: string | undefined;
  for (let waited = 0; waited < 120_000 && killedAt < 0; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const id = newestRunId();
    const row = id && id !== reference.run ? runRow(id) : undefined;
    if (row && row.step >= 10) {
      child.kill('SIGKILL');
      killed = id;
      killedAt = row.step;
    }
  }
  await exited;
  assert.ok(killed, 'the second run never saved');
  const afterKill = runRow(killed!)!;
  assert.ok(afterKill.step >= 10 && afterKill.step < 60, `killed at saved step ${afterKill.step}`);
  assert.equal(afterKill.status, 'running', 'a killed process cannot record its end');

  const resumed = await runCliJson<TrainJson>(['train', 'small', '--resume', killed!, '--data', data]);
  assert.equal(resumed.run, killed);
  assert.equal(resumed.steps, 60);
  const row = runRow(killed!)!;
  assert.equal(row.status, 'succeeded');
  assert.equal(row.step, 60);
  assert.deepEqual(JSON.parse(row.loss_curve), referenceCurve);
  assert.equal(resumed.finalLoss, reference.finalLoss);

  // The resumed generator generates exactly what the uninterrupted one does.
  type Generated = { models: { sha256: string }[] };
  const a = await runCliJson<Generated>(['generate', reference.run, '--count', '1', '--seed', '3', '--data', data]);
  const b = await runCliJson<Generated>(['generate', killed!, '--count', '1', '--seed', '3', '--data', data]);
  assert.equal(a.models[0]!.sha256, b.models[0]!.sha256);
});

test('user errors are clear and change nothing', async () => {
  const unknownRun = await runCli(['generate', 'run_0123456789abcdef', '--data', data]);
  assert.equal(unknownRun.code, 1);
  assert.match(unknownRun.stderr, /no generator run 'run_0123456789abcdef'/);

  const badSetting = await runCli(['train', 'small', '--set', 'tokenSize=-3', '--data', data]);
  assert.equal(badSetting.code, 1);
  assert.match(badSetting.stderr, /tokenSize/);

  const notConditioned = await runCli(['generate', newestRunId()!, '--condition', '0101010101', '--data', data]);
  assert.equal(notConditioned.code, 1);
  assert.match(notConditioned.stderr, /without task conditions/);

  const refill = await runCli(['collect', 'digits-mlp', '--zoo', 'small', '--data', data]);
  assert.equal(refill.code, 1);
  assert.match(refill.stderr, /already holds 6 checkpoints/);
});

test('a zoo of imported checkpoints trains and generates, but evaluate says it cannot be scored', async () => {
  const shown = await runCliJson<{ checkpoints: { id: string }[] }>(['zoo', 'show', 'small', '--data', data]);
  const files: string[] = [];
  for (const [i, checkpoint] of shown.checkpoints.slice(0, 2).entries()) {
    const file = join(data, `ck${i}.safetensors`);
    await runCliJson(['export', checkpoint.id, '--out', file, '--data', data]);
    files.push(file);
  }
  await runCliJson(['zoo', 'create', 'imported', '--data', data]);
  await runCliJson(['import', 'imported', ...files, '--data', data]);
  const trained = await runCliJson<TrainJson>(['train', 'imported', ...SMALL.slice(0, -2), '--steps', '2', '--data', data]);
  const generated = await runCliJson<{ models: { id: string }[] }>(['generate', trained.run, '--count', '1', '--data', data]);
  assert.equal(generated.models.length, 1);
  const evaluation = await runCli(['evaluate', trained.run, '--data', data]);
  assert.equal(evaluation.code, 1);
  assert.match(evaluation.stderr, /zoo 'imported' holds imported checkpoints, with no built-in task and no evaluator command/);
});

test('a binary-task family keeps its held-out task models out of the training zoo', async () => {
  const result = await runCliJson<{ zoo: string; heldOutZoo: string; checkpoints: number; heldOutCheckpoints: number }>([
    'collect',
    'digits-binary',
    '--zoo',
    'binary',
    '--seeds',
    '1',
    '--checkpoints',
    '1',
    '--epochs',
    '0',
    '--tasks',
    '2',
    '--data',
    data,
  ]);
  assert.equal(result.heldOutZoo, 'binary-heldout');
  assert.equal(result.checkpoints, 2);
  assert.equal(result.heldOutCheckpoints, 20);
  type Shown = { task: string; checkpoints: { condition: number[] | null; source: string }[] };
  const zoo = await runCliJson<Shown>(['zoo', 'show', 'binary', '--data', data]);
  const heldOut = await runCliJson<Shown>(['zoo', 'show', 'binary-heldout', '--data', data]);
  assert.equal(zoo.task, 'digits-binary');
  assert.equal(heldOut.checkpoints.length, 20);
  const heldOutVectors = new Set(heldOut.checkpoints.map((c) => c.condition!.join('')));
  assert.equal(heldOutVectors.size, 20);
  for (const checkpoint of zoo.checkpoints) {
    assert.equal(checkpoint.condition!.length, 10);
    assert.ok(!heldOutVectors.has(checkpoint.condition!.join('')), `held-out task ${checkpoint.condition!.join('')} is in the training zoo`);
    assert.match(checkpoint.source, /^builtin:digits-binary\/seed0\/ck0\/task[01]{10}$/);
  }

  // A task-conditioned generator: evaluate generates for the zoo's task vectors and for every held-out one.
  const trained = await runCliJson<TrainJson>(['train', 'binary', ...SMALL.slice(0, -2), '--steps', '2', '--data', data]);
  const missing = await runCli(['generate', trained.run, '--data', data]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--condition needs 10 bits/);
  type Summary = { avg: number | null };
  type Evaluated = { zoos: { generated: Summary; details: { generated: unknown[]; heldOut: { condition: number[]; originals: Summary; generated: Summary; generatedModels: number }[] } }[] };
  const evaluation = await runCliJson<Evaluated>(['evaluate', trained.run, '--data', data]);
  const [scored] = evaluation.zoos;
  assert.equal(scored!.details.generated.length, 10);
  assert.equal(scored!.details.heldOut.length, 20);
  // One row per held-out vector, each with its originals and 3 generated models scored (avg null = none generated).
  assert.deepEqual(new Set(scored!.details.heldOut.map((h) => h.condition.join(''))), heldOutVectors);
  for (const h of scored!.details.heldOut) {
    assert.ok(h.originals.avg! > 0 && h.originals.avg! <= 100, `held-out ${h.condition.join('')}: originals ${JSON.stringify(h.originals)}`);
    assert.ok(typeof h.generated.avg === 'number' && h.generated.avg >= 0 && h.generated.avg <= 100, `held-out ${h.condition.join('')}: generated ${JSON.stringify(h.generated)}`);
    assert.equal(h.generatedModels, 3, `held-out ${h.condition.join('')}: models of seeds 0, 1, 2`);
  }
});

test('a zoo of one training run (one permutation state) trains and generates models of that state', async () => {
  await runCliJson(['collect', 'digits-mlp', '--zoo', 'one-run', '--seeds', '1', '--checkpoints', '2', '--epochs', '1', '--data', data]);
  const trained = await runCliJson<TrainJson>(['train', 'one-run', ...SMALL.slice(0, -2), '--steps', '2', '--data', data]);
  const generated = await runCliJson<{ models: { permutationState: number }[] }>(['generate', trained.run, '--count', '3', '--data', data]);
  assert.deepEqual(
    generated.models.map((m) => m.permutationState),
    [0, 0, 0],
  );
});

test("a run stored before quality checks existed continues with the checks' defaults", async () => {
  await runCliJson(['collect', 'digits-mlp', '--zoo', 'old-run', '--seeds', '1', '--checkpoints', '2', '--epochs', '1', '--data', data]);
  const trained = await runCliJson<TrainJson>(['train', 'old-run', ...SMALL.slice(0, -2), '--steps', '10', '--data', data]);
  // What an older version stored: no checkEvery, checkModels or stopEarly in the run's config.
  const db = new Database(join(data, 'catalog.sqlite'));
  try {
    const stored = JSON.parse((db.prepare('SELECT config FROM runs WHERE id = ?').get(trained.run) as { config: string }).config) as Record<string, unknown>;
    for (const key of ['checkEvery', 'checkModels', 'stopEarly']) delete stored[key];
    db.prepare('UPDATE runs SET config = ? WHERE id = ?').run(JSON.stringify(stored), trained.run);
  } finally {
    db.close();
  }
  const resumed = await runCliJson<TrainJson & { lastCheck: { step: number; models: number; accuracies: number[] } | null }>([
    'train',
    'old-run',
    '--resume',
    trained.run,
    '--steps',
    '20',
    '--data',
    data,
  ]);
  assert.equal(resumed.steps, 20);
  assert.equal(resumed.lastCheck?.step, 20);
  assert.equal(resumed.lastCheck?.models, 3, 'the check generates the default 3 models, not none');
  assert.equal(resumed.lastCheck?.accuracies.length, 3);
});

test('a cancelled training job leaves a cancelled run that --resume finishes', async () => {
  const { createEngineService, runJob } = await import('../engine/service.js');
  const service = createEngineService({ dataDir: data });
  try {
    let cancelled = false;
    const set = { tokenSize: 64, recurrentWidth: 32, recurrentLayers: 1, denoiserChannels: [8, 16, 8], timeFeatures: 32, diffusionBatch: 32, saveEvery: 5 };
    const training = runJob(service, 'train', { zoo: 'small', steps: 40, set }, (progress, job) => {
      if (!cancelled && (progress.metrics.step ?? 0) >= 8) {
        cancelled = true;
        void service.request('job.cancel', { id: job.id });
      }
    });
    await assert.rejects(training, (error: unknown) => (error as { code?: string }).code === 'cancelled');
    const id = newestRunId()!;
    const row = runRow(id)!;
    assert.equal(row.status, 'cancelled');
    assert.ok(row.step >= 5 && row.step < 40, `saved at step ${row.step}`);
    const curveAtCancel = JSON.parse(row.loss_curve) as number[];
    assert.equal(curveAtCancel.length, row.step);
    const refused = await runCli(['train', 'small', '--resume', id, '--set', 'lr=0.1', '--data', data]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--resume continues run/);
    // --steps may only move the end further: not back to (or before) the saved step
    const backwards = await runCli(['train', 'small', '--resume', id, '--steps', String(row.step), '--data', data]);
    assert.equal(backwards.code, 1);
    assert.match(backwards.stderr, new RegExp(`does not continue run '${id}', which is at step ${row.step}`));

    // It resumes: the same run continues from its saved step to the end, its loss curve extended.
    const resumed = await runCliJson<TrainJson>(['train', 'small', '--resume', id, '--data', data]);
    assert.equal(resumed.run, id);
    assert.equal(resumed.steps, 40);
    const finished = runRow(id)!;
    assert.equal(finished.status, 'succeeded');
    assert.equal(finished.step, 40);
    const curve = JSON.parse(finished.loss_curve) as number[];
    assert.equal(curve.length, 40);
    assert.deepEqual(curve.slice(0, curveAtCancel.length), curveAtCancel, 'the steps before the cancel are kept, not retrained');
  } finally {
    await service.close();
  }
});
