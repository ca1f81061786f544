// The app's queries over generator runs, generated models and evaluations (tables of migrations
// 2 and 3, written by engine/pipeline/store.ts), and zoo edits: rename, delete, delete checkpoints.
// Deleting removes rows only; the blobs they pointed at are freed by the garbage collector.
import type Database from 'better-sqlite3';
import type { EvaluationRecord, GeneratedModelInfo, Id, RunDetail, RunStatusName, RunSummary, ZooEvaluationInfo, ZooSummary } from '../protocol.js';
import { EngineError } from '../errors.js';
import { findRun, getRun, listRuns, toGeneratedModelRow, type RawModelRow, type RunRow } from '../pipeline/store.js';
import { findZoo, getZoo, listZoos, validateZooName } from './zoos.js';

interface RawModel extends RawModelRow {
  zoo_name: string;
}

const SELECT_MODEL = `SELECT generated_models.*, zoos.name AS zoo_name FROM generated_models
  JOIN runs ON runs.id = generated_models.run_id JOIN zoos ON zoos.id = runs.zoo_id`;

function toModel(raw: RawModel): GeneratedModelInfo {
  const { runId, ...row } = toGeneratedModelRow(raw);
  return { ...row, run: runId, zoo: raw.zoo_name };
}

function toSummary(db: Database.Database, run: RunRow): RunSummary {
  const models = (db.prepare('SELECT COUNT(*) AS n FROM generated_models WHERE run_id = ?').get(run.id) as { n: number }).n;
  const steps = Number(run.config.steps);
  return {
    id: run.id,
    zoo: run.zoo,
    status: run.status as RunStatusName,
    step: run.step,
    steps: Number.isFinite(steps) ? steps : 0,
    preset: typeof run.config.preset === 'string' ? run.config.preset : null,
    backend: run.backend,
    finalLoss: run.lossCurve.length > 0 ? run.lossCurve[run.lossCurve.length - 1]! : null,
    job: run.jobId,
    models,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
  };
}

export function runSummaries(db: Database.Database, zoo?: string): RunSummary[] {
  const runs = zoo === undefined ? listRuns(db) : listRuns(db, getZoo(db, zoo).id);
  return runs.map((run) => toSummary(db, run)).reverse();
}

export function runDetail(db: Database.Database, id: Id): RunDetail {
  const run = getRun(db, id);
  return { ...toSummary(db, run), config: run.config, lossCurve: run.lossCurve, recentLoss: [], generated: generatedModels(db, id), evaluations: evaluations(db, id) };
}

export function generatedModels(db: Database.Database, run?: Id): GeneratedModelInfo[] {
  const rows = (run === undefined
    ? db.prepare(`${SELECT_MODEL} ORDER BY generated_models.created_at DESC, generated_models.rowid DESC`).all()
    : db.prepare(`${SELECT_MODEL} WHERE generated_models.run_id = ? ORDER BY generated_models.rowid`).all(run)) as RawModel[];
  return rows.map(toModel);
}

interface RawEvaluation {
  id: string;
  run_id: string;
  result: string;
  created_at: string;
}

function toEvaluation(raw: RawEvaluation): EvaluationRecord {
  const result = JSON.parse(raw.result) as { zoos?: ZooEvaluationInfo[] };
  return { id: raw.id, run: raw.run_id, zoos: result.zoos ?? [], createdAt: raw.created_at };
}

export function evaluations(db: Database.Database, run?: Id): EvaluationRecord[] {
  const rows = (run === undefined
    ? db.prepare('SELECT * FROM evaluations ORDER BY created_at DESC, rowid DESC').all()
    : db.prepare('SELECT * FROM evaluations WHERE run_id = ? ORDER BY rowid DESC').all(run)) as RawEvaluation[];
  return rows.map(toEvaluation);
}

