// The export job: a checkpoint or generated model back to disk in its source format (or the one
// asked for), dtypes and names as imported. PEFT adapters and timm hub checkpoints are folders.
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CHECKPOINT_FORMATS, type ExportResult, type ParamsOf } from '../protocol.js';
import type { TensorData } from '../tensors.js';
import { EngineError } from '../errors.js';
import { openCheckpoint, writeCheckpoint, writesFolder } from '../formats/index.js';
import { sha256OfFile, type BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';
import { resolveModel, type StoredModel } from '../catalog/models.js';
import { readAllTensors } from './stored.js';

export type ExportParams = ParamsOf<'export'>;

export async function exportModel(catalog: Catalog, blobs: BlobStore, params: ExportParams, ctx: JobContext): Promise<ExportResult> {
  const model = resolveModel(catalog.db, params.id);
  const format = params.format ?? model.format;
  if (!CHECKPOINT_FORMATS.includes(format)) {
    throw new EngineError('bad_option', `'format' ${format} is not one of ${CHECKPOINT_FORMATS.join(', ')}`, { hint: "e.g. 'format': safetensors", fields: ['format'] });
  }
  if (format === 'peft' && model.layout !== 'peft_adapter') {
    throw new EngineError('bad_option', `${params.id} is a ${model.layout} checkpoint, not a PEFT adapter: it cannot be exported as peft`, {
      hint: "use 'format': safetensors or pth",
      fields: ['format'],
    });
  }
  const out = resolve(params.out);
  const asFolder = writesFolder(format, model.layout);
  const existing = await stat(out).catch(() => null);
  if (existing && existing.isDirectory() !== asFolder) {
    throw new EngineError('bad_output', `${out} already exists as a ${existing.isDirectory() ? 'folder' : 'file'}, but a ${format} ${asFolder ? 'export is a folder' : 'export is a file'}`, {
      file: out,
      hint: "choose another 'out' path",
      fields: ['out'],
    });
  }
  await refuseOverwrite(out, params.force === true);

  ctx.progress({ fraction: 0, stage: 'reading' });
  const tensors = await readTensors(blobs, model, ctx);
  ctx.throwIfCancelled();
  // Checked again right before writing: the path may have appeared while the tensors were read.
  await refuseOverwrite(out, params.force === true);
  ctx.progress({ fraction: 0.5, stage: 'writing' });
  const weights = await writeCheckpoint(format, out, tensors, model.metadata, model.layout);
  return { path: out, format, sha256: await sha256OfFile(weights) };
}

/** An export never replaces a file (or fills a non-empty folder) unless asked with `force`. */
async function refuseOverwrite(out: string, force: boolean): Promise<void> {
  if (force) return;
  const existing = await stat(out).catch(() => null);
  if (!existing) return;
  if (existing.isDirectory() && (await readdir(out)).length === 0) return;
  throw new EngineError('output_exists', `${out} already exists; export does not overwrite it`, {
    file: out,
    hint: "choose another 'out' path, or give 'force' to replace it",
    fields: ['out', 'force'],
  });
}

async function readTensors(blobs: BlobStore, model: StoredModel, ctx: JobContext): Promise<TensorData[]> {
  const opened = await openCheckpoint(blobs.existingPath(model.sha256));
  try {
    return await readAllTensors(opened, ctx);
  } finally {
    await opened.close();
  }
}
