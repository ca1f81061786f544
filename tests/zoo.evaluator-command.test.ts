// A zoo without a built-in task, scored by the user's own evaluator command: the evaluator here is a
// small node script written by the test that reads the safetensors file it is given and prints an
// "accuracy" derived from the tensors' values, so every model's score is known before it runs.
// Originals and generated models go through it alike; a failing command, a silent one, one that
// runs past its timeout and one that is cancelled leave no results and no files behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EvaluateJobResult, GeneratedModelInfo, ImportResult, InspectResult, TrainJobResult, ZooDetail, ZooEvaluationInfo, ZooSummary } from '../engine/protocol.js';
import { createEngineService, runJob, type EngineService } from '../engine/service.js';
import { writeCheckpoint } from '../engine/formats/index.js';
import { float32Tensor } from '../engine/zoo/tensors.js';
import { argvFor, evaluatorArgv, parseAccuracy, splitCommand } from '../engine/zoo/evaluator-command.js';
import { runCli, runCliJson } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

// The evaluator: sums every F32 value of the safetensors file it is given (tensors in the header's
// order) and prints 0.5 + 0.4·tanh(sum / 100) as a fraction with 4 decimals, after some chatter.
// Modes (a second argument): fail (stderr, exit 3), silent (exit 0 without a number), sleep (writes
// its pid, then sleeps a minute). Every path it is given is appended to seen.txt.
const EVALUATOR = `
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
const [path, mode] = process.argv.slice(2);
appendFileSync('seen.txt', path + '\\n');
if (mode === 'sleep') {
  writeFileSync('pid-' + process.pid + '.txt', String(process.pid));
  setTimeout(() => {}, 60000);
} else if (mode === 'fail') {
  console.log('loading ImageNet val');
  console.error('Traceback (most recent call last):\\nFileNotFoundError: /data/imagenet/val');
  process.exit(3);
} else if (mode === 'silent') {
  console.log('done');
} else {
  if (!path.endsWith('.safetensors')) throw new Error('not a safetensors file: ' + path);
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  let sum = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || t.dtype !== 'F32') continue;
    const [a, b] = t.data_offsets;
    const data = bytes.subarray(8 + n + a, 8 + n + b);
    for (let i = 0; i < data.length; i += 4) sum += data.readFloatLE(i);
  }
  console.log('test batch 1/2: 0.25');
  console.log('accuracy: ' + (0.5 + 0.4 * Math.tanh(sum / 100)).toFixed(4));
  console.log('');
}
`;

/** What the evaluator prints for tensors summing to `sum`, as ParamZoo reads it: a fraction, in percent. */
const predicted = (sum: number): number => Number((0.5 + 0.4 * Math.tanh(sum / 100)).toFixed(4)) * 100;
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

/** A folder with a space in its name, holding the evaluator under a name with a space: quoting is exercised. */
function evaluatorFolder(): string {
  const dir = join(tempDir(), 'my evaluator');
  mkdirSync(dir);
  writeFileSync(join(dir, 'my eval.mjs'), EVALUATOR);
  return dir;
}
const command = (mode = '') => `"${process.execPath}" 'my eval.mjs' {checkpoint}${mode ? ` ${mode}` : ''}`;

/** Small real checkpoints: a 8×8 layer and its bias, checkpoint i filled with (i + 1) / 8 · (−1)^j-ish values whose sum is exact. */
async function writeZooFiles(dir: string, count: number): Promise<{ paths: string[]; sums: number[] }> {
  const paths: string[] = [];
  const sums: number[] = [];
  for (let i = 0; i < count; i++) {
    const weight = Float32Array.from({ length: 64 }, (_, j) => ((i + 1) * ((j % 5) - 1)) / 8);
    const bias = Float32Array.from({ length: 8 }, (_, j) => (j - i) / 4);
    const path = join(dir, `model${i}.safetensors`);
    await writeCheckpoint('safetensors', path, [float32Tensor('layer.weight', [8, 8], weight), float32Tensor('layer.bias', [8], bias)], {});
    paths.push(path);
    sums.push([...weight, ...bias].reduce((a, b) => a + b, 0));
  }
  return { paths, sums };
}

const seenPaths = (dir: string): string[] => (existsSync(join(dir, 'seen.txt')) ? readFileSync(join(dir, 'seen.txt'), 'utf8').split('\n').filter(Boolean) : []);
const evaluationCount = (service: EngineService): number => (service.catalog().db.prepare('SELECT COUNT(*) AS n FROM evaluations').get() as { n: number }).n;
const leftoverFiles = (dataDir: string): string[] => (existsSync(join(dataDir, 'evaluator-files')) ? readdirSync(join(dataDir, 'evaluator-files')) : []);

