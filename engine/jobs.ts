// The job runner: two lanes, each running its jobs one at a time in submission order. Short I/O
// jobs (import, export: catalog and files only) run on the engine's thread, beside a long compute
// job (collect, train, generate, evaluate, demo), whose function hands it to the compute worker
// (engine/compute.ts). A compute job starts only once every I/O job submitted before it has ended,
// so a train submitted right after an import into its zoo sees the imported checkpoints.
// Each job is recorded in the catalog's jobs table, cancellable through its AbortSignal, and
// reports progress at least every second. Job kinds are registered as plain functions.
// Jobs of other processes on the same data folder (the CLI beside the app) are rows of that table
// too: a runner that follows them (the app's hosts) reports their progress and end as events, and
// cancelling one writes a cancel request that its own runner picks up within a second.
import type Database from 'better-sqlite3';
import type { EngineErrorInfo, Id, JobInfo, JobKind, JobProgress } from './protocol.js';
import { CancelledError, EngineError } from './errors.js';
import { newId } from './catalog/ids.js';
import { EtaEstimator } from './timing.js';
import { cancelRequestedJobs, finishJob, getJob, insertJob, INITIAL_PROGRESS, listOpenJobs, markInterruptedJobs, markJobRunning, requestJobCancel, saveJobProgress } from './catalog/jobs.js';

/** 'io': catalog and files only, on the engine's thread; 'compute': TensorFlow.js work, in the compute worker. */
export type JobLane = 'io' | 'compute';

const IO_KINDS: ReadonlySet<JobKind> = new Set<JobKind>(['import', 'export']);

export function laneOf(kind: JobKind): JobLane {
  return IO_KINDS.has(kind) ? 'io' : 'compute';
}

export interface ProgressUpdate {
  /** 0..1 of the whole job */
  fraction?: number;
  stage?: string;
  metrics?: Record<string, number>;
}

export interface JobContext {
  jobId: Id;
  signal: AbortSignal;
  progress(update: ProgressUpdate): void;
  /** throws CancelledError once the job was cancelled: call between units of work */
  throwIfCancelled(): void;
}

export type JobFunction<P = unknown, R = unknown> = (params: P, ctx: JobContext) => Promise<R>;

export type JobEvent = { type: 'job.progress'; job: JobInfo } | { type: 'job.finished'; job: JobInfo; result: unknown } | { type: 'job.failed'; job: JobInfo };

/** How often a running job's progress is re-sent (with a fresh ETA) even when it reports nothing. */
const HEARTBEAT_MS = 1000;

interface QueuedJob {
  id: Id;
  kind: JobKind;
  lane: JobLane;
  /** submission order across both lanes */
  seq: number;
  params: unknown;
  controller: AbortController;
}

const LANES: readonly JobLane[] = ['io', 'compute'];

