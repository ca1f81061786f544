// Where compute jobs (collect, train, generate, evaluate, demo) run. By default in one
// worker_threads Worker (engine/compute-worker.ts), so the engine's own thread stays free to answer
// requests while a training step runs: TensorFlow.js, its backend and the wasm threads live in that
// worker, which opens its own catalog connection on the same data folder (SQLite WAL). Progress,
// results, errors and cancels cross as messages (engine/compute-messages.ts). `inline` runs them on
// the engine's thread instead (the responsiveness bench's baseline).
// The worker starts with the first compute job, stays for the next (TensorFlow.js loads once), and is
// unref'd while it has nothing to do, so a CLI process exits by itself once its work is done.
import { Worker } from 'node:worker_threads';
import type { BackendInfo, Id } from './protocol.js';
import type { BlobStore } from './blobs.js';
import type { Catalog } from './catalog/db.js';
import type { JobContext } from './jobs.js';
import { runComputeJob, type ComputeKind } from './pipeline/compute-jobs.js';
import { receiveError, type BackendChoice, type FromWorker, type ToWorker } from './compute-messages.js';

export type ComputePlace = 'worker' | 'inline';

export interface Compute {
  readonly place: ComputePlace;
  /** runs a compute job to its end: resolves with its result, rejects with what it threw; ctx.signal cancels it */
  run(kind: ComputeKind, params: unknown, ctx: JobContext): Promise<unknown>;
  /** the backend compute jobs use; `init`: choose it now (with `choice`, else the best) if no job chose it yet */
  backend(init: boolean, choice?: BackendChoice): Promise<BackendInfo | null>;
  /** the backend last reported by a job or `backend()`, without asking (null before any) */
  knownBackend(): BackendInfo | null;
  /** ends the worker (after its jobs ended); the next job starts a new one */
  close(): Promise<void>;
}

export function createCompute(place: ComputePlace, dataDir: string, catalog: () => Catalog, blobs: BlobStore): Compute {
  return place === 'inline' ? new InlineCompute(catalog, blobs) : new WorkerCompute(dataDir);
}

async function backendHere(init: boolean, choice: BackendChoice = {}): Promise<BackendInfo | null> {
  const { backendInfo, initBackend } = await import('./backend.js');
  if (!init) return backendInfo();
  return initBackend(choice.preferred as Parameters<typeof initBackend>[0], choice.threads === undefined ? {} : { threads: choice.threads });
}

class InlineCompute implements Compute {
  readonly place = 'inline';
  private known: BackendInfo | null = null;

  constructor(
    private readonly catalog: () => Catalog,
    private readonly blobs: BlobStore,
  ) {}

  async run(kind: ComputeKind, params: unknown, ctx: JobContext): Promise<unknown> {
    try {
      return await runComputeJob(kind, this.catalog(), this.blobs, params as never, ctx);
    } finally {
      this.known = (await backendHere(false)) ?? this.known;
      (await import('./backend.js')).releaseJobMemory();
    }
  }

  async backend(init: boolean, choice?: BackendChoice): Promise<BackendInfo | null> {
    this.known = (await backendHere(init, choice)) ?? this.known;
    return this.known;
  }

  knownBackend(): BackendInfo | null {
    return this.known;
  }

  async close(): Promise<void> {
    // nothing of its own to end
  }
}

interface Pending<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Wait this long for the worker to close its catalog before terminating it. */
const CLOSE_GRACE_MS = 5000;

class WorkerCompute implements Compute {
  readonly place = 'worker';
  private worker: Worker | null = null;
  private readonly jobs = new Map<Id, Pending<unknown> & { ctx: JobContext }>();
  private readonly asks = new Map<number, Pending<BackendInfo | null>>();
  private nextAsk = 0;
  /** a backend chosen up front (`paramzoo serve --backend`): applied again if the worker is restarted */
  private choice: BackendChoice | null = null;
  private known: BackendInfo | null = null;
  private closed: (() => void) | null = null;

  constructor(private readonly dataDir: string) {}