export function evaluation(db: Database.Database, id: Id): EvaluationRecord {
  const raw = db.prepare('SELECT * FROM evaluations WHERE id = ?').get(id) as RawEvaluation | undefined;
  if (!raw) throw new EngineError('evaluation_not_found', `there is no evaluation '${id}' in this catalog`, { hint: "list them with the 'evaluation.list' request" });
  return toEvaluation(raw);
}

function refuseWhileTraining(db: Database.Database, zooId: number, what: string): void {
  const live = listRuns(db, zooId).find((run) => run.status === 'running');
  if (live) throw new EngineError('zoo_busy', `${what}: run ${live.id} is training on it`, { hint: 'cancel that job first (Jobs view or job.cancel)' });
}

export function renameZoo(db: Database.Database, name: string, to: string): ZooSummary {
  validateZooName(to);
  const zoo = getZoo(db, name);
  if (name !== to && findZoo(db, to)) throw new EngineError('zoo_exists', `a zoo named '${to}' already exists`, { hint: 'choose another name' });
  refuseWhileTraining(db, zoo.id, `zoo '${name}' cannot be renamed now`);
  db.prepare('UPDATE zoos SET name = ? WHERE id = ?').run(to, zoo.id);
  return listZoos(db).find((z) => z.name === to)!;
}

/** Rows only: checkpoints, runs, generated models and evaluations go with the zoo (ON DELETE CASCADE). */
export function deleteZoo(db: Database.Database, name: string): void {
  const zoo = getZoo(db, name);
  refuseWhileTraining(db, zoo.id, `zoo '${name}' cannot be deleted now`);
  db.prepare('DELETE FROM zoos WHERE id = ?').run(zoo.id);
}

export function deleteCheckpoints(db: Database.Database, ids: Id[]): number {
  const remove = db.prepare('DELETE FROM checkpoints WHERE id = ?');
  return db.transaction(() => {
    let deleted = 0;
    for (const id of ids) {
      const row = db.prepare('SELECT zoo_id FROM checkpoints WHERE id = ?').get(id) as { zoo_id: number } | undefined;
      if (!row) throw new EngineError('checkpoint_not_found', `there is no checkpoint '${id}' in this catalog`, { hint: 'reload the zoo: it may have been deleted already' });
      refuseWhileTraining(db, row.zoo_id, `checkpoint ${id} cannot be deleted now`);
      deleted += remove.run(id).changes;
    }
    return deleted;
  })();
}

export function deleteRun(db: Database.Database, id: Id): void {
  const run = findRun(db, id);
  if (!run) getRun(db, id);
  if (run!.status === 'running') throw new EngineError('run_busy', `run ${id} is still training`, { hint: 'cancel its job first' });
  db.prepare('DELETE FROM runs WHERE id = ?').run(id);
}

/** A checkpoint's recorded source: uploads record the name the user chose, not the engine's temporary copy. */
export function setCheckpointSource(db: Database.Database, id: Id, source: string): void {
  db.prepare('UPDATE checkpoints SET source = ? WHERE id = ?').run(source, id);
}

/** Each zoo's distinct checkpoint blobs and source formats. */
export function zooBlobs(db: Database.Database): Map<string, { shas: string[]; formats: string[] }> {
  const rows = db.prepare('SELECT DISTINCT zoos.name AS zoo, checkpoints.sha256 AS sha256, checkpoints.format AS format FROM zoos LEFT JOIN checkpoints ON checkpoints.zoo_id = zoos.id').all() as { zoo: string; sha256: string | null; format: string | null }[];
  const out = new Map<string, { shas: string[]; formats: string[] }>();
  for (const row of rows) {
    const entry = out.get(row.zoo) ?? { shas: [], formats: [] };
    if (row.sha256 && !entry.shas.includes(row.sha256)) entry.shas.push(row.sha256);
    if (row.format && !entry.formats.includes(row.format)) entry.formats.push(row.format);
    out.set(row.zoo, entry);
  }
  return out;
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
