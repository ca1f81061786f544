// The compute worker (a worker_threads Worker started by engine/compute.ts): runs compute jobs
// one at a time as the engine's thread sends them, with its own catalog connection on the same
// data folder, and sends back progress, the result or the error. The engine's thread keeps the
// jobs table (status, progress, heartbeat); this thread only computes and writes what the job
// itself writes (runs, checkpoints, generated models, blobs).
import { parentPort, workerData } from 'node:worker_threads';
import { constants, setPriority } from 'node:os';
import { join } from 'node:path';
import type { BackendInfo, Id } from './protocol.js';
import { CancelledError } from './errors.js';
import { BlobStore } from './blobs.js';
import { openCatalog, type Catalog } from './catalog/db.js';
import type { JobContext } from './jobs.js';
import { runComputeJob, type ComputeKind } from './pipeline/compute-jobs.js';
import { sendError, type FromWorker, type ToWorker } from './compute-messages.js';

const port = parentPort;
if (!port) throw new Error('engine/compute-worker.ts runs only as a worker thread (engine/compute.ts starts it)');
const { dataDir } = workerData as { dataDir: string };

// Compute runs below normal priority, so a training job on a small machine yields to the app's window
// and to whatever else the user runs; alone on the machine it loses nothing. On Linux this sets this
// thread's nice value, which the wasm threads it starts inherit; elsewhere it lowers the process.
try {
  setPriority(constants.priority.PRIORITY_BELOW_NORMAL);
} catch {
  // not permitted here: compute at the priority it was given
}

const blobs = new BlobStore(join(dataDir, 'blobs'));
let opened: Catalog | null = null;
const catalog = (): Catalog => (opened ??= openCatalog(dataDir));
const running = new Map<Id, AbortController>();

const post = (message: FromWorker): void => port.postMessage(message);

async function loadedBackend(): Promise<BackendInfo | null> {
  const { backendInfo } = await import('./backend.js');
  return backendInfo();
}

async function run(id: Id, kind: ComputeKind, params: unknown): Promise<void> {
  const controller = new AbortController();
  const { signal } = controller;
  running.set(id, controller);
  const ctx: JobContext = {
    jobId: id,
    signal,
    progress: (update) => post({ type: 'progress', id, update }),
    throwIfCancelled() {
      if (signal.aborted) throw signal.reason instanceof CancelledError ? signal.reason : new CancelledError(`job ${id}`);
    },
  };
  let outcome: FromWorker;
  try {
    const result = await runComputeJob(kind, catalog(), blobs, params as never, ctx);
    ctx.throwIfCancelled();
    outcome = { type: 'done', id, result, backend: await loadedBackend() };
  } catch (error) {
    // The same rule as the runner's: an abort may surface as the signal's reason or a platform AbortError.
    const cancelled = error instanceof CancelledError || (signal.aborted && (error === signal.reason || (error as Error)?.name === 'AbortError'));
    outcome = { type: 'failed', id, error: sendError(cancelled ? new CancelledError(`job ${id}`) : error), backend: await loadedBackend().catch(() => null) };
  } finally {
    running.delete(id);
  }
  // Pooled GPU memory goes back before the job is reported ended, so whoever waits on it sees it freed.
  if (running.size === 0) (await import('./backend.js')).releaseJobMemory();
  post(outcome);
}

async function answerBackend(message: Extract<ToWorker, { type: 'backend' }>): Promise<void> {
  try {
    const { backendInfo, initBackend } = await import('./backend.js');
    const { preferred, threads } = message.choice;
    // initBackend keeps the backend a job chose already, unless another one is named
    const info = message.init ? await initBackend(preferred as Parameters<typeof initBackend>[0], threads === undefined ? {} : { threads }) : backendInfo();
    post({ type: 'backend', ask: message.ask, info });
  } catch (error) {
    post({ type: 'backend', ask: message.ask, info: null, error: sendError(error) });
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'run':
      void run(message.id, message.kind, message.params);
      break;
    case 'cancel':
      running.get(message.id)?.abort(new CancelledError(`job ${message.id}`));
      break;
    case 'backend':
      void answerBackend(message);
      break;
    case 'close':
      for (const controller of running.values()) controller.abort(new CancelledError('the job'));
      opened?.close();
      opened = null;
      post({ type: 'closed' });
      break;
  }
});
