import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCatalog, type Catalog } from '../engine/catalog/db.js';
import { getJob } from '../engine/catalog/jobs.js';
import { JobRunner, type JobEvent } from '../engine/jobs.js';
import { CancelledError, EngineError } from '../engine/errors.js';
import { startHangingJob } from './helpers/hanging-job-process.js';
import { tempDir } from './helpers/tmp.js';

function runnerOn(catalog: Catalog): { jobs: JobRunner; events: (JobEvent & { at: number })[] } {
  const events: (JobEvent & { at: number })[] = [];
  const jobs = new JobRunner(
    () => catalog.db,
    (event) => events.push({ ...event, at: Date.now() }),
  );
  return { jobs, events };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

test('a silent job still reports progress at least every second, then its result', async () => {
  const catalog = openCatalog(tempDir());
  try {
    const { jobs, events } = runnerOn(catalog);
    jobs.register('demo', async (_params, ctx) => {
      ctx.progress({ fraction: 0.25, stage: 'working', metrics: { loss: 1.5 } });
      await sleep(2300);
      return { answer: 42 };
    });
    const job = jobs.submit('demo', { size: 1 });
    assert.equal(job.status, 'queued');
    await jobs.whenIdle();
    const progress = events.filter((e) => e.type === 'job.progress');
    assert.ok(progress.length >= 4, `${progress.length} progress events`);
    const gaps = progress.slice(1).map((e, i) => e.at - progress[i]!.at);
    assert.ok(Math.max(...gaps) < 1300, `gaps ${gaps.join(', ')} ms`);
    const last = progress.at(-1)!;
    assert.equal(last.type === 'job.progress' && last.job.progress.stage, 'working');
    assert.ok(last.type === 'job.progress' && last.job.progress.etaSeconds !== null, 'an ETA once the job is under way');
    const finished = events.at(-1)!;
    assert.equal(finished.type, 'job.finished');
    assert.deepEqual(finished.type === 'job.finished' && finished.result, { answer: 42 });
    const stored = getJob(catalog.db, job.id)!;
    assert.equal(stored.status, 'succeeded');
    assert.deepEqual(stored.result, { answer: 42 });
    assert.equal(stored.progress.fraction, 1);
    assert.ok(stored.startedAt && stored.finishedAt);
    assert.deepEqual([stored.ownerPid, stored.otherProcess], [process.pid, false], 'run by this process');
  } finally {
    catalog.close();
  }
});

test('jobs run one at a time in submission order; cancelling a running or queued job', async () => {
  const catalog = openCatalog(tempDir());
  try {
    const { jobs, events } = runnerOn(catalog);
    const order: string[] = [];
    jobs.register('demo', async (params: { name: string; ms: number }, ctx) => {
      order.push(`start ${params.name}`);
      await sleep(params.ms, ctx.signal);
      order.push(`end ${params.name}`);
      return params.name;
    });
    const a = jobs.submit('demo', { name: 'a', ms: 50 });
    const b = jobs.submit('demo', { name: 'b', ms: 10_000 });
    const c = jobs.submit('demo', { name: 'c', ms: 50 });
    const d = jobs.submit('demo', { name: 'd', ms: 50 });
    // cancel d while queued, b once it runs
    assert.equal(jobs.cancel(d.id)!.status, 'cancelled');
    while (!order.includes('start b')) await sleep(5);
    jobs.cancel(b.id);
    await jobs.whenIdle();
    assert.deepEqual(order, ['start a', 'end a', 'start b', 'start c', 'end c']);
    assert.deepEqual(
      [a, b, c, d].map((job) => getJob(catalog.db, job.id)!.status),
      ['succeeded', 'cancelled', 'succeeded', 'cancelled'],
    );
    assert.equal(getJob(catalog.db, b.id)!.error!.code, 'cancelled');
    assert.ok(jobs.failure(b.id) instanceof CancelledError);
    assert.equal(events.filter((e) => e.type === 'job.failed').length, 2);
  } finally {
    catalog.close();
  }
});

test('a job that throws an EngineError fails with its message; a bug fails too and keeps its stack', async () => {
  const catalog = openCatalog(tempDir());
  try {
    const { jobs } = runnerOn(catalog);
    jobs.register('demo', async (params: { bug: boolean }) => {
      if (params.bug) throw new TypeError('undefined is not a function');
      throw new EngineError('checkpoint_unreadable', '/tmp/x.pth: not a checkpoint', { file: '/tmp/x.pth', hint: 'check it' });
    });
    const user = jobs.submit('demo', { bug: false });
    const bug = jobs.submit('demo', { bug: true });
    await jobs.whenIdle();
    assert.deepEqual(getJob(catalog.db, user.id)!.error, { code: 'checkpoint_unreadable', message: '/tmp/x.pth: not a checkpoint', file: '/tmp/x.pth', hint: 'check it' });
    assert.equal(getJob(catalog.db, bug.id)!.status, 'failed');
    assert.equal(getJob(catalog.db, bug.id)!.error!.code, 'internal');
    assert.ok(jobs.failure(bug.id) instanceof TypeError);
  } finally {
    catalog.close();
  }
});

test('a job whose process is killed is marked interrupted when the catalog is next opened', async () => {
  const dataDir = tempDir();
  const { child, id: jobId } = await startHangingJob(dataDir);
  // While its process lives, opening the catalog elsewhere (the CLI beside the app) leaves it alone.
  const beside = openCatalog(dataDir);
  assert.equal(getJob(beside.db, jobId)!.status, 'running');
  beside.close();

  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  const catalog = openCatalog(dataDir);
  try {
    const job = getJob(catalog.db, jobId)!;
    assert.equal(job.status, 'interrupted');
    assert.equal(job.error!.code, 'interrupted');
    assert.ok(job.finishedAt);
  } finally {
    catalog.close();
  }
});
