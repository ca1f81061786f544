import type Database from 'better-sqlite3';
import type { EngineErrorInfo, Id, JobInfo, JobKind, JobProgress, JobStatus } from '../protocol.js';
import { now } from './ids.js';

interface JobRow {
  id: string;
  kind: string;
  status: string;
  params: string;
  progress: string;
  result: string | null;
  error: string | null;
  owner_pid: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export const INITIAL_PROGRESS: JobProgress = { fraction: 0, stage: 'queued', etaSeconds: null, metrics: {} };

function toJobInfo(row: JobRow): JobInfo {
  const info: JobInfo = {
    id: row.id,
    kind: row.kind as JobKind,
    status: row.status as JobStatus,
    progress: JSON.parse(row.progress) as JobProgress,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error === null ? null : (JSON.parse(row.error) as EngineErrorInfo),
    createdAt: row.created_at,
    ownerPid: row.owner_pid,
    otherProcess: row.owner_pid !== null && row.owner_pid !== process.pid,
  };
  if (row.result !== null) info.result = JSON.parse(row.result);
  return info;
}

export function insertJob(db: Database.Database, job: { id: Id; kind: JobKind; params: unknown }): JobInfo {
  db.prepare(
    `INSERT INTO jobs (id, kind, status, params, progress, owner_pid, created_at)
     VALUES (?, ?, 'queued', ?, ?, ?, ?)`,
  ).run(job.id, job.kind, JSON.stringify(job.params), JSON.stringify(INITIAL_PROGRESS), process.pid, now());
  return getJob(db, job.id)!;
}

export function getJob(db: Database.Database, id: Id): JobInfo | null {
  const row = db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  return row ? toJobInfo(row) : null;
}

/** Jobs still queued or running, in any process on this catalog, oldest first. */
export function listOpenJobs(db: Database.Database): JobInfo[] {
  const rows = db.prepare(`SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, rowid`).all() as JobRow[];
  return rows.map(toJobInfo);
}

/**
 * Asks the process running an open job to cancel it (the app cancelling a job the CLI started on
 * the same data folder): the owner polls for the request (engine/jobs.ts). False when the job is not open.
 */
export function requestJobCancel(db: Database.Database, id: Id): boolean {
  return db.prepare(`UPDATE jobs SET cancel_requested_at = ? WHERE id = ? AND status IN ('queued', 'running') AND cancel_requested_at IS NULL`).run(now(), id).changes > 0;
}

/** Open jobs another process asked to cancel. */
export function cancelRequestedJobs(db: Database.Database): Id[] {
  return (db.prepare(`SELECT id FROM jobs WHERE cancel_requested_at IS NOT NULL AND status IN ('queued', 'running')`).all() as { id: string }[]).map((row) => row.id);
}

/** Newest first. */
export function listJobs(db: Database.Database, limit = 200): JobInfo[] {
  const rows = db.prepare('SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as JobRow[];
  return rows.map(toJobInfo);
}

export function markJobRunning(db: Database.Database, id: Id): void {
  db.prepare(`UPDATE jobs SET status = 'running', started_at = ?, owner_pid = ? WHERE id = ?`).run(now(), process.pid, id);
}

export function saveJobProgress(db: Database.Database, id: Id, progress: JobProgress): void {
  // Progress is rewritten at least every second and worth nothing after a crash, so its commit skips
  // the fsync of synchronous=FULL (the next FULL commit makes it durable with the rest of the WAL):
  // on the engine's thread that fsync took up to 80 ms on a busy disk, a request's wait (2-core dev machine).
  const before = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = NORMAL');
  try {
    db.prepare('UPDATE jobs SET progress = ? WHERE id = ?').run(JSON.stringify(progress), id);
  } finally {
    db.pragma(`synchronous = ${before}`);
  }
}

export function finishJob(
  db: Database.Database,
  id: Id,
  outcome: { status: Extract<JobStatus, 'succeeded' | 'failed' | 'cancelled'>; progress: JobProgress; result?: unknown; error?: EngineErrorInfo },
): void {
  db.prepare('UPDATE jobs SET status = ?, progress = ?, result = ?, error = ?, finished_at = ? WHERE id = ?').run(
    outcome.status,
    JSON.stringify(outcome.progress),
    outcome.result === undefined ? null : JSON.stringify(outcome.result),
    outcome.error === undefined ? null : JSON.stringify(outcome.error),
    now(),
    id,
  );
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Jobs still queued or running whose process is gone were cut off by a crash or a kill: mark them
 * interrupted. Jobs of a live process (the app while the CLI opens the same catalog) are left alone.
 */
export function markInterruptedJobs(db: Database.Database): number {
  const open = db.prepare(`SELECT id, owner_pid FROM jobs WHERE status IN ('queued', 'running')`).all() as {
    id: string;
    owner_pid: number | null;
  }[];
  const mark = db.prepare(`UPDATE jobs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ?`);
  let marked = 0;
  for (const job of open) {
    if (job.owner_pid !== null && processIsAlive(job.owner_pid)) continue;
    const error: EngineErrorInfo = {
      code: 'interrupted',
      message: `job ${job.id} was interrupted: the process running it (pid ${job.owner_pid ?? '?'}) ended before it finished`,
      hint: 'run the job again',
    };
    mark.run(now(), JSON.stringify(error), job.id);
    marked += 1;
  }
  return marked;
}

/** A failed upload import's recorded error names the files as the user chose them, not the engine's temporary copies. */
export function stripJobErrorPrefix(db: Database.Database, jobId: Id, prefix: string): void {
  const row = db.prepare('SELECT error FROM jobs WHERE id = ?').get(jobId) as { error: string | null } | undefined;
  if (!row?.error) return;
  const error = JSON.parse(row.error) as { message: string; file?: string };
  error.message = error.message.split(prefix).join('');
  if (error.file?.startsWith(prefix)) error.file = error.file.slice(prefix.length);
  db.prepare('UPDATE jobs SET error = ? WHERE id = ?').run(JSON.stringify(error), jobId);
}