test('the split rule: words at spaces, quotes group, backslashes stay, {checkpoint} one word', () => {
  assert.deepEqual(splitCommand(`python eval.py {checkpoint}`), ['python', 'eval.py', '{checkpoint}']);
  assert.deepEqual(splitCommand(`  "C:\\Program Files\\py.exe"  'my eval.py' --ckpt="{checkpoint}" '' x"y z"w `), ['C:\\Program Files\\py.exe', 'my eval.py', '--ckpt={checkpoint}', '', 'xy zw']);
  assert.deepEqual(splitCommand(`say "it's" 'a "b"'`), ['say', "it's", 'a "b"']);
  assert.throws(() => splitCommand(`python "eval.py {checkpoint}`), { code: 'evaluator_command', message: /quote " is not closed/ });
  assert.throws(() => evaluatorArgv('python eval.py'), { code: 'evaluator_command', message: /no word contains \{checkpoint\}/ });
  assert.throws(() => evaluatorArgv('   '), { code: 'evaluator_command', message: /names no program/ });
  // A path with spaces, quotes and shell syntax stays one argument: nothing is ever given to a shell.
  const hostile = `/tmp/a b'; rm -rf ~ #"$(x)`;
  assert.deepEqual(argvFor(evaluatorArgv('python eval.py --ckpt={checkpoint} {checkpoint}'), hostile), ['python', 'eval.py', `--ckpt=${hostile}`, hostile]);
});

test('the accuracy rule: last number of the last non-empty line; % or > 1 is a percent, ≤ 1 a fraction', () => {
  assert.deepEqual(parseAccuracy('epoch 3 loss 0.2\nTop-1: 76.13\n\n'), { accuracy: 76.13 });
  assert.deepEqual(parseAccuracy('acc=0.5'), { accuracy: 50 });
  assert.deepEqual(parseAccuracy('top1 0.5 %'), { accuracy: 0.5 }, 'a % sign makes even a small number a percent');
  assert.deepEqual(parseAccuracy('1'), { accuracy: 100 }, '1 is a fraction: every sample right');
  assert.deepEqual(parseAccuracy('8.5e1'), { accuracy: 85 });
  assert.deepEqual(parseAccuracy('acc 0'), { accuracy: 0 });
  assert.match((parseAccuracy('') as { error: string }).error, /printed nothing/);
  assert.match((parseAccuracy('accuracy: 91.2\nbye') as { error: string }).error, /last line 'bye' holds no number/);
  assert.match((parseAccuracy('loss 250') as { error: string }).error, /not an accuracy/);
  assert.match((parseAccuracy('delta -0.3') as { error: string }).error, /not an accuracy/);
});

test('evaluate a run of a zoo without a task: the evaluator command scores originals and generated models, as predicted', async () => {
  const dataDir = tempDir();
  const files = await writeZooFiles(tempDir(), 4);
  const dir = evaluatorFolder();
  const service = createEngineService({ dataDir });
  try {
    await service.request('zoo.create', { name: 'imported' });
    const imported = (await runJob(service, 'import', { zoo: 'imported', paths: files.paths })) as ImportResult;
    const set = { tokenSize: 64, recurrentWidth: 32, recurrentLayers: 1, denoiserChannels: [8, 16, 8], timeFeatures: 32, diffusionBatch: 8 };
    const trained = (await runJob(service, 'train', { zoo: 'imported', steps: 2, set })) as TrainJobResult;
    await runJob(service, 'generate', { run: trained.run, count: 2, samplerSteps: 2 });

    // Without an evaluator the run cannot be scored, and the error says what to do.
    await assert.rejects(runJob(service, 'evaluate', { run: trained.run }), { code: 'zoo_without_task', message: /no evaluator command/ });

    const summary: ZooSummary = await service.request('zoo.setEvaluator', { name: 'imported', command: command(), cwd: dir });
    assert.deepEqual(summary.evaluator, { command: command(), cwd: dir, timeoutSeconds: 600 });
    const shown: ZooDetail = await service.request('zoo.show', { name: 'imported' });
    assert.deepEqual(shown.evaluator, summary.evaluator);

    const result = (await runJob(service, 'evaluate', { run: trained.run })) as EvaluateJobResult;
    const zoo = result.zoos[0]! as ZooEvaluationInfo & { details: { originals: { id: string; accuracy: number }[]; generated: { id: string; accuracy: number }[] } };
    assert.equal(zoo.task, 'command');
    assert.equal(zoo.evaluator, command());

    // Originals: known sums. Generated: the sums of their stored tensors, read back through inspect.
    const originals = imported.imported.map((c, i) => ({ id: c.id, accuracy: predicted(files.sums[i]!) }));
    const models: GeneratedModelInfo[] = await service.request('model.list', { run: trained.run });
    const generated: { id: string; accuracy: number }[] = [];
    for (const model of models) {
      const inspected: InspectResult = await service.request('inspect', { path: model.id });
      generated.push({ id: model.id, accuracy: predicted(Object.values(inspected.tensors).reduce((s, t) => s + t.sum, 0)) });
    }
    assert.deepEqual(
      zoo.details.originals.map((m) => m.id),
      originals.map((m) => m.id),
    );
    assert.deepEqual(
      zoo.details.generated.map((m) => m.id),
      generated.map((m) => m.id),
    );
    zoo.details.originals.forEach((m, i) => {
      close(m.accuracy, originals[i]!.accuracy, `original ${m.id}`);
    });
    zoo.details.generated.forEach((m, i) => {
      close(m.accuracy, generated[i]!.accuracy, `generated ${m.id}`);
    });
    assert.ok(new Set(originals.map((m) => m.accuracy)).size === 4, 'different checkpoints, different scores');

    // The same tables and verdict as a built-in task, stored with the run and on each generated model.
    const accuracies = (list: { accuracy: number }[]) => list.map((m) => m.accuracy);
    close(zoo.originals.best!, Math.max(...accuracies(originals)), 'originals best');
    close(zoo.originals.min!, Math.min(...accuracies(originals)), 'originals min');
    close(zoo.generated.avg!, accuracies(generated).reduce((a, b) => a + b, 0) / generated.length, 'generated avg');
    assert.equal(typeof zoo.verdict?.meetsBar, 'boolean');
    assert.equal(zoo.verdict?.novelty, 'unknown');
    assert.deepEqual(zoo.nearestIoU, { generated: null, noised: null });
    const stored = await service.request('evaluation.get', { id: result.evaluation! });
    assert.deepEqual(stored.zoos, result.zoos);
    for (const [i, model] of (await service.request('model.list', { run: trained.run })).entries()) close(model.metrics.accuracy!, generated[i]!.accuracy, `stored ${model.id}`);

    // Each model was given to the command as its own file in the zoo's format, removed afterwards.
    const seen = seenPaths(dir);
    assert.equal(seen.length, 6);
    assert.deepEqual(
      seen.map((p) => p.split('/').pop()),
      [...originals, ...generated].map((m) => `${m.id}.safetensors`),
    );
    assert.ok(
      seen.every((p) => !existsSync(p)),
      'no exported file is left',
    );
    assert.deepEqual(leftoverFiles(dataDir), []);

    // Failures: a clear typed error naming the command, the checkpoint and the stderr's end; nothing stored.
    const before = evaluationCount(service);
    const metricsBefore = JSON.stringify(await service.request('model.list', { run: trained.run }));
    await service.request('zoo.setEvaluator', { name: 'imported', command: command('fail'), cwd: dir });
    await assert.rejects(runJob(service, 'evaluate', { run: trained.run }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'evaluator_failed');
      assert.ok(error.message.includes(command('fail')), error.message);
      assert.ok(error.message.includes(originals[0]!.id), error.message);
      assert.match(error.message, /exited with code 3/);
      assert.match(error.message, /FileNotFoundError: \/data\/imagenet\/val/);
      return true;
    });
    await service.request('zoo.setEvaluator', { name: 'imported', command: command('silent'), cwd: dir });
    await assert.rejects(runJob(service, 'evaluate', { run: trained.run }), { code: 'evaluator_failed', message: /gave no accuracy: its last line 'done' holds no number/ });
    await service.request('zoo.setEvaluator', { name: 'imported', command: command('sleep'), cwd: dir, timeoutSeconds: 1 });
    await assert.rejects(runJob(service, 'evaluate', { run: trained.run }), { code: 'evaluator_failed', message: /did not finish within 1 s/ });
    assert.equal(evaluationCount(service), before, 'no evaluation stored by a failed one');
    assert.equal(JSON.stringify(await service.request('model.list', { run: trained.run })), metricsBefore, "generated models' metrics untouched");
    assert.ok(
      seenPaths(dir).every((p) => !existsSync(p)),
      'no exported file is left after failures',
    );
    assert.deepEqual(leftoverFiles(dataDir), []);
    await waitForExit(dir);

    // Cancelled while the command runs: the command is killed, nothing is stored, no file is left.
    await service.request('zoo.setEvaluator', { name: 'imported', command: command('sleep'), cwd: dir, timeoutSeconds: 3600 });
    const pidsBefore = new Set(pidFiles(dir));
    const started = () => pidFiles(dir).filter((n) => !pidsBefore.has(n));
    let cancelling = false;
    const evaluating = runJob(service, 'evaluate', { run: trained.run }, (_progress, job) => {
      if (cancelling) return;
      cancelling = true;
      void (async () => {
        for (let i = 0; i < 600 && started().length === 0; i++) await sleep(50);
        await service.request('job.cancel', { id: job.id });
      })();
    });
    await assert.rejects(evaluating, { code: 'cancelled' });
    assert.equal(started().length, 1, 'cancelled while the command ran on the first checkpoint');
    const pid = Number(readFileSync(join(dir, started()[0]!), 'utf8'));
    await waitForExit(dir);
    assert.equal(isAlive(pid), false, 'the command was killed');
    assert.equal(evaluationCount(service), before);
    assert.ok(
      seenPaths(dir).every((p) => !existsSync(p)),
      'no exported file is left after a cancel',
    );
    assert.deepEqual(leftoverFiles(dataDir), []);

    // Removing the evaluator: the zoo is back to "cannot be scored".
    const cleared: ZooSummary = await service.request('zoo.setEvaluator', { name: 'imported', command: null });
    assert.equal(cleared.evaluator, null);
  } finally {
    await service.close();
  }
});

const pidFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => n.startsWith('pid-'))
    .sort();
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
/** Every sleeping evaluator started so far has exited (within 5 s). */
async function waitForExit(dir: string): Promise<void> {
  const pids = pidFiles(dir).map((n) => Number(readFileSync(join(dir, n), 'utf8')));
  for (let i = 0; i < 100 && pids.some(isAlive); i++) await sleep(50);
  assert.deepEqual(pids.filter(isAlive), [], 'evaluator processes still running');
}

