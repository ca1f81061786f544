import type Database from 'better-sqlite3';
import { EngineError } from '../errors.js';

/** One schema step. Applied in order, each inside its own transaction; `PRAGMA user_version` counts how many ran. */
export type Migration = string | ((db: Database.Database) => void);

export const MIGRATIONS: readonly Migration[] = [
  // 1: zoos, their checkpoints, and the job log.
  `
  CREATE TABLE zoos (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    task TEXT,
    signature TEXT,            -- JSON [{name, dtype, shape}], null until the first import
    created_at TEXT NOT NULL
  );
  CREATE TABLE checkpoints (
    id TEXT PRIMARY KEY,
    zoo_id INTEGER NOT NULL REFERENCES zoos(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,      -- blob holding the tensors as safetensors
    format TEXT NOT NULL,      -- the source format, written back by export
    layout TEXT NOT NULL,
    signature TEXT NOT NULL,   -- JSON architecture signature of this checkpoint
    permutation_state INTEGER NOT NULL,
    condition TEXT,            -- JSON number[] or null
    metrics TEXT NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
  );
  CREATE INDEX checkpoints_by_zoo ON checkpoints(zoo_id);
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    progress TEXT NOT NULL,
    result TEXT,
    error TEXT,
    owner_pid INTEGER,         -- the process running it; a dead owner means the job was interrupted
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
  );
  `,
  // 2: generator runs, generated models and evaluations (filled by the train/generate/evaluate stages).
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    zoo_id INTEGER NOT NULL REFERENCES zoos(id) ON DELETE CASCADE,
    config TEXT NOT NULL,
    backend TEXT NOT NULL,
    status TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    loss_curve TEXT NOT NULL DEFAULT '[]',
    generator_sha256 TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE generated_models (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seed INTEGER NOT NULL,
    condition TEXT,
    sampler TEXT NOT NULL,
    steps INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
  );
  CREATE INDEX generated_models_by_run ON generated_models(run_id);
  CREATE TABLE evaluations (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  // 3 (engine/pipeline): a generated model's permutation state and generation time; the job training a run.
  `
  ALTER TABLE generated_models ADD COLUMN permutation_state INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE generated_models ADD COLUMN seconds REAL;
  ALTER TABLE runs ADD COLUMN job_id TEXT;
  `,
  // 4 (blob lifetime across processes): a blob a job has adopted but not yet referenced from a row.
  // The garbage collector never deletes a blob held by a live process (engine/catalog/gc.ts).
  `
  CREATE TABLE blob_holds (
    sha256 TEXT NOT NULL,
    job_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (sha256, job_id)
  );
  `,
  // 5 (quality checks while training): a few generated models judged every checkEvery steps (engine/catalog/run-checks.ts);
  // a run's measured seconds per step, which time estimates of later runs are calibrated with (engine/pipeline/estimate.ts).
  `
  ALTER TABLE runs ADD COLUMN seconds_per_step REAL;
  ALTER TABLE runs ADD COLUMN step_flops REAL;
  CREATE TABLE run_checks (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
  );
  `,
  // 6 (jobs across processes): another process asks the job's owner to cancel it (engine/jobs.ts polls for it).
  `
  ALTER TABLE jobs ADD COLUMN cancel_requested_at TEXT;
  `,
  // 7 (zoos without a built-in task): the user's evaluator command, JSON {command, cwd, timeoutSeconds} or null
  // (engine/zoo/evaluator-command.ts); evaluate runs it on originals and generated models alike.
  `
  ALTER TABLE zoos ADD COLUMN evaluator TEXT;
  `,
  // 8 (generated models' provenance): the run's training step the generator was at (a continued run
  // generates from a later state; evaluate scores one state), and the training images a model's
  // BatchNorm statistics were measured on (null: generated values, or no BatchNorm). Both null on older rows.
  `
  ALTER TABLE generated_models ADD COLUMN run_step INTEGER;
  ALTER TABLE generated_models ADD COLUMN batch_norm_images INTEGER;
  `,
];

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to `migrations.length`. Each step and its user_version bump commit
 * together, so a failing step leaves the database at the previous version.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS, file?: string): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new EngineError('catalog_too_new', `the catalog ${file ?? ''} has schema version ${current}, newer than this ParamZoo knows (${migrations.length})`, {
      file,
      hint: 'update ParamZoo, or use another data folder',
    });
  }
  for (let version = current; version < migrations.length; version += 1) {
    const step = migrations[version]!;
    // IMMEDIATE: two processes opening a new data folder at once take turns; the second sees the
    // version the first committed and skips the step instead of running it twice.
    db.transaction(() => {
      if (schemaVersion(db) !== version) return;
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
