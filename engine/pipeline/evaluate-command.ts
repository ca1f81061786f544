// Scoring a zoo without a built-in task with its evaluator command: each model is exported (the
// export job's own writer: the zoo's format, layout, names and dtypes) into a private folder under
// the data folder, the command runs on that path, and the file goes as soon as the command ends —
// on success, failure and cancel alike. A folder left by a process that died is removed by the next
// evaluation.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isProcessAlive, type BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';
import { resolveModel } from '../catalog/models.js';
import type { ZooEvaluator } from '../protocol.js';
import { runEvaluator } from '../zoo/evaluator-command.js';
import { evaluateZooByCommand } from '../zoo/evaluate-by-command.js';
import type { ZooEvaluation } from '../zoo/evaluate.js';
import { exportModel } from './export.js';

/** `<data>/evaluator-files/`: one `PID-HEX` folder per running evaluation. */
export const EVALUATOR_FILES = 'evaluator-files';

export interface CommandEvaluationInput {
  zoo: string;
  evaluator: ZooEvaluator;
  originals: string[];
  generated: string[];
}

export async function evaluateWithCommand(catalog: Catalog, blobs: BlobStore, input: CommandEvaluationInput, ctx: JobContext): Promise<ZooEvaluation> {
  const root = join(catalog.dataDir, EVALUATOR_FILES);
  await removeLeftovers(root);
  const dir = join(root, `${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The export writes files only: its progress would fight the evaluation's over one bar.
  const quiet: JobContext = { ...ctx, progress: () => undefined };
  try {
    return await evaluateZooByCommand({
      zoo: input.zoo,
      command: input.evaluator.command,
      originals: input.originals.map((id) => ({ id })),
      generated: input.generated.map((id) => ({ id })),
      signal: ctx.signal,
      onProgress: (p) => ctx.progress({ fraction: p.fraction, stage: p.stage, metrics: p.metrics }),
      score: async (id) => {
        const out = join(dir, exportName(catalog, id));
        try {
          const exported = await exportModel(catalog, blobs, { id, out }, quiet);
          return await runEvaluator({ evaluator: input.evaluator, checkpoint: id, path: exported.path, signal: ctx.signal });
        } finally {
          await rm(out, { recursive: true, force: true });
        }
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A model's file name as its format names it: `ID.safetensors`, `ID.pth`, or a folder `ID` (PEFT adapter, timm hub). */
function exportName(catalog: Catalog, id: string): string {
  const model = resolveModel(catalog.db, id);
  if (model.format === 'peft' || model.layout === 'timm_hub') return id;
  return `${id}.${model.format}`;
}

async function removeLeftovers(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!isProcessAlive(pid)) await rm(join(root, name), { recursive: true, force: true });
  }
}