test('CLI: zoo set-evaluator, zoo show, and evaluate --zoo --originals scored by the command', async () => {
  const dataDir = tempDir();
  const data = ['--data', dataDir];
  const files = await writeZooFiles(tempDir(), 3);
  const dir = evaluatorFolder();
  await runCliJson(['zoo', 'create', 'orig', ...data]);
  await runCliJson(['zoo', 'create', 'twin', ...data]);
  await runCliJson(['import', 'orig', ...files.paths, ...data]);
  await runCliJson(['import', 'twin', files.paths[2]!, files.paths[0]!, ...data]);

  // The CLI runs the command in the folder it was set from (the evaluator's, where it writes seen.txt): here an absolute script path too.
  const absolute = `"${process.execPath}" '${join(dir, 'my eval.mjs')}' {checkpoint}`;
  const set = await runCliJson<ZooSummary>(['zoo', 'set-evaluator', 'orig', absolute, '--timeout', '120', ...data], { cwd: dir });
  assert.equal(set.evaluator?.cwd, dir);
  assert.equal(set.evaluator?.command, absolute);
  assert.equal(set.evaluator?.timeoutSeconds, 120);
  const shown = await runCli(['zoo', 'show', 'orig', ...data]);
  assert.ok(shown.stdout.includes(`evaluator: ${absolute}`), shown.stdout);

  const result = await runCliJson<{ zoos: (ZooEvaluationInfo & { details: { generated: { accuracy: number }[] } })[] }>(['evaluate', '--zoo', 'twin', '--originals', 'orig', ...data]);
  const [zoo] = result.zoos;
  assert.equal(zoo!.task, 'command');
  close(zoo!.originals.best!, Math.max(...files.sums.map(predicted)), 'originals best');
  zoo!.details.generated.forEach((m, i) => {
    close(m.accuracy, predicted(files.sums[[2, 0][i]!]!), `twin model ${i}`);
  });
  const table = await runCli(['evaluate', '--zoo', 'twin', '--originals', 'orig', ...data]);
  assert.match(table.stdout, /twin \(command\)/);

  const bad = await runCli(['zoo', 'set-evaluator', 'orig', 'python eval.py', ...data]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /no word contains \{checkpoint\}/);
  const badTimeout = await runCli(['zoo', 'set-evaluator', 'orig', absolute, '--timeout', '0', ...data]);
  assert.equal(badTimeout.code, 1);
  assert.match(badTimeout.stderr, /--timeout/);
  await runCliJson(['zoo', 'create', 'digits', '--task', 'digits-mlp', ...data]);
  const onTask = await runCli(['zoo', 'set-evaluator', 'digits', absolute, ...data]);
  assert.equal(onTask.code, 1);
  assert.match(onTask.stderr, /scored on its built-in task digits-mlp/);
  const cleared = await runCliJson<ZooSummary>(['zoo', 'set-evaluator', 'orig', '--clear', ...data]);
  assert.equal(cleared.evaluator, null);
});
