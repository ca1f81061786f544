// The engine service: implements every request of engine/protocol.ts on one data folder, runs
// long work as jobs (engine/jobs.ts) and publishes events. Hosts (CLI in-process, WebSocket
// server, Electron utility process) only forward requests and events.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EngineEvent, Id, ImportParams, JobInfo, JobProgress, ParamsOf, RequestName, ResultOf } from './protocol.js';
import { CancelledError, EngineError } from './errors.js';
import { BlobStore } from './blobs.js';
import { JobRunner } from './jobs.js';
import { createCompute, type ComputePlace } from './compute.js';
import { planBackendNow } from './backend.js';
import { openCatalog, type Catalog } from './catalog/db.js';
import { getJob, listJobs } from './catalog/jobs.js';
import { looksLikeId } from './catalog/ids.js';
import { countCheckpoints, listCheckpoints } from './catalog/checkpoints.js';
import { createZoo, getZoo, listZoos, setZooEvaluator, toZooSummary } from './catalog/zoos.js';
import { resolveModel } from './catalog/models.js';
import { importCheckpoints } from './pipeline/import.js';
import { exportModel, type ExportParams } from './pipeline/export.js';
import { inspectCheckpoint } from './formats/index.js';
import { installPipeline } from './service-pipeline.js';
import { installApp } from './service-app.js';
import { getTask } from './zoo/tasks/registry.js';
import { checkedEvaluator } from './zoo/evaluator-command.js';
import type { EngineService, EventListener, RequestHandler } from './service-types.js';

export interface EngineServiceOptions {
  dataDir: string;
  /** where compute jobs run: 'worker' (default; the engine's thread stays free to answer) or 'inline' (on the engine's thread) */
  compute?: ComputePlace;
}

export type { EngineService, EventListener, RequestHandler };

/** The package's version; package.json is one folder up from source, two from the build in dist/. */
function packageVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

const VERSION = packageVersion();

export function createEngineService(options: EngineServiceOptions): EngineService {
  const dataDir = resolve(options.dataDir);
  const blobs = new BlobStore(join(dataDir, 'blobs'));
  const listeners = new Set<EventListener>();
  const handlers = new Map<RequestName, (params: unknown) => unknown>();
  let opened: Catalog | null = null;

  const emit = (event: EngineEvent): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        // A host's broken listener must not fail the job that emitted the event.
        console.error('paramzoo: an event listener failed:', error);
      }
    }
  };
  const catalog = (): Catalog => {
    if (!opened) {
      opened = openCatalog(dataDir);
      void blobs.removeStaleTemps().catch(() => undefined);
    }
    return opened;
  };
  const jobs = new JobRunner(() => catalog().db, emit);
  const compute = createCompute(options.compute ?? 'worker', dataDir, catalog, blobs);

  const service: EngineService = {
    dataDir,
    blobs,
    jobs,
    compute,
    catalog,
    async request(method, params) {
      const handler = handlers.get(method);
      if (!handler) throw new EngineError('unknown_request', `this engine has no request '${String(method)}'`, { hint: 'update ParamZoo' });
      return (await handler(params ?? {})) as ResultOf<typeof method>;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit,
    handle(method, handler) {
      handlers.set(method, handler as (params: unknown) => unknown);
    },
    handleJob(method, kind, run) {
      jobs.register(kind, run);
      handlers.set(method, (params) => ({ job: jobs.submit(kind, params) }));
    },
    async close() {
      jobs.stopFollowing();
      jobs.cancelAll();
      await jobs.whenIdle();
      await compute.close();
      opened?.close();
      opened = null;
      listeners.clear();
    },
  };

  installFoundation(service);
  installPipeline(service);
  installApp(service);
  return service;
}

