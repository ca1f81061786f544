// Compute jobs run in the compute worker (engine/compute.ts), so the engine's own thread answers
// requests while a training step computes; the worker gives the same run for a seed as the engine's
// thread does, its errors arrive as the engine's errors, a cancel reaches it, and a process that
// used it exits by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { EngineError } from '../engine/errors.js';
import { CancelledError } from '../engine/errors.js';
import type { TrainJobResult } from '../engine/protocol.js';
import { receiveError, sendError } from '../engine/compute-messages.js';
import { createEngineService, runJob, type EngineService } from '../engine/service.js';
import { EngineError as EngineErrorClass } from '../engine/errors.js';
import { PROJECT_ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

/** a generator small enough for seconds of training on 2 cores */
const SMALL = { tokenSize: 64, recurrentWidth: 32, recurrentLayers: 1, denoiserChannels: [8, 16, 8], timeFeatures: 32, diffusionBatch: 8 };

async function withZoo(compute: 'worker' | 'inline', body: (service: EngineService) => Promise<void>): Promise<void> {
  const service = createEngineService({ dataDir: tempDir(), compute });
  try {
    await runJob(service, 'collect', { task: 'digits-mlp', zoo: 'small', seeds: 1, checkpointsPerSeed: 2, epochs: 0, backend: 'wasm' });
    await body(service);
  } finally {
    await service.close();
  }
}

/**
 * Steps of a few hundred ms on one thread (the quick demo's generator, 4× its diffusion batch): long
 * enough that a step is many timer turns, whatever the machine.
 */
const HEAVY = { tokenSize: 256, recurrentWidth: 128, recurrentLayers: 1, denoiserChannels: [16, 32, 16], timeFeatures: 64, diffusionBatch: 256 };

test('requests are answered while a training step computes: many answers per step, between its step events', async () => {
  await withZoo('worker', async (service) => {
    // What the engine's thread saw, in order: the first event of each training step, and answers.
    const timeline: ({ type: 'step'; step: number } | { type: 'answer' })[] = [];
    let lastStep = 0;
    let stop = false;
    // A client asking again as soon as it has its answer, a timer turn later (as a transport's messages arrive).
    const ask = (): void => {
      if (stop) return;
      void service.request('zoo.list', {}).then((zoos) => {
        assert.equal(zoos[0]!.name, 'small');
        timeline.push({ type: 'answer' });
        setTimeout(ask, 2);
      });
    };
    const result = (await runJob(service, 'train', { zoo: 'small', steps: 4, set: HEAVY, threads: 1, backend: 'wasm' }, (progress) => {
      const step = progress.metrics.step;
      if (typeof step !== 'number' || step === lastStep) return;
      if (lastStep === 0) ask();
      lastStep = step;
      timeline.push({ type: 'step', step });
    })) as TrainJobResult;
    stop = true;
    assert.equal(result.steps, 4);
    // Answers per training step between consecutive step events. Had the step run on the engine's
    // thread, a request could only be answered where the step awaits (a token read per checkpoint:
    // two here), so a handful per step at most; in the worker the thread is free the whole step.
    const perStep: number[] = [];
    let from: number | null = null;
    let answers = 0;
    for (const entry of timeline) {
      if (entry.type === 'answer') answers += 1;
      else {
        if (from !== null) perStep.push(answers / (entry.step - from));
        from = entry.step;
        answers = 0;
      }
    }
    assert.ok(perStep.length >= 1, `step events: ${timeline.filter((e) => e.type === 'step').length}`);
    assert.ok(Math.max(...perStep) >= 10, `answers per step between step events: ${perStep.map((x) => x.toFixed(1)).join(', ')}`);
  });
});

/** Each thread's nice value in this process (Linux /proc), by thread id. */
function threadNiceness(): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    // after "(comm)" the fields are: state ppid … ; nice is field 19 of the whole line
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nice.set(Number(tid), Number(fields[16]));
  }
  return nice;
}

test("compute runs below normal priority, and the engine's thread does not (the app's window and requests come first)", {
  skip: process.platform === 'linux' ? false : 'reads thread priorities from /proc (Linux)',
}, async () => {
  const before = threadNiceness();
  await withZoo('worker', async (service) => {
    const read: { threads?: Map<number, number> } = {};
    await runJob(service, 'train', { zoo: 'small', steps: 3, set: SMALL, threads: 2, backend: 'wasm' }, (progress) => {
      if (typeof progress.metrics.step === 'number') read.threads ??= threadNiceness();
    });
    const seen = read.threads;
    assert.ok(seen, 'threads read while training');
    const niced = [...seen].filter(([tid, nice]) => !before.has(tid) && nice > 0);
    // the compute worker's thread and the wasm threads it started
    assert.ok(niced.length >= 2, `threads below normal priority while training: ${niced.length}`);
    assert.ok(
      niced.every(([, nice]) => nice === 10),
      JSON.stringify(niced),
    );
    assert.equal(seen.get(process.pid), before.get(process.pid), "the engine's own thread keeps its priority");
  });
});

