// Cancelling a generate job (through the service's job.cancel) keeps the models that were finished,
// each with its row and blob, and leaves no half-written blob: no temp file, no blob without a row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainJobResult } from '../engine/protocol.js';
import { createEngineService, runJob } from '../engine/service.js';
import { tempDir } from './helpers/tmp.js';

test('a generate job cancelled mid-model keeps its finished models and leaves no half blob', async () => {
  const dataDir = tempDir();
  const service = createEngineService({ dataDir });
  try {
    await runJob(service, 'collect', { task: 'digits-mlp', zoo: 'small', seeds: 1, checkpointsPerSeed: 2, epochs: 0 });
    const set = { tokenSize: 64, recurrentWidth: 32, recurrentLayers: 1, denoiserChannels: [8, 16, 8], timeFeatures: 32, diffusionBatch: 8 };
    const trained = (await runJob(service, 'train', { zoo: 'small', steps: 2, set })) as TrainJobResult;
    const blobsBefore = new Set(await service.blobs.list());

    // Sequential mode: one token per chunk, so the cancel lands while the second model's blob is half written.
    let cancelledDuring: string | undefined;
    const generating = runJob(service, 'generate', { run: trained.run, count: 5, mode: 'sequential', samplerSteps: 2 }, (progress, job) => {
      if (cancelledDuring === undefined && (progress.metrics?.models ?? 0) >= 1) {
        cancelledDuring = progress.stage;
        void service.request('job.cancel', { id: job.id });
      }
    });
    await assert.rejects(generating, (error: unknown) => (error as { code?: string }).code === 'cancelled');
    assert.match(cancelledDuring ?? '', /generating model 2\/5/, 'cancelled while the second model was being written');

    const db = service.catalog().db;
    const rows = db.prepare('SELECT sha256 FROM generated_models WHERE run_id = ?').all(trained.run) as { sha256: string }[];
    assert.ok(rows.length >= 1 && rows.length < 5, `${rows.length} generated models kept`);
    const blobsAfter = await service.blobs.list();
    const added = blobsAfter.filter((sha) => !blobsBefore.has(sha)).sort();
    assert.deepEqual(added, rows.map((r) => r.sha256).sort(), 'the new blobs are exactly the finished models');
    const temps = readdirSync(join(dataDir, 'blobs')).filter((name) => /tmp/.test(name));
    assert.deepEqual(temps, [], 'no temp file left behind');
  } finally {
    await service.close();
  }
});
