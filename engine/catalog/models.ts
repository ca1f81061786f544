import type Database from 'better-sqlite3';
import type { CheckpointFormat, CheckpointLayout, Id } from '../protocol.js';
import { EngineError } from '../errors.js';
import { getCheckpoint, firstCheckpoint } from './checkpoints.js';
import { idKind } from './ids.js';

/** Whatever `export` and `inspect` can take by id: where its tensors are and how to write them back. */
export interface StoredModel {
  id: Id;
  kind: 'checkpoint' | 'generatedModel';
  zoo: string;
  /** blob holding the tensors (safetensors) */
  sha256: string;
  /** the source format and layout of the zoo's checkpoints, written back by export */
  format: CheckpointFormat;
  layout: CheckpointLayout;
  metadata: Record<string, string>;
  source: string | null;
}

export class ModelNotFoundError extends EngineError {
  constructor(id: string) {
    super('model_not_found', `'${id}' is neither a checkpoint nor a generated model in this catalog`, {
      hint: "a zoo's checkpoint ids are listed with the zoo (zoo.show); check that this is the right data folder",
    });
  }
}

/**
 * Resolves a checkpoint id (`ck_…`) or a generated model id (`gm_…`). A generated model is written
 * back like its zoo's first checkpoint: same format, layout and metadata (PEFT adapter config, timm config).
 */
export function resolveModel(db: Database.Database, id: Id): StoredModel {
  const kind = idKind(id);
  if (kind === 'checkpoint') {
    const checkpoint = getCheckpoint(db, id);
    if (checkpoint) {
      const { format, layout, metadata, sha256, source, zoo } = checkpoint;
      return { id, kind: 'checkpoint', zoo, sha256, format, layout, metadata, source };
    }
  } else if (kind === 'generatedModel') {
    const row = db
      .prepare(
        `SELECT generated_models.sha256 AS sha256, runs.zoo_id AS zoo_id, zoos.name AS zoo
         FROM generated_models JOIN runs ON runs.id = generated_models.run_id JOIN zoos ON zoos.id = runs.zoo_id
         WHERE generated_models.id = ?`,
      )
      .get(id) as { sha256: string; zoo_id: number; zoo: string } | undefined;
    if (row) {
      const template = firstCheckpoint(db, row.zoo_id);
      return {
        id,
        kind: 'generatedModel',
        zoo: row.zoo,
        sha256: row.sha256,
        format: template?.format ?? 'safetensors',
        layout: template?.layout ?? 'state_dict',
        metadata: template?.metadata ?? {},
        source: null,
      };
    }
  }
  throw new ModelNotFoundError(id);
}