test("the same seed gives the same run in the compute worker and on the engine's thread", async () => {
  const runs: { loss: number[]; sha256: string | null; result: TrainJobResult }[] = [];
  for (const compute of ['worker', 'inline'] as const) {
    await withZoo(compute, async (service) => {
      const result = (await runJob(service, 'train', { zoo: 'small', steps: 4, set: { ...SMALL, seed: 7 }, backend: 'wasm' })) as TrainJobResult;
      const run = await service.request('run.show', { id: result.run });
      const row = service.catalog().db.prepare('SELECT generator_sha256 AS sha256 FROM runs WHERE id = ?').get(result.run) as { sha256: string | null };
      runs.push({ loss: run.lossCurve, sha256: row.sha256, result });
    });
  }
  const [worker, inline] = runs;
  assert.equal(worker!.loss.length, 4);
  assert.deepEqual(worker!.loss, inline!.loss);
  assert.ok(worker!.sha256);
  assert.equal(worker!.sha256, inline!.sha256, 'the saved generator states are the same bytes');
  assert.equal(worker!.result.backend, inline!.result.backend);
});

test("a compute job's errors arrive as the engine's errors; a cancel reaches the worker; engine.info names its backend", async () => {
  await withZoo('worker', async (service) => {
    const info = await service.request('engine.info', {});
    assert.equal(info.backend?.name, 'wasm', 'the backend the collect job chose in the worker');

    // resume with a config of its own: refused with a hint and the request fields it names
    await assert.rejects(runJob(service, 'train', { zoo: 'small', resume: 'run_0000000000000000', set: SMALL }), (error: EngineError) => {
      assert.ok(error instanceof EngineErrorClass);
      assert.equal(error.code, 'bad_option');
      assert.match(error.hint ?? '', /leave out/);
      assert.ok(error.fields?.includes('resume') && error.fields.includes('set'), String(error.fields));
      return true;
    });
    await assert.rejects(runJob(service, 'train', { zoo: 'missing' }), { code: 'zoo_not_found' });

    let cancelledAt: number | undefined;
    const training = runJob(service, 'train', { zoo: 'small', steps: 100_000, set: SMALL, backend: 'wasm' }, (progress, job) => {
      if (cancelledAt === undefined && typeof progress.metrics.step === 'number') {
        cancelledAt = progress.metrics.step;
        void service.request('job.cancel', { id: job.id });
      }
    });
    await assert.rejects(training, (error: unknown) => error instanceof CancelledError);
    const [job] = await service.request('job.list', {});
    assert.equal(job!.status, 'cancelled');
    const [run] = await service.request('run.list', { zoo: 'small' });
    assert.equal(run!.status, 'cancelled', 'the run row the worker wrote says so too');
  });
});

test('errors keep their code, hint, file and fields across the boundary, and a bug its class and stack', () => {
  const clone = <T>(value: T): T => structuredClone(value);
  const engine = receiveError(clone(sendError(new EngineErrorClass('bad_setting', "'lr' must be > 0", { hint: 'e.g. 1e-3', fields: ['set'], file: '/x' }))), 'job_1');
  assert.ok(engine instanceof EngineErrorClass);
  assert.deepEqual((engine as EngineError).toInfo(), { code: 'bad_setting', message: "'lr' must be > 0", hint: 'e.g. 1e-3', fields: ['set'], file: '/x' });
  assert.ok(receiveError(clone(sendError(new CancelledError('training'))), 'job_1') instanceof CancelledError);
  const bug = new TypeError('x is not a function');
  const received = receiveError(clone(sendError(bug)), 'job_1');
  assert.ok(received instanceof TypeError);
  assert.equal(received.stack, bug.stack);
});

test('a process whose compute job ended exits by itself, without closing the service', () => {
  const script = `
    const { createEngineService, runJob } = await import('./engine/service.ts');
    const service = createEngineService({ dataDir: ${JSON.stringify(tempDir())} });
    const result = await runJob(service, 'collect', { task: 'digits-mlp', zoo: 'z', seeds: 1, checkpointsPerSeed: 1, epochs: 0, backend: 'wasm', threads: 2 });
    console.log(result.zoo);`;
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    killSignal: 'SIGKILL',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(stdout.trim(), 'z');
});
