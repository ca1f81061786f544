// Generator runs (table of migration 2): the rows the train job writes (insert, each saved state,
// the outcome) and what the app lists and shows. A run's generated models and evaluations are
// generated-models.ts and evaluations.ts; deleting a run is edits.ts.
import type Database from 'better-sqlite3';
import type { Id, JobStatus, RunDetail, RunStatusName, RunSummary } from '../protocol.js';
import { EngineError } from '../errors.js';
import { evaluations } from './evaluations.js';
import { countGeneratedModels, generatedModels } from './generated-models.js';
import { newId, now } from './ids.js';
import { getJob } from './jobs.js';
import { listRunChecks } from './run-checks.js';
import { getZoo } from './zoos.js';

export interface RunRow {
  id: Id;
  zooId: number;
  zoo: string;
  config: Record<string, unknown>;
  backend: string;
  /** 'running' rows whose job died are reported as 'interrupted' */
  status: RunStatusName;
  /** the step of the last saved generator state */
  step: number;
  lossCurve: number[];
  generatorSha256: string | null;
  jobId: Id | null;
  createdAt: string;
  updatedAt: string;
}

interface RawRunRow {
  id: string;
  zoo_id: number;
  zoo_name: string;
  config: string;
  backend: string;
  status: string;
  step: number;
  loss_curve: string;
  generator_sha256: string | null;
  job_id: string | null;
  created_at: string;
  updated_at: string;
}

export class RunNotFoundError extends EngineError {
  constructor(id: string) {
    super('run_not_found', `there is no generator run '${id}' in this catalog`, {
      hint: 'a run id is what train answers (and run.list lists); check that this is the right data folder',
    });
  }
}

const LIVE_JOB: readonly JobStatus[] = ['queued', 'running'];

function toRun(db: Database.Database, raw: RawRunRow): RunRow {
  let status = raw.status as RunStatusName;
  if (status === 'running' && raw.job_id) {
    const job = getJob(db, raw.job_id);
    if (!job || !LIVE_JOB.includes(job.status)) status = 'interrupted';
  }
  return {
    id: raw.id,
    zooId: raw.zoo_id,
    zoo: raw.zoo_name,
    config: JSON.parse(raw.config) as Record<string, unknown>,
    backend: raw.backend,
    status,
    step: raw.step,
    lossCurve: JSON.parse(raw.loss_curve) as number[],
    generatorSha256: raw.generator_sha256,
    jobId: raw.job_id,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
  };
}

const SELECT_RUN = 'SELECT runs.*, zoos.name AS zoo_name FROM runs JOIN zoos ON zoos.id = runs.zoo_id';

export function insertRun(db: Database.Database, run: { zooId: number; config: object; backend: string; jobId: Id }): Id {
  const id = newId('run');
  const at = now();
  db.prepare(
    `INSERT INTO runs (id, zoo_id, config, backend, status, step, loss_curve, generator_sha256, job_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'running', 0, '[]', NULL, ?, ?, ?)`,
  ).run(id, run.zooId, JSON.stringify(run.config), run.backend, run.jobId, at, at);
  return id;
}

export function findRun(db: Database.Database, id: Id): RunRow | null {
  const raw = db.prepare(`${SELECT_RUN} WHERE runs.id = ?`).get(id) as RawRunRow | undefined;
  return raw ? toRun(db, raw) : null;
}

export function getRun(db: Database.Database, id: Id): RunRow {
  return (
    findRun(db, id) ??
    (() => {
      throw new RunNotFoundError(id);
    })()
  );
}

export function listRuns(db: Database.Database, zooId?: number): RunRow[] {
  const rows = (
    zooId === undefined ? db.prepare(`${SELECT_RUN} ORDER BY runs.created_at`).all() : db.prepare(`${SELECT_RUN} WHERE runs.zoo_id = ? ORDER BY runs.created_at`).all(zooId)
  ) as RawRunRow[];
  return rows.map((raw) => toRun(db, raw));
}

/** A saved generator state: its blob, the step it was saved at and the loss curve up to there. */
export function recordRunSave(db: Database.Database, id: Id, save: { step: number; lossCurve: number[]; generatorSha256: string }): void {
  db.prepare('UPDATE runs SET step = ?, loss_curve = ?, generator_sha256 = ?, updated_at = ? WHERE id = ?').run(save.step, JSON.stringify(save.lossCurve), save.generatorSha256, now(), id);
}

export function setRunStatus(db: Database.Database, id: Id, status: RunStatusName, jobId?: Id): void {
  if (jobId === undefined) db.prepare('UPDATE runs SET status = ?, updated_at = ? WHERE id = ?').run(status, now(), id);
  else db.prepare('UPDATE runs SET status = ?, job_id = ?, updated_at = ? WHERE id = ?').run(status, jobId, now(), id);
}

function toSummary(db: Database.Database, run: RunRow): RunSummary {
  const steps = Number(run.config.steps);
  return {
    id: run.id,
    zoo: run.zoo,
    status: run.status,
    step: run.step,
    steps: Number.isFinite(steps) ? steps : 0,
    preset: typeof run.config.preset === 'string' ? run.config.preset : null,
    backend: run.backend,
    finalLoss: run.lossCurve.length > 0 ? run.lossCurve[run.lossCurve.length - 1]! : null,
    job: run.jobId,
    models: countGeneratedModels(db, run.id),
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
  };
}

/** The runs of one zoo (or of every zoo), newest first, as the app lists them. */
export function runSummaries(db: Database.Database, zoo?: string): RunSummary[] {
  const runs = zoo === undefined ? listRuns(db) : listRuns(db, getZoo(db, zoo).id);
  return runs.map((run) => toSummary(db, run)).reverse();
}

export function runDetail(db: Database.Database, id: Id): RunDetail {
  const run = getRun(db, id);
  return { ...toSummary(db, run), config: run.config, lossCurve: run.lossCurve, recentLoss: [], generated: generatedModels(db, id), evaluations: evaluations(db, id), checks: listRunChecks(db, id) };
}

/** The run training on a zoo now, if any (what a zoo edit must wait for). */
export function trainingRunOn(db: Database.Database, zooId: number): RunRow | undefined {
  return listRuns(db, zooId).find((run) => run.status === 'running');
}