export class JobRunner {
  private readonly kinds = new Map<JobKind, JobFunction>();
  private readonly queues: Record<JobLane, QueuedJob[]> = { io: [], compute: [] };
  private readonly current: Record<JobLane, QueuedJob | null> = { io: null, compute: null };
  private submitted = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly failures = new Map<Id, unknown>();
  /** other processes' open jobs, by id: what was last reported of each (status and progress) */
  private readonly others = new Map<Id, string>();
  private following: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: () => Database.Database,
    private readonly emit: (event: JobEvent) => void,
  ) {}

  register<P, R>(kind: JobKind, run: JobFunction<P, R>): void {
    this.kinds.set(kind, run as JobFunction);
  }

  /** Records the job as queued and returns at once; it runs after the jobs before it in its lane. */
  submit(kind: JobKind, params: unknown): JobInfo {
    if (!this.kinds.has(kind)) throw new Error(`no job kind '${kind}' is registered`);
    const lane = laneOf(kind);
    const job: QueuedJob = { id: newId('job'), kind, lane, seq: this.submitted++, params, controller: new AbortController() };
    const info = insertJob(this.db(), { id: job.id, kind, params });
    this.queues[lane].push(job);
    this.schedule();
    return info;
  }

  cancel(id: Id): JobInfo | null {
    for (const lane of LANES) {
      const queue = this.queues[lane];
      const queuedAt = queue.findIndex((job) => job.id === id);
      if (queuedAt >= 0) {
        const [job] = queue.splice(queuedAt, 1);
        const error = new CancelledError(`job ${id}`).toInfo();
        finishJob(this.db(), id, { status: 'cancelled', progress: { ...INITIAL_PROGRESS, stage: 'cancelled' }, error });
        this.emit({ type: 'job.failed', job: getJob(this.db(), job!.id)! });
        // a compute job may have waited for this one
        this.schedule();
      } else if (this.current[lane]?.id === id) {
        this.current[lane]!.controller.abort(new CancelledError(`job ${id}`));
      }
    }
    if (this.laneOfJob(id) === null && !this.failures.has(id)) {
      // Another process's job: a dead owner's is interrupted at once, a live owner is asked to cancel it.
      markInterruptedJobs(this.db());
      requestJobCancel(this.db(), id);
    }
    return getJob(this.db(), id);
  }

  /**
   * Reports the jobs other processes run on this catalog as this runner's own are reported:
   * job.progress while they are queued or running (polled every `intervalMs`), then job.finished or
   * job.failed; a job whose process died is marked interrupted. For the app's hosts; the CLI
   * does not follow. The timer does not keep the process alive.
   */
  followOtherProcesses(intervalMs = 1000): void {
    if (this.following) return;
    this.following = setInterval(() => {
      try {
        this.pollOtherProcesses();
      } catch (error) {
        console.error('paramzoo: following the jobs of other processes stopped:', error);
        this.stopFollowing();
      }
    }, intervalMs);
    this.following.unref();
  }

  stopFollowing(): void {
    if (this.following) clearInterval(this.following);
    this.following = null;
    this.others.clear();
  }

  /** Cancels every job of this runner, queued or running. */
  cancelAll(): void {
    for (const lane of LANES) {
      for (const job of [...this.queues[lane]]) this.cancel(job.id);
      if (this.current[lane]) this.cancel(this.current[lane]!.id);
    }
  }

  /** Resolves when both lanes are empty. */
  async whenIdle(): Promise<void> {
    if (this.idle()) return;
    await new Promise<void>((resolvePromise) => this.idleWaiters.push(resolvePromise));
  }

  get running(): boolean {
    return this.current.io !== null || this.current.compute !== null;
  }

  /** The lane a queued or running job of this runner is in, or null. */
  laneOfJob(id: Id): JobLane | null {
    for (const lane of LANES) {
      if (this.current[lane]?.id === id || this.queues[lane].some((job) => job.id === id)) return lane;
    }
    return null;
  }

  private pollOtherProcesses(): void {
    const db = this.db();
    markInterruptedJobs(db);
    const open = new Set<Id>();
    for (const job of listOpenJobs(db)) {
      if (this.laneOfJob(job.id) !== null || this.failures.has(job.id)) continue;
      open.add(job.id);
      const seen = JSON.stringify([job.status, job.progress]);
      if (this.others.get(job.id) === seen) continue;
      this.others.set(job.id, seen);
      this.emit({ type: 'job.progress', job });
    }
    for (const id of [...this.others.keys()]) {
      if (open.has(id)) continue;
      this.others.delete(id);
      const job = getJob(db, id);
      if (job?.status === 'succeeded') this.emit({ type: 'job.finished', job, result: job.result });
      else if (job) this.emit({ type: 'job.failed', job });
    }
  }

  /** Cancels this runner's jobs that another process asked to cancel (checked with each heartbeat). */
  private applyCancelRequests(): void {
    for (const id of cancelRequestedJobs(this.db())) {
      if (this.laneOfJob(id) !== null) this.cancel(id);
    }
  }

  private idle(): boolean {
    return !this.running && this.queues.io.length === 0 && this.queues.compute.length === 0 && !this.scheduled;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Let the caller of submit() see the job (and subscribe) before it starts.
    setImmediate(() => {
      this.scheduled = false;
      this.startWhatCan();
    });
  }

  /** Starts the head of each idle lane; a compute job waits for every I/O job submitted before it. */
  private startWhatCan(): void {
    for (const lane of LANES) {
      const next = this.queues[lane][0];
      if (this.current[lane] || !next) continue;
      if (lane === 'compute' && this.ioBefore(next.seq)) continue;
      this.queues[lane].shift();
      this.current[lane] = next;
      this.runOne(next)
        // runOne records every job failure itself; what reaches here is a broken catalog (e.g. closed).
        .catch((error: unknown) => console.error('paramzoo: the job queue stopped:', error))
        .finally(() => {
          this.current[lane] = null;
          this.startWhatCan();
        });
    }
    if (this.idle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolveIdle of waiters) resolveIdle();
    }
  }

  private ioBefore(seq: number): boolean {
    return (this.current.io !== null && this.current.io.seq < seq) || this.queues.io.some((job) => job.seq < seq);
  }

  private async runOne(job: QueuedJob): Promise<void> {
    const db = this.db();
    const eta = new EtaEstimator();
    let progress: JobProgress = { ...INITIAL_PROGRESS, stage: 'starting' };
    const snapshot = (): JobInfo => ({ ...getJob(db, job.id)!, progress });
    const send = (): void => {
      progress = { ...progress, etaSeconds: eta.estimate(progress.fraction) };
      saveJobProgress(db, job.id, progress);
      this.emit({ type: 'job.progress', job: snapshot() });
    };
    const { signal } = job.controller;
    let heartbeat: NodeJS.Timeout | undefined;
    const ctx: JobContext = {
      jobId: job.id,
      signal,
      progress(update) {
        progress = {
          ...progress,
          fraction: clamp01(update.fraction ?? progress.fraction),
          stage: update.stage ?? progress.stage,
          metrics: update.metrics ? { ...progress.metrics, ...update.metrics } : progress.metrics,
        };
        send();
      },
      throwIfCancelled() {
        if (signal.aborted) throw signal.reason instanceof CancelledError ? signal.reason : new CancelledError(`job ${job.id}`);
      },
    };
    try {
      markJobRunning(db, job.id);
      send();
      heartbeat = setInterval(() => {
        send();
        this.applyCancelRequests();
      }, HEARTBEAT_MS);
      const result = await this.kinds.get(job.kind)!(job.params, ctx);
      ctx.throwIfCancelled();
      clearInterval(heartbeat);
      progress = { ...progress, fraction: 1, stage: 'done', etaSeconds: 0 };
      finishJob(db, job.id, { status: 'succeeded', progress, result });
      this.emit({ type: 'job.finished', job: getJob(db, job.id)!, result });
    } catch (error) {
      clearInterval(heartbeat);
      // An abort surfaces as our CancelledError, the signal's reason, or a platform AbortError; anything else is a real failure.
      const cancelled = error instanceof CancelledError || (signal.aborted && (error === signal.reason || (error as Error)?.name === 'AbortError'));
      const info = cancelled ? new CancelledError(`job ${job.id}`).toInfo() : errorInfo(error);
      this.failures.set(job.id, cancelled ? new CancelledError(`job ${job.id}`) : error);
      finishJob(db, job.id, { status: cancelled ? 'cancelled' : 'failed', progress, error: info });
      this.emit({ type: 'job.failed', job: getJob(db, job.id)! });
    }
  }

  /**
   * What a failed job threw, for in-process hosts: an EngineError, or a bug (any other error,
   * whose stack the CLI prints before exiting 2). Wire hosts only see the job's EngineErrorInfo.
   */
  failure(id: Id): unknown {
    return this.failures.get(id);
  }
}

export function errorInfo(error: unknown): EngineErrorInfo {
  if (error instanceof EngineError) return error.toInfo();
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message: `internal error: ${message}`, hint: 'this is a bug in ParamZoo; please report it with the stack trace' };
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
