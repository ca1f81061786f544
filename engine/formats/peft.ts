// PEFT adapters (LoRA, DoRA): a folder with adapter_config.json and adapter_model.safetensors
// (or the legacy adapter_model.bin, a torch.save state_dict). DoRA comes in two spellings: PEFT's
// own ("peft_type": "LORA" with "use_dora": true) and the research code's ("peft_type": "DORA").
// The config travels verbatim in the metadata under "adapter_config.json", so a written-back
// folder holds it byte for byte and loads in PEFT unchanged.
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EngineError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import type { CheckpointFormat } from '../protocol.js';
import { fileInside, readTextInside } from './folder.js';
import { limitsOf, type ReadOptions } from './limits.js';
import * as safetensors from './safetensors.js';
import * as torch from './torch.js';
import type { FolderFormatModule, OpenedCheckpoint, TensorInput, WrittenFile } from './types.js';

const SAVE_AGAIN = 'save the adapter again with model.save_pretrained(folder)';

export class PeftError extends EngineError {
  constructor(file: string, problem: string, hint = `a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors (or adapter_model.bin); ${SAVE_AGAIN}`) {
    super('peft_adapter_invalid', `${file}: ${problem}`, { file, hint });
  }
}

const ADAPTER_CONFIG = 'adapter_config.json';
const ADAPTER_WEIGHTS = ['adapter_model.safetensors', 'adapter_model.bin'] as const;

/** The adapter types ParamZoo reads: LoRA, and DoRA in either spelling. */
const PEFT_TYPES = ['LORA', 'DORA'];

export interface AdapterConfig {
  peftType: string;
  /** DoRA: "peft_type": "LORA" with "use_dora": true (PEFT), or "peft_type": "DORA" (research code) */
  dora: boolean;
}

/** Checks what ParamZoo relies on in an adapter_config.json; `file` names it in the errors. */
export function parseAdapterConfig(file: string, text: string): AdapterConfig {
  let config: unknown;
  try {
    // a byte-order mark stays in the text (written back as it came) but is no JSON
    config = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new PeftError(file, `is not valid JSON (${(error as Error).message})`, `fix the file, or ${SAVE_AGAIN}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new PeftError(file, 'is not a JSON object', `fix the file, or ${SAVE_AGAIN}`);
  const { peft_type: peftType, use_dora: useDora } = config as Record<string, unknown>;
  if (peftType === undefined) {
    throw new PeftError(file, 'has no "peft_type"', 'add "peft_type": "LORA" (and "use_dora": true for a DoRA adapter), as PEFT writes it');
  }
  if (typeof peftType !== 'string' || !PEFT_TYPES.includes(peftType)) {
    throw new PeftError(
      file,
      `has "peft_type": ${JSON.stringify(peftType)}, which ParamZoo does not read`,
      'ParamZoo reads LoRA and DoRA adapters: "peft_type": "LORA" (with "use_dora": true for DoRA) or "DORA"',
    );
  }
  if (useDora !== undefined && useDora !== null && typeof useDora !== 'boolean') {
    throw new PeftError(file, `has "use_dora": ${JSON.stringify(useDora)}, not true or false`, 'set "use_dora": true for a DoRA adapter, false for LoRA');
  }
  return { peftType, dora: peftType === 'DORA' || useDora === true };
}

async function present(folder: string, name: string): Promise<boolean> {
  const found = await fileInside(folder, name);
  return found.ok || found.exists;
}

/** A folder with an adapter config or adapter weights (even a link or an oversized file: read() then says what is wrong). */
async function match(folder: string): Promise<boolean> {
  for (const name of [ADAPTER_CONFIG, ...ADAPTER_WEIGHTS]) if (await present(folder, name)) return true;
  return false;
}

/** An adapter's weights mean nothing without the config beside them: they open as the adapter folder. */
async function folderOf(file: string): Promise<string | undefined> {
  if (!(ADAPTER_WEIGHTS as readonly string[]).includes(basename(file))) return undefined;
  return (await present(dirname(file), ADAPTER_CONFIG)) ? dirname(file) : undefined;
}

async function read(folder: string, options: ReadOptions = {}): Promise<OpenedCheckpoint> {
  const configPath = join(folder, ADAPTER_CONFIG);
  if (!(await present(folder, ADAPTER_CONFIG))) {
    throw new PeftError(configPath, 'does not exist, and adapter weights mean nothing without it', `copy the adapter_config.json saved with these weights into ${folder}, or ${SAVE_AGAIN}`);
  }
  const configText = await readTextInside(
    folder,
    ADAPTER_CONFIG,
    limitsOf(options).configBytes,
    (file, problem) => new PeftError(file, problem, `replace the link with a copy of the file, or ${SAVE_AGAIN}`),
  );
  parseAdapterConfig(configPath, configText);

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
 * byte for byte) and adapter_model.safetensors (with the remaining metadata). Everything is
 * checked before the folder is made; each file is written atomically.
 */
async function write(folder: string, _format: CheckpointFormat, tensors: readonly TensorInput[], metadata: Record<string, string>): Promise<WrittenFile> {
  const { [ADAPTER_CONFIG]: configText, ...rest } = metadata;
  if (configText === undefined) {
    throw new PeftError(folder, `cannot be written: the adapter's ${ADAPTER_CONFIG} is not in its metadata`, 'export PEFT adapters from checkpoints that were imported from a PEFT adapter folder');
  }
  parseAdapterConfig(`${folder} (metadata "${ADAPTER_CONFIG}")`, configText);
  safetensors.validateTensors(folder, tensors, (file, problem, hint) => new PeftError(file, problem, hint ?? 'fix the tensors passed to the writer'));
  const existing = await stat(folder).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new PeftError(folder, 'exists and is not a folder', 'choose a folder path for a PEFT adapter');
  await mkdir(folder, { recursive: true });
  const weights = await safetensors.write(join(folder, ADAPTER_WEIGHTS[0]), tensors, { format: 'pt', ...rest });
  await writeFileAtomic(join(folder, ADAPTER_CONFIG), async (file) => {
    await file.writeFile(configText, 'utf8');
  });
  return weights;
}

export const peftFolder: FolderFormatModule = {
  name: 'peft',
  layout: 'peft_adapter',
  match,
  folderOf,
  read,
  writes: (format) => format === 'peft',
  write,
};
