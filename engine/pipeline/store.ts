// Catalog rows of the pipeline: generator runs, generated models and evaluations (tables of
// migrations 2 and 3). Plain queries; the jobs decide what to write when.
import type Database from 'better-sqlite3';
import type { Id, JobStatus } from '../protocol.js';
import { EngineError } from '../errors.js';
import { getJob } from '../catalog/jobs.js';
import { newId, now } from '../catalog/ids.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface RunRow {
  id: Id;
  zooId: number;
  zoo: string;
  config: Record<string, unknown>;
  backend: string;
  /** 'running' rows whose job died are reported as 'interrupted' */
  status: RunStatus;
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
  let status = raw.status as RunStatus;
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
  return findRun(db, id) ?? (() => { throw new RunNotFoundError(id); })();
}

export function listRuns(db: Database.Database, zooId?: number): RunRow[] {
  const rows = (zooId === undefined
    ? db.prepare(`${SELECT_RUN} ORDER BY runs.created_at`).all()
    : db.prepare(`${SELECT_RUN} WHERE runs.zoo_id = ? ORDER BY runs.created_at`).all(zooId)) as RawRunRow[];
  return rows.map((raw) => toRun(db, raw));
}

/** A saved generator state: its blob, the step it was saved at and the loss curve up to there. */
export function recordRunSave(db: Database.Database, id: Id, save: { step: number; lossCurve: number[]; generatorSha256: string }): void {
  db.prepare('UPDATE runs SET step = ?, loss_curve = ?, generator_sha256 = ?, updated_at = ? WHERE id = ?')
    .run(save.step, JSON.stringify(save.lossCurve), save.generatorSha256, now(), id);
}

export function setRunStatus(db: Database.Database, id: Id, status: RunStatus, jobId?: Id): void {
  if (jobId === undefined) db.prepare('UPDATE runs SET status = ?, updated_at = ? WHERE id = ?').run(status, now(), id);
  else db.prepare('UPDATE runs SET status = ?, job_id = ?, updated_at = ? WHERE id = ?').run(status, jobId, now(), id);
}

export interface GeneratedModelRow {
  id: Id;
  runId: Id;
  seed: number;
  condition: number[] | null;
  sampler: string;
  steps: number;
  permutationState: number;
  sha256: string;
  seconds: number | null;
  metrics: Record<string, number>;
  createdAt: string;
}

export interface RawModelRow {
  id: string;
  run_id: string;
  seed: number;
  condition: string | null;
  sampler: string;
  steps: number;
  permutation_state: number;
  sha256: string;
  seconds: number | null;
  metrics: string;
  created_at: string;
}

export function insertGeneratedModel(db: Database.Database, model: Omit<GeneratedModelRow, 'id' | 'createdAt' | 'metrics'>): Id {
  const id = newId('generatedModel');
  db.prepare(
    `INSERT INTO generated_models (id, run_id, seed, condition, sampler, steps, permutation_state, sha256, seconds, metrics, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)`,
  ).run(id, model.runId, model.seed, model.condition ? JSON.stringify(model.condition) : null, model.sampler, model.steps,
    model.permutationState, model.sha256, model.seconds, now());
  return id;
}

/** A generated_models row as the engine uses it (JSON columns parsed). */
export function toGeneratedModelRow(raw: RawModelRow): GeneratedModelRow {
  return {
    id: raw.id,
    runId: raw.run_id,
    seed: raw.seed,
    condition: raw.condition === null ? null : (JSON.parse(raw.condition) as number[]),
    sampler: raw.sampler,
    steps: raw.steps,
    permutationState: raw.permutation_state,
    sha256: raw.sha256,
    seconds: raw.seconds,
    metrics: JSON.parse(raw.metrics) as Record<string, number>,
    createdAt: raw.created_at,
  };
}

export function listGeneratedModels(db: Database.Database, runId: Id): GeneratedModelRow[] {
  return (db.prepare('SELECT * FROM generated_models WHERE run_id = ? ORDER BY rowid').all(runId) as RawModelRow[]).map(toGeneratedModelRow);
}

export function setGeneratedModelMetrics(db: Database.Database, id: Id, metrics: Record<string, number>): void {
  db.prepare('UPDATE generated_models SET metrics = ? WHERE id = ?').run(JSON.stringify(metrics), id);
}

export function insertEvaluation(db: Database.Database, runId: Id, result: unknown): Id {
  const id = newId('evaluation');
  db.prepare('INSERT INTO evaluations (id, run_id, result, created_at) VALUES (?, ?, ?, ?)').run(id, runId, JSON.stringify(result), now());
  return id;
}

export function listEvaluations(db: Database.Database, runId: Id): { id: Id; result: unknown; createdAt: string }[] {
  return (db.prepare('SELECT * FROM evaluations WHERE run_id = ? ORDER BY rowid').all(runId) as { id: string; result: string; created_at: string }[])
    .map((raw) => ({ id: raw.id, result: JSON.parse(raw.result) as unknown, createdAt: raw.created_at }));
}
