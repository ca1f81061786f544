// Generated models (table of migration 2): the rows the generate job writes (one per model, its
// metrics once evaluated) and the list the app shows. A generated model's blob is exported like its
// zoo's first checkpoint (models.ts).
import type Database from 'better-sqlite3';
import type { GeneratedModelInfo, Id } from '../protocol.js';
import { newId, now } from './ids.js';

/** A generated_models row: the protocol's model without the names joined from runs and zoos. */
export type GeneratedModelRow = Omit<GeneratedModelInfo, 'run' | 'zoo'> & { runId: Id };

interface RawModelRow {
  id: string;
  run_id: string;
  seed: number;
  condition: string | null;
  sampler: string;
  steps: number;
  permutation_state: number;
  sha256: string;
  seconds: number | null;
  run_step: number | null;
  batch_norm_images: number | null;
  metrics: string;
  created_at: string;
  /** present when the query joins the zoos */
  zoo_name?: string;
}

/** A generated_models row as the engine uses it (JSON columns parsed). */
function toGeneratedModelRow(raw: RawModelRow): GeneratedModelRow {
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
    runStep: raw.run_step,
    batchNormImages: raw.batch_norm_images,
    metrics: JSON.parse(raw.metrics) as Record<string, number>,
    createdAt: raw.created_at,
  };
}

const SELECT_MODEL = `SELECT generated_models.*, zoos.name AS zoo_name FROM generated_models
  JOIN runs ON runs.id = generated_models.run_id JOIN zoos ON zoos.id = runs.zoo_id`;

export function insertGeneratedModel(db: Database.Database, model: Omit<GeneratedModelRow, 'id' | 'createdAt' | 'metrics'>): Id {
  const id = newId('generatedModel');
  db.prepare(
    `INSERT INTO generated_models (id, run_id, seed, condition, sampler, steps, permutation_state, sha256, seconds, run_step, batch_norm_images, metrics, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)`,
  ).run(
    id,
    model.runId,
    model.seed,
    model.condition ? JSON.stringify(model.condition) : null,
    model.sampler,
    model.steps,
    model.permutationState,
    model.sha256,
    model.seconds,
    model.runStep,
    model.batchNormImages,
    now(),
  );
  return id;
}

/** A run's generated models, in the order they were generated. */
export function listGeneratedModels(db: Database.Database, runId: Id): GeneratedModelRow[] {
  return (db.prepare(`${SELECT_MODEL} WHERE generated_models.run_id = ? ORDER BY generated_models.rowid`).all(runId) as RawModelRow[]).map(toGeneratedModelRow);
}

/**
 * A run's generated models from its generator as it is now (step `runStep`), and those generated
 * at earlier steps, before the run was continued. Rows older than the step's record count as current.
 */
export function generatedModelsByState(db: Database.Database, runId: Id, runStep: number): { current: GeneratedModelRow[]; earlier: GeneratedModelRow[] } {
  const rows = listGeneratedModels(db, runId);
  const isCurrent = (row: GeneratedModelRow) => row.runStep === null || row.runStep === runStep;
  return { current: rows.filter(isCurrent), earlier: rows.filter((row) => !isCurrent(row)) };
}

export function countGeneratedModels(db: Database.Database, runId: Id): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM generated_models WHERE run_id = ?').get(runId) as { n: number }).n;
}

/** Generated models as the app lists them: one run's in generation order, or every run's newest first. */
export function generatedModels(db: Database.Database, run?: Id): GeneratedModelInfo[] {
  const rows = (
    run === undefined
      ? db.prepare(`${SELECT_MODEL} ORDER BY generated_models.created_at DESC, generated_models.rowid DESC`).all()
      : db.prepare(`${SELECT_MODEL} WHERE generated_models.run_id = ? ORDER BY generated_models.rowid`).all(run)
  ) as RawModelRow[];
  return rows.map((raw) => {
    const { runId, ...row } = toGeneratedModelRow(raw);
    return { ...row, run: runId, zoo: raw.zoo_name! };
  });
}

export function setGeneratedModelMetrics(db: Database.Database, id: Id, metrics: Record<string, number>): void {
  db.prepare('UPDATE generated_models SET metrics = ? WHERE id = ?').run(JSON.stringify(metrics), id);
}
