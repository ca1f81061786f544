// Jobs another process runs on the same data folder (the CLI beside the app) are rows of the
// catalog's jobs table: a service that follows them (the app's hosts do) reports their progress and
// end as its own events, and cancelling one asks its process to cancel it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent, JobInfo } from '../engine/protocol.js';
import { createEngineService } from '../engine/service.js';
import { runCli } from './helpers/cli.js';
import { startHangingJob } from './helpers/hanging-job-process.js';
import { tempDir } from './helpers/tmp.js';

async function until<T>(find: () => T | undefined, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("a collect the CLI runs shows its progress in the app's service, and a cancel from there stops it", async () => {
  const dataDir = tempDir();
  const service = createEngineService({ dataDir });
  const events: EngineEvent[] = [];
  service.subscribe((event) => events.push(event));
  service.jobs.followOtherProcesses(200);
  try {
    service.catalog();
    const cli = runCli(['collect', 'digits-mlp', '--zoo', 'from-cli', '--data', dataDir, '--json']);
    const jobEvents = (id?: string) => events.filter((e): e is Extract<EngineEvent, { job: JobInfo }> => 'job' in e && (id === undefined || e.job.id === id));
    const running = await until(
      () => jobEvents().find((e) => e.type === 'job.progress' && e.job.kind === 'collect' && e.job.status === 'running' && e.job.progress.fraction > 0),
      "the CLI's collect under way",
    );
    const { id } = running.job;
    assert.ok(service.jobs.laneOfJob(id) === null, 'not a job of this service');
    const listed = (await service.request('job.list', {})).find((job) => job.id === id)!;
    assert.equal(listed.otherProcess, true, 'listed as started by another process');
    assert.ok(listed.ownerPid !== null && listed.ownerPid !== process.pid, `owner pid ${listed.ownerPid}`);

    const asked = await service.request('job.cancel', { id });
    assert.equal(asked.status, 'running', 'its own process ends it');
    const ended = await until(() => jobEvents(id).find((e) => e.type === 'job.failed' || e.type === 'job.finished'), 'the end of the CLI job');
    assert.equal(ended.type, 'job.failed');
    assert.equal(ended.job.status, 'cancelled');
    const { code, stderr } = await cli;
    assert.equal(code, 1, stderr);
    assert.match(stderr, /cancelled/);
    assert.equal((await service.request('job.get', { id })).status, 'cancelled');
  } finally {
    await service.close();
  }
});

test('a job whose process was killed is reported interrupted; cancelling it asks no one', async () => {
  const dataDir = tempDir();
  const service = createEngineService({ dataDir });
  const events: EngineEvent[] = [];
  service.subscribe((event) => events.push(event));
  service.jobs.followOtherProcesses(100);
  try {
    const { child, id } = await startHangingJob(dataDir);
    await until(() => events.find((e) => e.type === 'job.progress' && e.job.id === id), 'the hanging job followed');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const ended = await until(() => events.find((e) => e.type === 'job.failed' && e.job.id === id), 'the killed job reported');
    assert.equal(ended.type === 'job.failed' && ended.job.status, 'interrupted');
    assert.equal((await service.request('job.cancel', { id })).status, 'interrupted');
  } finally {
    await service.close();
  }
});

test('a live process picks up a cancel request for its job within a heartbeat', async () => {
  const dataDir = tempDir();
  const service = createEngineService({ dataDir });
  try {
    const { child, id } = await startHangingJob(dataDir);
    try {
      await service.request('job.cancel', { id });
      const job = await until(
        () => {
          const now = service.catalog().db.prepare('SELECT status FROM jobs WHERE id = ?').get(id) as { status: string };
          return now.status === 'running' ? undefined : now;
        },
        'the owner to cancel it',
        30_000,
      );
      assert.equal(job.status, 'cancelled');
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await service.close();
  }
});
