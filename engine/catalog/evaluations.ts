// Evaluations (table of migration 3): the evaluate job stores one per run it judged, as the JSON
// of its result; the app lists and shows them.
import type Database from 'better-sqlite3';
import type { EvaluationRecord, Id, ZooEvaluationInfo } from '../protocol.js';
import { EngineError } from '../errors.js';
import { newId, now } from './ids.js';

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

export function insertEvaluation(db: Database.Database, runId: Id, result: unknown): Id {
  const id = newId('evaluation');
  db.prepare('INSERT INTO evaluations (id, run_id, result, created_at) VALUES (?, ?, ?, ?)').run(id, runId, JSON.stringify(result), now());
  return id;
}

/** One run's evaluations, or every run's, newest first. */
export function evaluations(db: Database.Database, run?: Id): EvaluationRecord[] {
  const rows = (
    run === undefined ? db.prepare('SELECT * FROM evaluations ORDER BY created_at DESC, rowid DESC').all() : db.prepare('SELECT * FROM evaluations WHERE run_id = ? ORDER BY rowid DESC').all(run)
  ) as RawEvaluation[];
  return rows.map(toEvaluation);
}

export function evaluation(db: Database.Database, id: Id): EvaluationRecord {
  const raw = db.prepare('SELECT * FROM evaluations WHERE id = ?').get(id) as RawEvaluation | undefined;
  if (!raw) throw new EngineError('evaluation_not_found', `there is no evaluation '${id}' in this catalog`, { hint: "list them with the 'evaluation.list' request" });
  return toEvaluation(raw);
}
