import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImportResult, InspectResult, ZooDetail, ZooSummary } from '../engine/protocol.js';
import { runAll, runCli, runCliJson } from './helpers/cli.js';
import { snapshotCatalog } from './helpers/catalog.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const fixture = (name: string) => join(FIXTURES, name);

test('zoo create / import / zoo show: permutation states, conditions, signature, DESIGN.md fields', async () => {
  const dataDir = tempDir();
  const data = ['--data', dataDir];
  const created = await runCliJson<ZooSummary>(['zoo', 'create', 'cnn', ...data]);
  assert.deepEqual([created.name, created.checkpointCount, created.parameterCount], ['cnn', 0, 0]);

  const batch = await runCliJson<ImportResult>(['import', 'cnn', fixture('tiny_cnn.pth'), fixture('tiny_cnn_legacy.pth'), fixture('timm_train_checkpoint.pth.tar'), ...data]);
  assert.deepEqual(
    batch.imported.map((c) => c.source),
    [fixture('tiny_cnn.pth'), fixture('tiny_cnn_legacy.pth'), fixture('timm_train_checkpoint.pth.tar')],
  );
  const chosen = await runCliJson<ImportResult>(['import', 'cnn', fixture('tiny_cnn.pth'), '--permutation-state', '7', '--condition', '0,1,1', ...data]);

  const zoo = await runCliJson<ZooDetail>(['zoo', 'show', 'cnn', ...data]);
  assert.equal(zoo.name, 'cnn');
  assert.equal(zoo.signature.length, 15);
  assert.deepEqual(zoo.signature[0], { name: 'conv1.weight', dtype: 'F32', shape: [8, 1, 3, 3] });
  assert.deepEqual(zoo.signature[6], { name: 'bn1.num_batches_tracked', dtype: 'I64', shape: [] });
  assert.deepEqual(
    zoo.checkpoints.map((c) => c.id),
    [...batch.imported, ...chosen.imported].map((c) => c.id),
  );
  for (const checkpoint of zoo.checkpoints) {
    for (const field of ['id', 'format', 'source', 'permutationState', 'condition', 'metrics']) assert.ok(field in checkpoint, field);
    assert.match(checkpoint.id, /^ck_[0-9a-f]{16}$/);
  }
  assert.deepEqual(
    zoo.checkpoints.map((c) => c.permutationState),
    [0, 1, 2, 7],
  );
  assert.deepEqual(
    zoo.checkpoints.map((c) => c.condition),
    [null, null, null, [0, 1, 1]],
  );
  assert.deepEqual(
    zoo.checkpoints.map((c) => c.format),
    ['pth', 'pth', 'pth', 'pth'],
  );
  assert.equal(zoo.checkpoints[2]!.layout, 'timm_training_checkpoint');
  assert.deepEqual(
    zoo.checkpoints.map((c) => c.metrics),
    [{}, {}, { metric: 71.25, epoch: 3 }, {}],
    "the training checkpoint's own figures",
  );

  const [list, [byId, byFile]] = await Promise.all([
    runCliJson<ZooSummary[]>(['zoo', 'list', ...data]),
    runAll(
      [zoo.checkpoints[1]!.id, fixture('tiny_cnn_legacy.pth')].map((what) => () => runCliJson<InspectResult>(['inspect', what, ...data])),
      1,
    ),
  ]);
  assert.deepEqual(
    list.map((z) => [z.name, z.checkpointCount, z.parameterCount]),
    [['cnn', 4, 1500]],
  );
  assert.equal(byId!.id, zoo.checkpoints[1]!.id);
  assert.equal(byId!.format, 'pth');
  assert.deepEqual(byId!.tensors, byFile!.tensors, 'inspect ID shows the stored tensors');

  const text = await runCli(['zoo', 'show', 'cnn', ...data]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /zoo cnn: 4 checkpoints, 1500 parameters each/);
  assert.match(text.stdout, new RegExp(`^${zoo.checkpoints[3]!.id}\\s+pth\\s+7\\s+0,1,1\\s`, 'm'));
  assert.match(text.stdout, new RegExp(`^${zoo.checkpoints[2]!.id}\\s+pth\\s+2\\s+-\\s+metric=71.25 epoch=3\\s`, 'm'));
});