  run(kind: ComputeKind, params: unknown, ctx: JobContext): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const worker = this.start();
      const id = ctx.jobId;
      const cancel = () => worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
      const settle = () => {
        ctx.signal.removeEventListener('abort', cancel);
        this.jobs.delete(id);
        this.updateRef();
      };
      this.jobs.set(id, {
        ctx,
        resolve: (value) => {
          settle();
          resolve(value);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.updateRef();
      worker.postMessage({ type: 'run', id, kind, params } satisfies ToWorker);
      if (ctx.signal.aborted) cancel();
      else ctx.signal.addEventListener('abort', cancel, { once: true });
    });
  }

  backend(init: boolean, choice?: BackendChoice): Promise<BackendInfo | null> {
    if (!init && !this.worker) return Promise.resolve(this.known);
    if (init && choice && (choice.preferred !== undefined || choice.threads !== undefined)) this.choice = choice;
    return this.ask(init, choice ?? this.choice ?? {});
  }

  knownBackend(): BackendInfo | null {
    return this.known;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const closed = new Promise<void>((resolve) => {
      this.closed = resolve;
      worker.once('exit', () => resolve());
    });
    worker.ref();
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    this.closed = null;
    this.worker = null;
    await worker.terminate();
  }

  private ask(init: boolean, choice: BackendChoice): Promise<BackendInfo | null> {
    return new Promise((resolve, reject) => {
      const worker = this.start();
      const ask = this.nextAsk++;
      this.asks.set(ask, {
        resolve: (info) => {
          this.asks.delete(ask);
          this.updateRef();
          resolve(info);
        },
        reject: (error) => {
          this.asks.delete(ask);
          this.updateRef();
          reject(error);
        },
      });
      this.updateRef();
      worker.postMessage({ type: 'backend', ask, init, choice } satisfies ToWorker);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnComputeWorker(this.dataDir);
    this.worker = worker;
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) => this.lost(worker, new Error(`the compute worker stopped (exit code ${code})`)));
    // A restarted worker computes on the backend chosen up front, like the one before it.
    if (this.choice) void this.ask(true, this.choice).catch(() => undefined);
    return worker;
  }

  /** A worker with nothing to do must not keep the process alive (the CLI exits when its job is done). */
  private updateRef(): void {
    if (!this.worker) return;
    if (this.jobs.size > 0 || this.asks.size > 0 || this.closed) this.worker.ref();
    else this.worker.unref();
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case 'progress':
        this.jobs.get(message.id)?.ctx.progress(message.update);
        break;
      case 'done':
        this.known = message.backend ?? this.known;
        this.jobs.get(message.id)?.resolve(message.result);
        break;
      case 'failed':
        this.known = message.backend ?? this.known;
        this.jobs.get(message.id)?.reject(receiveError(message.error, message.id));
        break;
      case 'backend': {
        const pending = this.asks.get(message.ask);
        if (message.error) pending?.reject(receiveError(message.error, 'backend'));
        else {
          this.known = message.info ?? this.known;
          pending?.resolve(message.info);
        }
        break;
      }
      case 'closed':
        this.closed?.();
        break;
    }
  }

  /** The worker died (a crash, an out-of-memory abort): its jobs fail as bugs; the next job starts a new worker. */
  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    for (const pending of [...this.jobs.values()]) pending.reject(error);
    for (const pending of [...this.asks.values()]) pending.reject(error);
  }
}

/**
 * From the compiled engine (the desktop app) the worker is compute-worker.js beside this file. From
 * source (tsx), a worker thread does not inherit tsx's loader: a two-line bootstrap registers it first.
 */
function spawnComputeWorker(dataDir: string): Worker {
  const options = { workerData: { dataDir }, stdout: false, stderr: false };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./compute-worker.js', import.meta.url), options);
  // Built from parts: scripts/stage-app.js ships every package a literal specifier names, and the
  // compiled app (which never takes this path) must not carry tsx and esbuild.
  const tsx = import.meta.resolve(['tsx', 'esm', 'api'].join('/'));
  const entry = new URL('./compute-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
