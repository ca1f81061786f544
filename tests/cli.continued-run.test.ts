// A finished run continued for more steps generates from a new state: `evaluate RUN` scores the
// generator as it is now (generating 10 models when it has none of that state) and says how many
// models of earlier steps it left out, instead of averaging the two states together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCatalog } from '../engine/catalog/db.js';
import { generatedModels } from '../engine/catalog/generated-models.js';
import type { CollectJobResult, EvaluateJobResult, GenerateJobResult, TrainJobResult } from '../engine/protocol.js';
import type { ZooEvaluation } from '../engine/zoo/evaluate.js';
import { runCli, runCliJson } from './helpers/cli.js';
import { smallGeneratorOptions } from './helpers/small-generator.js';
import { tempDir } from './helpers/tmp.js';

test('evaluate scores the models of the run as it is now and names those of earlier steps', async () => {
  const dataDir = tempDir();
  const data = ['--data', dataDir, '--backend', 'wasm'];
  const collected = await runCliJson<CollectJobResult>(['collect', 'digits-mlp', '--zoo', 'mlp', '--seeds', '2', '--checkpoints', '2', '--epochs', '3', ...data]);
  assert.equal(collected.checkpoints, 4);
  const trained = await runCliJson<TrainJobResult>(['train', 'mlp', '--steps', '10', ...smallGeneratorOptions({ checkEvery: '0' }), ...data]);
  const early = await runCliJson<GenerateJobResult>(['generate', trained.run, '--count', '2', ...data]);
  assert.equal(early.batchNormImages, null, 'an MLP has no BatchNorm');

  await runCliJson<TrainJobResult>(['train', 'mlp', '--resume', trained.run, '--steps', '20', ...data]);
  const evaluated = await runCliJson<EvaluateJobResult>(['evaluate', trained.run, ...data]);
  assert.deepEqual(evaluated.earlierModels, { count: 2, steps: [10] });
  const details = evaluated.zoos[0]!.details as ZooEvaluation['details'];
  assert.equal(details.generated.length, 10, 'ten models of the continued state were generated and scored');
  const scored = new Set(details.generated.map((g) => g.id));
  for (const model of early.models) assert.ok(!scored.has(model.id), `${model.id} (step 10) must not be scored`);

  const catalog = openCatalog(dataDir);
  try {
    assert.deepEqual(
      generatedModels(catalog.db, trained.run).map((m) => m.runStep),
      [10, 10, ...Array<number>(10).fill(20)],
    );
  } finally {
    catalog.close();
  }
  const text = await runCli(['evaluate', trained.run, ...data]);
  assert.match(text.stdout, /2 models generated at step 10, before the run was continued, not scored/);
});