test('an import that does not fit the zoo is refused with the first difference, naming both files, and changes nothing', async () => {
  const dataDir = tempDir();
  const data = ['--data', dataDir];
  await runCliJson(['zoo', 'create', 'cnn', ...data]);
  await runCliJson(['import', 'cnn', fixture('tiny_cnn.pth'), ...data]);
  const before = snapshotCatalog(dataDir);
  const [half, mixed, peft] = await runAll([
    () => runCli(['import', 'cnn', fixture('tiny_cnn_fp16.pth'), ...data]),
    // one good file first: still nothing imported
    () => runCli(['import', 'cnn', fixture('tiny_cnn_legacy.pth'), fixture('views.pth'), ...data]),
    () => runCli(['import', 'cnn', fixture('dora_tiny_llama'), ...data]),
  ]);
  assert.equal(half!.code, 1);
  assert.match(half!.stderr, /tiny_cnn_fp16\.pth does not fit zoo 'cnn': tensor #1 'conv1\.weight' has dtype F16 in \S+tiny_cnn_fp16\.pth but F32 in \S+tiny_cnn\.pth/);
  assert.equal(mixed!.code, 1);
  assert.match(mixed!.stderr, /views\.pth does not fit zoo 'cnn': tensor #1 is named '\w+' in \S+views\.pth but 'conv1\.weight' in \S+tiny_cnn\.pth/);
  assert.equal(peft!.code, 1);
  assert.match(peft!.stderr, /dora_tiny_llama does not fit zoo 'cnn'/);
  assert.deepEqual(snapshotCatalog(dataDir), before);
});

test('folders are scanned for checkpoints; a missing path or empty folder is a user error', async () => {
  const dataDir = tempDir();
  const data = ['--data', dataDir];
  await runCliJson(['zoo', 'create', 'adapters', ...data]);
  const empty = tempDir();
  const [missing, nothing] = await runAll([() => runCli(['import', 'adapters', join(empty, 'nope.pth'), ...data]), () => runCli(['import', 'adapters', empty, ...data])]);
  assert.equal(missing!.code, 1);
  assert.match(missing!.stderr, /nope\.pth: no such file or folder/);
  assert.equal(nothing!.code, 1);
  assert.match(nothing!.stderr, /holds no checkpoint files/);
  // A folder of runs: checkpoint files and adapter folders found recursively, in name order; the rest skipped.
  const runs = tempDir();
  mkdirSync(join(runs, 'run-b'));
  mkdirSync(join(runs, 'run-a'));
  copyFileSync(fixture('tiny_cnn_legacy.pth'), join(runs, 'run-b', 'last.pth'));
  copyFileSync(fixture('tiny_cnn.pth'), join(runs, 'run-a', 'last.pth'));
  copyFileSync(fixture('bad/code_execution.pth'), join(runs, '.hidden.pth'));
  writeFileSync(join(runs, 'notes.txt'), 'not a checkpoint');
  const adapters = tempDir();
  cpSync(fixture('dora_tiny_llama'), join(adapters, 'task-1'), { recursive: true });
  cpSync(fixture('dora_tiny_llama'), join(adapters, 'task-2'), { recursive: true });
  await runCliJson(['zoo', 'create', 'runs', ...data]);
  const [fromRuns, fromAdapters] = await runAll([() => runCliJson<ImportResult>(['import', 'runs', runs, ...data]), () => runCliJson<ImportResult>(['import', 'adapters', adapters, ...data])]);
  assert.deepEqual(
    fromRuns!.imported.map((c) => c.source),
    [join(runs, 'run-a', 'last.pth'), join(runs, 'run-b', 'last.pth')],
  );
  assert.deepEqual(
    fromAdapters!.imported.map((c) => c.source),
    [join(adapters, 'task-1'), join(adapters, 'task-2')],
  );
  assert.equal(snapshotCatalog(dataDir).counts.checkpoints, 4);
});

test('help, usage errors, unknown ids and PARAMZOO_DATA', async () => {
  const dataDir = tempDir();
  const commands = [['inspect'], ['zoo', 'create'], ['zoo', 'list'], ['zoo', 'show'], ['import'], ['export'], ['zoo'], []];
  const helps = await runAll(commands.map((words) => () => runCli([...words, '--help'])));
  for (const [i, help] of helps.entries()) {
    assert.equal(help.code, 0, `${commands[i]!.join(' ')} --help`);
    assert.match(help.stdout, new RegExp(`^usage: paramzoo ${commands[i]!.join(' ') || 'COMMAND'}`), help.stdout);
    assert.match(help.stdout, /--data DIR/);
  }
  const errors = await runAll([
    () => runCli(['frobnicate', '--data', dataDir]),
    () => runCli(['inspect', '--data', dataDir]),
    () => runCli(['export', 'ck_0123456789abcdef', '--out', join(dataDir, 'x'), '--data', dataDir, '--json']),
    () => runCli(['zoo', 'show', 'nope', '--data', dataDir]),
    () => runCli(['import', 'z', fixture('tiny_cnn.pth'), '--permutation-state', 'x', '--data', dataDir]),
    () => runCli(['zoo', 'list', '--bogus', '--data', dataDir]),
    () => runCli(['zoo', 'list', '--backend', 'quantum', '--data', dataDir]),
  ]);
  const patterns = [
    /unknown command 'frobnicate'/,
    /takes PATH\|ID; got none/,
    /'ck_0123456789abcdef' is neither a checkpoint nor a generated model/,
    /no zoo named 'nope'/,
    /--permutation-state must be a whole number/,
    /'paramzoo zoo list' has no option --bogus/,
    /--backend must be one of tensorflow, webgpu, wasm, cpu/,
  ];
  for (const [i, run] of errors.entries()) {
    assert.equal(run.code, 1, `${patterns[i]}: ${run.stderr}`);
    assert.match(run.stderr, patterns[i]!);
    assert.match(run.stderr, /^hint: /m);
  }
  assert.deepEqual(JSON.parse(errors[2]!.stdout).error.code, 'model_not_found', '--json errors are one JSON document too');

  const viaEnv = tempDir();
  const envRun = await runCli(['zoo', 'create', 'from-env'], { env: { PARAMZOO_DATA: viaEnv } });
  assert.equal(envRun.code, 0, envRun.stderr);
  assert.equal(snapshotCatalog(viaEnv).counts.zoos, 1);
  const duplicate = await runCli(['zoo', 'create', 'from-env', '--json'], { env: { PARAMZOO_DATA: viaEnv } });
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /already exists/);
});
