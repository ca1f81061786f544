// Generated CNNs (a built-in task with BatchNorm) are stored with their running statistics measured
// on training images, as a user exports them; `--batch-norm generated` keeps the generated values.
// The two differ in the running statistics only, and the exported file says which it holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initBackend } from '../engine/backend.js';
import { BlobStore } from '../engine/blobs.js';
import { readBlobTensors } from '../engine/pipeline/stored.js';
import { openCheckpoint } from '../engine/formats/index.js';
import type { TensorData } from '../engine/formats/types.js';
import type { CollectJobResult, EvaluateJobResult, GenerateJobResult, TrainJobResult } from '../engine/protocol.js';
import { checkSplitIndices } from '../engine/zoo/datasets/index.js';
import { DIGITS_TRAIN_COUNT } from '../engine/zoo/datasets/digits.js';
import { getTask } from '../engine/zoo/index.js';
import { runCliJson } from './helpers/cli.js';
import { smallGeneratorOptions } from './helpers/small-generator.js';
import { tempDir } from './helpers/tmp.js';

await initBackend('wasm');

/** The model as a user exports it, and what its stored blob records about its generation. */
async function exported(model: GenerateJobResult['models'][number], dataDir: string): Promise<{ tensors: TensorData[]; generated: Record<string, unknown> }> {
  const path = join(tempDir(), `${model.id}.safetensors`);
  await runCliJson(['export', model.id, '--out', path, '--data', dataDir]);
  const opened = await openCheckpoint(path);
  try {
    const tensors: TensorData[] = [];
    for (const entry of opened.tensors) tensors.push({ name: entry.name, dtype: entry.dtype, shape: entry.shape, data: await entry.read() });
    const { metadata } = await readBlobTensors(new BlobStore(join(dataDir, 'blobs')), model.sha256);
    return { tensors, generated: JSON.parse(metadata['paramzoo.generated']!) };
  } finally {
    await opened.close();
  }
}

test('generated CNNs are stored with measured BatchNorm statistics; --batch-norm generated keeps the generated ones', async () => {
  const dataDir = tempDir();
  const data = ['--data', dataDir, '--backend', 'wasm'];
  const collected = await runCliJson<CollectJobResult>(['collect', 'digits-cnn', '--zoo', 'cnn', '--seeds', '2', '--checkpoints', '2', '--epochs', '2', ...data]);
  assert.equal(collected.checkpoints, 4);
  const trained = await runCliJson<TrainJobResult>(['train', 'cnn', '--steps', '20', ...smallGeneratorOptions({ checkEvery: '0' }), ...data]);

  const measured = await runCliJson<GenerateJobResult>(['generate', trained.run, '--count', '1', '--seed', '4', ...data]);
  const usable = DIGITS_TRAIN_COUNT - checkSplitIndices(DIGITS_TRAIN_COUNT).length;
  assert.equal(measured.batchNormImages, usable);
  const evaluated = await runCliJson<EvaluateJobResult>(['evaluate', trained.run, ...data]);
  assert.equal(evaluated.zoos[0]!.batchNormImages, usable, 'the evaluation says how the statistics were made');
  const kept = await runCliJson<GenerateJobResult>(['generate', trained.run, '--count', '1', '--seed', '4', '--batch-norm', 'generated', ...data]);
  assert.equal(kept.batchNormImages, null);
  assert.notEqual(measured.models[0]!.sha256, kept.models[0]!.sha256);
  const mixed = await runCliJson<EvaluateJobResult>(['evaluate', trained.run, ...data]);
  assert.equal(mixed.zoos[0]!.batchNormImages, undefined, 'not said of models some of which keep generated statistics');

  const withMeasured = await exported(measured.models[0]!, dataDir);
  const withGenerated = await exported(kept.models[0]!, dataDir);
  assert.equal(withMeasured.generated.batchNormImages, usable, 'the stored model says its statistics were measured');
  assert.equal(withGenerated.generated.batchNormImages, null);
  const generatedByName = new Map(withGenerated.tensors.map((t) => [t.name, t]));
  for (const t of withMeasured.tensors) {
    const other = generatedByName.get(t.name)!;
    if (/running_(mean|var)$/.test(t.name)) assert.notDeepEqual(t.data, other.data, `${t.name} is measured, not generated`);
    else assert.deepEqual(t.data, other.data, `${t.name}: the same generated weights`);
  }
  // What is stored is what measuring the generated model gives.
  const task = getTask('digits-cnn');
  assert.deepEqual((await task.reestimateBatchNorm!(withGenerated.tensors)).tensors, withMeasured.tensors);

  await assert.rejects(runCliJson(['generate', trained.run, '--batch-norm', 'both', ...data]), /--batch-norm must be reestimate or generated/);
});
