// PEFT adapters (LoRA, DoRA): a folder with adapter_config.json and adapter_model.safetensors
// (or the legacy adapter_model.bin, a torch.save state_dict). The config travels verbatim in the
// metadata under "adapter_config.json", so a written-back folder loads in PEFT unchanged.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { fileInside, readTextInside } from './folder.js';
import { limitsOf, type ReadOptions } from './limits.js';
import * as safetensors from './safetensors.js';
import * as torch from './torch.js';
import type { TensorData } from '../tensors.js';
import type { OpenedCheckpoint } from './types.js';

export class PeftError extends EngineError {
  constructor(file: string, problem: string, hint = 'a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors (or adapter_model.bin); save it with model.save_pretrained(folder)') {
    super('peft_adapter_invalid', `${file}: ${problem}`, { file, hint });
  }
}

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = ['adapter_model.safetensors', 'adapter_model.bin'] as const;

/** A folder with an adapter_config.json (even a link or an oversized one: read() then says what is wrong with it). */
export async function isAdapterFolder(folder: string): Promise<boolean> {
  const found = await fileInside(folder, ADAPTER_CONFIG);
  return found.ok || found.exists;
}

export async function read(folder: string, options: ReadOptions = {}): Promise<OpenedCheckpoint> {
  const configPath = join(folder, ADAPTER_CONFIG);
  const configText = await readTextInside(folder, ADAPTER_CONFIG, limitsOf(options).configBytes, (file, problem) => new PeftError(file, problem,
    'replace the link with a copy of the file, or save the adapter again with model.save_pretrained(folder)'));
  let config: unknown;
  try {
    config = JSON.parse(configText);
  } catch (error) {
    throw new PeftError(configPath, `is not valid JSON (${(error as Error).message})`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new PeftError(configPath, 'is not a JSON object');

  let opened: OpenedCheckpoint | undefined;
  for (const name of ADAPTER_WEIGHTS) {
    const found = await fileInside(folder, name);
    if (!found.ok) continue;
    opened = name.endsWith('.safetensors') ? await safetensors.read(found.path, options) : await torch.read(found.path, options);
    break;
  }
  if (!opened) throw new PeftError(folder, `has ${ADAPTER_CONFIG} but neither ${ADAPTER_WEIGHTS.join(' nor ')}`);
  if (opened.tensors.length === 0) {
    await opened.close();
    throw new PeftError(folder, 'holds an adapter without tensors');
  }
  return {
    ...opened,
    format: 'peft',
    layout: 'peft_adapter',
    path: folder,
    metadata: { ...opened.metadata, [ADAPTER_CONFIG]: configText },
  };
}

/**
 * Writes `folder` as PEFT saves it: adapter_config.json (from metadata["adapter_config.json"],
 * byte for byte) and adapter_model.safetensors (with the remaining metadata). Each file is written atomically.
 */
export async function write(folder: string, tensors: TensorData[], metadata: Record<string, string>): Promise<void> {
  const { [ADAPTER_CONFIG]: configText, ...rest } = metadata;
  if (configText === undefined) {
    throw new PeftError(folder, `cannot be written: the adapter's ${ADAPTER_CONFIG} is not in its metadata`,
      'export PEFT adapters from checkpoints that were imported from a PEFT adapter folder');
  }
  try {
    JSON.parse(configText);
  } catch {
    throw new PeftError(folder, `cannot be written: metadata "${ADAPTER_CONFIG}" is not JSON`);
  }
  safetensors.validateTensors(folder, tensors, (file, problem, hint) => new PeftError(file, problem, hint ?? 'fix the tensors passed to the writer'));
  const existing = await stat(folder).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new PeftError(folder, 'exists and is not a folder', 'choose a folder path for a PEFT adapter');
  await mkdir(folder, { recursive: true });
  await safetensors.write(join(folder, ADAPTER_WEIGHTS[0]), tensors, { format: 'pt', ...rest });
  await writeFileAtomic(join(folder, ADAPTER_CONFIG), async (file) => {
    await file.writeFile(configText, 'utf8');
  });
}
