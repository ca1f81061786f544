// The pipeline's own blob writers (collect, train, generate) hold their blobs the way imports do
// (engine/catalog/gc.ts): from before the blob is looked for until the row that references it is
// committed. Here the garbage collector runs, with no grace period, in exactly that window (right
// after every commit, before the job records its row): the first time as a real `paramzoo gc`
// process, then in-process. Every row's blob must still exist and no hold may outlive its job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BlobStore, type BlobDraft, type StoredBlob } from '../engine/blobs.js';
import { openCatalog, type Catalog } from '../engine/catalog/db.js';
import { collectGarbage } from '../engine/catalog/gc.js';
import type { JobContext } from '../engine/jobs.js';
import type { CollectJobResult, GenerateJobResult, TrainJobResult } from '../engine/protocol.js';
import { storeCheckpoint } from '../engine/pipeline/blob-writer.js';
import { runCollect } from '../engine/pipeline/collect.js';
import { runGenerate } from '../engine/pipeline/generate.js';
import { runTrain } from '../engine/pipeline/train.js';
import { runCliJson } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

/** A blob store that runs the collector between every commit and the row its writer records next. */
class CollectorInTheWindow extends BlobStore {
  catalog?: Catalog;
  dataDir = '';
  windows = 0;
  removedInWindows = 0;
  externalRuns = 0;

  override async commit(draft: BlobDraft, hold?: (sha256: string) => void): Promise<StoredBlob> {
    const blob = await super.commit(draft, hold);
    this.windows += 1;
    if (this.externalRuns === 0) {
      // another process: it sees only what this one committed
      this.externalRuns += 1;
      const result = await runCliJson<{ removed: string[] }>(['gc', '--grace', '0', '--data', this.dataDir]);
      assert.ok(!result.removed.includes(blob.sha256), 'paramzoo gc (another process) deleted a blob a live job holds');
      this.removedInWindows += result.removed.length;
    } else {
      const result = await collectGarbage(this.catalog!, this, { minAgeMs: 0 });
      assert.ok(!result.removed.includes(blob.sha256), 'gc deleted a blob a live job holds');
      this.removedInWindows += result.removed.length;
    }
    assert.ok(existsSync(this.path(blob.sha256)), 'the blob survived the collector');
    return blob;
  }
}

function jobContext(jobId: string): JobContext {
  const controller = new AbortController();
  return {
    jobId,
    signal: controller.signal,
    progress: () => undefined,
    throwIfCancelled: () => {
      if (controller.signal.aborted) throw controller.signal.reason;
    },
  };
}

function missingBlobs(catalog: Catalog, blobs: BlobStore): string[] {
  const rows = catalog.db
    .prepare(
      `SELECT 'checkpoint ' || id AS row, sha256 FROM checkpoints
     UNION ALL SELECT 'generated ' || id, sha256 FROM generated_models
     UNION ALL SELECT 'run ' || id, generator_sha256 FROM runs WHERE generator_sha256 IS NOT NULL`,
    )
    .all() as Array<{ row: string; sha256: string }>;
  return rows.filter((r) => !existsSync(blobs.path(r.sha256))).map((r) => r.row);
}

test('collect, train and generate hold their blobs: gc with no grace, run between each write and its row, deletes none', async () => {
  const dataDir = tempDir();
  const catalog = openCatalog(dataDir);
  const blobs = new CollectorInTheWindow(join(dataDir, 'blobs'));
  blobs.catalog = catalog;
  blobs.dataDir = dataDir;
  const holds = () => (catalog.db.prepare('SELECT COUNT(*) AS n FROM blob_holds').get() as { n: number }).n;
  try {
    const collected = (await runCollect(catalog, blobs, { task: 'digits-mlp', zoo: 'small', seeds: 1, checkpointsPerSeed: 2, epochs: 0 }, jobContext('job_collect'))) as CollectJobResult;
    assert.equal(collected.checkpoints, 2);
    assert.deepEqual(missingBlobs(catalog, blobs), [], 'after collect');
    assert.equal(holds(), 0, 'collect released its holds');

    const set = { tokenSize: 64, recurrentWidth: 32, recurrentLayers: 1, denoiserChannels: [8, 16, 8], timeFeatures: 32, diffusionBatch: 8 };
    const trained = (await runTrain(catalog, blobs, { zoo: 'small', steps: 2, set }, jobContext('job_train'))) as TrainJobResult;
    assert.deepEqual(missingBlobs(catalog, blobs), [], 'after train');
    assert.equal(holds(), 0, 'train released its holds');

    const generated = (await runGenerate(catalog, blobs, { run: trained.run, count: 2, samplerSteps: 2 }, jobContext('job_generate'))) as GenerateJobResult;
    assert.equal(generated.models.length, 2);
    assert.deepEqual(missingBlobs(catalog, blobs), [], 'after generate');
    assert.equal(holds(), 0, 'generate released its holds');

    assert.ok(blobs.windows >= 5, `the collector ran in ${blobs.windows} windows (2 checkpoints, ≥ 1 generator state, 2 models)`);
    assert.equal(blobs.externalRuns, 1);
  } finally {
    catalog.close();
  }
});

test('control: a blob committed without a hold is deleted by the same collector in the same window', async () => {
  const dataDir = tempDir();
  const catalog = openCatalog(dataDir);
  try {
    const blobs = new BlobStore(join(dataDir, 'blobs'));
    const { sha256 } = await storeCheckpoint(blobs, [{ name: 'w', dtype: 'F32', shape: [4], data: new Uint8Array(16) }], {});
    const result = await collectGarbage(catalog, blobs, { minAgeMs: 0 });
    assert.deepEqual(result.removed, [sha256]);
    assert.equal(existsSync(blobs.path(sha256)), false);
  } finally {
    catalog.close();
  }
});