/** The foundation's requests: engine info, inspect, zoos, import/export jobs, job control. */
function installFoundation(service: EngineService): void {
  const db = () => service.catalog().db;

  // The backend the compute jobs chose, else the one the first will choose (planBackendNow: TensorFlow.js is not loaded; the
  // WebGPU adapter is included once found, looked for in the background so that this answers at once).
  service.handle('engine.info', () => ({ version: VERSION, dataDir: service.dataDir, backend: service.compute.knownBackend() ?? planBackendNow() }));

  service.handle('inspect', async ({ path }) => {
    requireString(path, 'path');
    if (existsSync(path) || !looksLikeId(path)) return inspectCheckpoint(path);
    // A catalog id: the stored tensors, described as the original was.
    const model = resolveModel(db(), path);
    const summary = await inspectCheckpoint(service.blobs.existingPath(model.sha256));
    return { ...summary, id: model.id, format: model.format, layout: model.layout, metadata: model.metadata, path: model.source ?? summary.path };
  });

  service.handle('zoo.create', ({ name, task }) => {
    requireString(name, 'name');
    if (task !== undefined) getTask(task); // an unknown task is refused with the known ones listed
    const zoo = createZoo(db(), name, task ?? null);
    service.emit({ type: 'catalog.changed', what: 'zoos', zoo: zoo.name });
    return toZooSummary(zoo, 0);
  });
  service.handle('zoo.list', () => listZoos(db()));
  service.handle('zoo.show', ({ name }) => {
    requireString(name, 'name');
    const zoo = getZoo(db(), name);
    return { name: zoo.name, task: zoo.task, evaluator: zoo.evaluator, signature: zoo.signature ?? [], checkpoints: listCheckpoints(db(), zoo.id) };
  });
  service.handle('zoo.setEvaluator', ({ name, command, cwd, timeoutSeconds }) => {
    requireString(name, 'name');
    const zoo = getZoo(db(), name);
    if (command !== null) {
      requireString(command, 'command');
      if (zoo.task) {
        throw new EngineError('evaluator_command', `zoo '${zoo.name}' is scored on its built-in task ${zoo.task}; an evaluator command is for zoos without one`, {
          hint: 'set evaluator commands on zoos of imported checkpoints (timm, PEFT) that have no task',
          fields: ['command'],
        });
      }
    }
    const evaluator = command === null ? null : checkedEvaluator({ command, ...(cwd !== undefined ? { cwd } : {}), ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) }, homedir());
    setZooEvaluator(db(), zoo.id, evaluator);
    service.emit({ type: 'catalog.changed', what: 'zoos', zoo: zoo.name });
    return toZooSummary({ ...zoo, evaluator }, countCheckpoints(db(), zoo.id));
  });

  service.handleJob('import', 'import', async (params: ImportParams, ctx) => {
    const result = await importCheckpoints(service.catalog(), service.blobs, params, ctx);
    service.emit({ type: 'catalog.changed', what: 'checkpoints', zoo: params.zoo });
    return result;
  });
  service.handleJob('export', 'export', (params: ExportParams, ctx) => exportModel(service.catalog(), service.blobs, params, ctx));

  service.handle('job.get', ({ id }) => {
    requireString(id, 'id');
    return getJob(db(), id) ?? jobNotFound(id);
  });
  service.handle('job.list', () => listJobs(db()));
  service.handle('job.cancel', ({ id }) => {
    requireString(id, 'id');
    return service.jobs.cancel(id) ?? jobNotFound(id);
  });
}

function requireString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new EngineError('bad_request', `the request needs '${name}' as a non-empty string`, { hint: 'check the request parameters' });
  }
}

function jobNotFound(id: Id): never {
  throw new EngineError('job_not_found', `there is no job '${id}' in this catalog`, { hint: "list jobs with the 'job.list' request" });
}

/**
 * Starts a job request and resolves with the job's result; rejects with what the job threw
 * (an EngineError, CancelledError, or a bug). `onProgress` sees every progress event of that job.
 */
export async function runJob<N extends RequestName>(service: EngineService, method: N, params: ParamsOf<N>, onProgress?: (progress: JobProgress, job: JobInfo) => void): Promise<unknown> {
  let jobId: Id | null = null;
  const early: EngineEvent[] = [];
  let settle: ((event: EngineEvent) => void) | null = null;
  const done = new Promise<unknown>((resolvePromise, reject) => {
    settle = (event) => {
      if (event.type === 'job.progress') onProgress?.(event.job.progress, event.job);
      else if (event.type === 'job.finished') resolvePromise(event.result);
      else if (event.type === 'job.failed') {
        const thrown = service.jobs.failure(event.job.id);
        if (thrown !== undefined) reject(thrown);
        else if (event.job.status === 'cancelled') reject(new CancelledError(`job ${event.job.id}`));
        else reject(new EngineError(event.job.error?.code ?? 'failed', event.job.error?.message ?? `job ${event.job.id} failed`, { hint: event.job.error?.hint, file: event.job.error?.file }));
      }
    };
  });
  const unsubscribe = service.subscribe((event) => {
    if (event.type !== 'job.progress' && event.type !== 'job.finished' && event.type !== 'job.failed') return;
    if (jobId === null) early.push(event);
    else if (event.job.id === jobId) settle!(event);
  });
  try {
    const started = (await service.request(method, params)) as { job?: JobInfo };
    if (!started?.job) throw new Error(`request '${method}' did not start a job`);
    jobId = started.job.id;
    for (const event of early) if ('job' in event && event.job.id === jobId) settle!(event);
    return await done;
  } finally {
    unsubscribe();
  }
}
