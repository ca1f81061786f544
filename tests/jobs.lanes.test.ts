// Two lanes of jobs (engine/jobs.ts): short I/O jobs (import, export) run on the engine's thread
// beside a long compute job instead of queueing behind it; compute jobs run in submission order,
// each only once every I/O job submitted before it has ended (a train right after an import into
// its zoo sees the imported checkpoints).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { EngineEvent, ExportResult, JobInfo, TrainJobResult } from '../engine/protocol.js';
import { openCatalog } from '../engine/catalog/db.js';
import { getJob } from '../engine/catalog/jobs.js';
import { JobRunner, laneOf } from '../engine/jobs.js';
import { createEngineService, runJob, type EngineService } from '../engine/service.js';
import { loadGeneratorBlob } from '../engine/pipeline/generator-blob.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A gate a fake job waits at until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

test('import and export are I/O jobs; collect, train, generate, evaluate and demo compute', () => {
  assert.deepEqual(
    ['import', 'export'].map((kind) => laneOf(kind as never)),
    ['io', 'io'],
  );
  assert.deepEqual(
    ['collect', 'train', 'generate', 'evaluate', 'demo'].map((kind) => laneOf(kind as never)),
    ['compute', 'compute', 'compute', 'compute', 'compute'],
  );
});

test('an I/O job runs beside a running compute job; a compute job waits for every I/O job submitted before it', async () => {
  const catalog = openCatalog(tempDir());
  try {
    const jobs = new JobRunner(
      () => catalog.db,
      () => undefined,
    );
    const order: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const fake = async ({ name }: { name: string }) => {
      order.push(`start ${name}`);
      await gates.get(name)?.wait;
      order.push(`end ${name}`);
      return name;
    };
    jobs.register('train', fake);
    jobs.register('import', fake);
    const until = async (entry: string) => {
      while (!order.includes(entry)) await sleep(2);
    };

    // A long compute job runs; an import submitted after it does not wait for it.
    gates.set('train-1', gate());
    jobs.submit('train', { name: 'train-1' });
    await until('start train-1');
    jobs.submit('import', { name: 'import-1' });
    await until('end import-1');
    assert.deepEqual(order, ['start train-1', 'start import-1', 'end import-1']);
    gates.get('train-1')!.open();
    await jobs.whenIdle();

    // The compute lane is free, yet a train submitted after an import waits for that import.
    order.length = 0;
    gates.set('import-2', gate());
    jobs.submit('import', { name: 'import-2' });
    const queuedImport = jobs.submit('import', { name: 'import-3' });
    jobs.submit('train', { name: 'train-2' });
    await until('start import-2');
    await sleep(50);
    assert.deepEqual(order, ['start import-2'], 'the train waits while an import before it runs');
    // a cancelled import it waited for no longer holds it; the one still running does
    jobs.cancel(queuedImport.id);
    await sleep(50);
    assert.deepEqual(order, ['start import-2']);
    gates.get('import-2')!.open();
    await jobs.whenIdle();
    assert.deepEqual(order, ['start import-2', 'end import-2', 'start train-2', 'end train-2']);
    assert.equal(getJob(catalog.db, queuedImport.id)!.status, 'cancelled');
  } finally {
    catalog.close();
  }
});

/** a generator small enough for seconds of training on 2 cores */
const SMALL = { tokenSize: 64, recurrentWidth: 32, recurrentLayers: 1, denoiserChannels: [8, 16, 8], timeFeatures: 32, diffusionBatch: 8 };

/** Starts a job by request and resolves with its final JobInfo (events are watched from before the request). */
async function started(service: EngineService, start: () => Promise<{ job: JobInfo }>): Promise<{ job: JobInfo; ended: Promise<JobInfo> }> {
  let id: string | null = null;
  const seen: EngineEvent[] = [];
  let settle: ((job: JobInfo) => void) | null = null;
  const ended = new Promise<JobInfo>((resolve) => (settle = resolve));
  const check = (event: EngineEvent) => {
    if ((event.type === 'job.finished' || event.type === 'job.failed') && event.job.id === id) settle!(event.job);
  };
  const unsubscribe = service.subscribe((event) => (id === null ? seen.push(event) : check(event)));
  const { job } = await start();
  id = job.id;
  seen.forEach(check);
  void ended.then(unsubscribe);
  return { job, ended };
}

test('an import into one zoo completes while a train job on another runs', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  try {
    await runJob(service, 'collect', { task: 'digits-mlp', zoo: 'digits', seeds: 1, checkpointsPerSeed: 2, epochs: 0, backend: 'wasm' });
    await service.request('zoo.create', { name: 'cnn' });
    let training: JobInfo | null = null;
    const trainDone = runJob(service, 'train', { zoo: 'digits', steps: 100_000, set: SMALL, backend: 'wasm' }, (progress, job) => {
      if (typeof progress.metrics.step === 'number') training = job;
    }).catch((error: unknown) => error);
    while (!training) await sleep(20);
    const trainJob = training as JobInfo;

    const { ended } = await started(service, () => service.request('import', { zoo: 'cnn', paths: [join(FIXTURES, 'tiny_cnn.pth')] }));
    const imported = await ended;
    assert.equal(imported.status, 'succeeded');
    assert.equal(getJob(service.catalog().db, trainJob.id)!.status, 'running', 'the train job still runs when the import has finished');
    assert.equal((await service.request('zoo.show', { name: 'cnn' })).checkpoints.length, 1);

    await service.request('job.cancel', { id: trainJob.id });
    assert.equal(((await trainDone) as { code?: string }).code, 'cancelled');
  } finally {
    await service.close();
  }
});

test('a train submitted right after an import into the same zoo sees the imported checkpoints', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  try {
    for (const [zoo, seed] of [
      ['a', 1],
      ['b', 2],
    ] as const) {
      await runJob(service, 'collect', { task: 'digits-mlp', zoo, seeds: 1, checkpointsPerSeed: 2, epochs: 0, seed, backend: 'wasm' });
    }
    const files: string[] = [];
    const out = tempDir();
    for (const checkpoint of (await service.request('zoo.show', { name: 'b' })).checkpoints) {
      files.push(((await runJob(service, 'export', { id: checkpoint.id, out: join(out, `${checkpoint.id}.safetensors`) })) as ExportResult).path);
    }

    // Both submitted at once, the import first: nothing waits in between.
    const importing = await started(service, () => service.request('import', { zoo: 'a', paths: files }));
    const training = await started(service, () => service.request('train', { zoo: 'a', steps: 2, set: SMALL, backend: 'wasm' }));
    const [imported, trained] = await Promise.all([importing.ended, training.ended]);
    assert.equal(imported.status, 'succeeded');
    assert.equal(trained.status, 'succeeded', JSON.stringify(trained.error));
    assert.ok(trained.startedAt! >= imported.finishedAt!, `train started ${trained.startedAt}, import finished ${imported.finishedAt}`);

    const { run } = trained.result as TrainJobResult;
    const row = service.catalog().db.prepare('SELECT generator_sha256 AS sha256 FROM runs WHERE id = ?').get(run) as { sha256: string };
    const { stats } = await loadGeneratorBlob(service.blobs, row.sha256);
    assert.equal(stats.checkpoints, 4, 'the run learned the two collected and the two imported checkpoints');
  } finally {
    await service.close();
  }
});
