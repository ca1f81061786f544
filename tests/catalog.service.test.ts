import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineEvent, ExportResult, ImportResult } from '../engine/protocol.js';
import { CancelledError, EngineError } from '../engine/errors.js';
import { createEngineService, runJob } from '../engine/service.js';
import { snapshotCatalog } from './helpers/catalog.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

test('the service answers every foundation request and reports jobs and catalog changes as events', async () => {
  const dataDir = tempDir();
  const service = createEngineService({ dataDir });
  const events: EngineEvent[] = [];
  service.subscribe((event) => events.push(event));
  try {
    const info = await service.request('engine.info', {});
    assert.equal(info.dataDir, dataDir);
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.equal((await service.request('inspect', { path: join(FIXTURES, 'tiny_cnn.pth') })).format, 'pth');

    await service.request('zoo.create', { name: 'cnn' });
    const progress: number[] = [];
    const imported = (await runJob(service, 'import', { zoo: 'cnn', paths: [join(FIXTURES, 'tiny_cnn.pth')] }, (p) => progress.push(p.fraction))) as ImportResult;
    assert.equal(imported.imported.length, 1);
    assert.ok(progress.length >= 3 && progress.every((f, i) => i === 0 || f >= progress[i - 1]!), `progress ${progress.join(' ')}`);
    assert.deepEqual(
      (await service.request('zoo.list', {})).map((z) => z.checkpointCount),
      [1],
    );
    assert.equal((await service.request('zoo.show', { name: 'cnn' })).checkpoints[0]!.id, imported.imported[0]!.id);

    const out = join(tempDir(), 'out.pth');
    const exported = (await runJob(service, 'export', { id: imported.imported[0]!.id, out })) as ExportResult;
    assert.equal(exported.path, out);

    const jobs = await service.request('job.list', {});
    assert.deepEqual(
      jobs.map((j) => [j.kind, j.status]),
      [
        ['export', 'succeeded'],
        ['import', 'succeeded'],
      ],
    );
    const importJob = await service.request('job.get', { id: jobs[1]!.id });
    assert.deepEqual(importJob.result, imported);
    await assert.rejects(service.request('job.get', { id: 'job_0000000000000000' }), { code: 'job_not_found' });

    const changed = events.filter((e) => e.type === 'catalog.changed').map((e) => e.type === 'catalog.changed' && [e.what, e.zoo]);
    assert.deepEqual(changed, [
      ['zoos', 'cnn'],
      ['checkpoints', 'cnn'],
    ]);
    assert.deepEqual(events.filter((e) => e.type === 'job.finished').length, 2);
  } finally {
    await service.close();
  }
});

test('a failed import rejects runJob with the EngineError; a cancelled import leaves no rows and no new blobs', async () => {
  const dataDir = tempDir();
  const sources = tempDir();
  const paths = Array.from({ length: 30 }, (_, i) => join(sources, `copy-${String(i).padStart(2, '0')}.pth`));
  for (const path of paths) copyFileSync(join(FIXTURES, 'tiny_cnn.pth'), path);
  const service = createEngineService({ dataDir });
  try {
    await service.request('zoo.create', { name: 'cnn' });
    await assert.rejects(runJob(service, 'import', { zoo: 'cnn', paths: [join(FIXTURES, 'bad', 'truncated.pth')] }), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.file, join(FIXTURES, 'bad', 'truncated.pth'));
      return true;
    });
    const before = snapshotCatalog(dataDir);

    let cancelled = false;
    const job = runJob(service, 'import', { zoo: 'cnn', paths }, (progress, info) => {
      if (!cancelled && progress.stage.startsWith('importing 2/')) {
        cancelled = true;
        void service.request('job.cancel', { id: info.id });
      }
    });
    await assert.rejects(job, CancelledError);
    const jobs = await service.request('job.list', {});
    assert.equal(jobs[0]!.status, 'cancelled');
    assert.deepEqual(snapshotCatalog(dataDir), before);
  } finally {
    await service.close();
  }
});

test("opening the catalog removes the temps a dead writer left in the blob store, and keeps a live writer's", async () => {
  const dataDir = tempDir();
  const root = join(dataDir, 'blobs');
  mkdirSync(root, { recursive: true });
  const dead = 2 ** 22 + 12345; // above pid_max's default: no such process
  const stale = [`.tmp-${dead}-00aa.safetensors`, `..tmp-${dead}-00bb.safetensors.1234.tmp`];
  const live = `.tmp-${process.pid}-00cc.safetensors`;
  for (const name of [...stale, live]) writeFileSync(join(root, name), 'partial');
  const service = createEngineService({ dataDir });
  try {
    assert.deepEqual(readdirSync(root).sort(), [...stale, live].sort(), 'nothing is removed before the catalog opens');
    await service.request('zoo.list', {});
    // The sweep runs in the background of the open: wait for it (a second at most).
    for (let waited = 0; waited < 1000 && readdirSync(root).length > 1; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(readdirSync(root), [live]);
  } finally {
    await service.close();
  }
});
