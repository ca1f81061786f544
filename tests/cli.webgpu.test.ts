// The whole path a user takes, on WebGPU (`--backend webgpu`): the CLI's compute worker collects a
// small CNN zoo (conv kernels and their gradients), trains a generator, generates and evaluates,
// each job reporting the webgpu backend; `paramzoo info` names the adapter. On CI the adapter is
// Mesa's lavapipe (a correctness check: it computes on the CPU).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendInfo, CollectJobResult, EvaluateJobResult, GenerateJobResult, TrainJobResult } from '../engine/protocol.js';
import { runCliJson } from './helpers/cli.js';
import { smallGeneratorOptions } from './helpers/small-generator.js';
import { webgpuSkip } from './helpers/backends.js';
import { tempDir } from './helpers/tmp.js';

test('collect, train, generate and evaluate with --backend webgpu: the jobs compute on webgpu, and info names the adapter', { skip: webgpuSkip }, async () => {
  const data = ['--data', tempDir(), '--backend', 'webgpu'];
  const info = await runCliJson<{ backend: BackendInfo }>(['info', ...data]);
  assert.equal(info.backend.name, 'webgpu');
  assert.ok(info.backend.adapter, 'the adapter is reported');
  assert.equal(typeof info.backend.adapter.software, 'boolean');
  assert.ok(info.backend.adapter.maxBufferBytes >= 2 ** 27, `largest buffer ${info.backend.adapter.maxBufferBytes}`);

  const collected = await runCliJson<CollectJobResult>(['collect', 'digits-cnn', '--zoo', 'cnn', '--seeds', '2', '--checkpoints', '2', '--epochs', '2', ...data]);
  assert.equal(collected.backend, 'webgpu');
  assert.equal(collected.checkpoints, 4);
  assert.ok(collected.accuracy.min! > 50, `the CNNs trained on webgpu learned: ${JSON.stringify(collected.accuracy)}`);

  const trained = await runCliJson<TrainJobResult>(['train', 'cnn', '--steps', '40', ...smallGeneratorOptions({ checkEvery: '0' }), ...data]);
  assert.ok(Number.isFinite(trained.finalLoss) && trained.finalLoss < 1, `final loss ${trained.finalLoss}`);

  const generated = await runCliJson<GenerateJobResult>(['generate', trained.run, '--count', '2', '--seed', '1', ...data]);
  assert.equal(generated.models.length, 2);

  const evaluated = await runCliJson<EvaluateJobResult>(['evaluate', trained.run, ...data]);
  const [zoo] = evaluated.zoos;
  assert.equal(zoo!.originals.avg, collected.accuracy.avg, 'the originals score the same as when collected');
  assert.ok(zoo!.generated.avg !== null && Number.isFinite(zoo!.generated.avg), `generated models were scored: ${JSON.stringify(zoo!.generated)}`);
});
