import { CHECKPOINT_FORMATS, type CheckpointFormat, type ExportResult } from '../protocol.js';
import { EngineError } from '../errors.js';
import type { Command } from './command.js';

export const exportCommand: Command = {
  name: 'export',
  args: 'ID --out PATH [--format safetensors|pth|peft] [--force]',
  summary: 'write a checkpoint or generated model to disk in its source format',
  help: `ID: a checkpoint id (see 'paramzoo zoo show NAME') or a generated model id.
  --out PATH      where to write (a folder for PEFT adapters and timm hub checkpoints)
  --format F      safetensors, pth or peft; default: the format the checkpoint was imported in
  --force         replace PATH when it exists (otherwise export refuses to overwrite)
Dtypes and tensor names are those of the original. With --json: {"path", "format", "sha256"}
(sha256 of the written weights file).`,
  options: {
    out: { type: 'string' },
    format: { type: 'string' },
    force: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const out = ctx.options.out;
    if (typeof out !== 'string' || out === '') {
      throw new EngineError('bad_option', 'export needs --out PATH', { hint: 'e.g. paramzoo export ck_... --out model.safetensors' });
    }
    const format = ctx.options.format;
    if (format !== undefined && !CHECKPOINT_FORMATS.includes(format as CheckpointFormat)) {
      throw new EngineError('bad_option', `--format must be one of ${CHECKPOINT_FORMATS.join(', ')}, not '${String(format)}'`, { hint: 'e.g. --format pth' });
    }
    const params = {
      id: ctx.positionals[0]!,
      out,
      ...(format ? { format: format as CheckpointFormat } : {}),
      ...(ctx.options.force === true ? { force: true } : {}),
    };
    const result = (await ctx.runJob('export', params)) as ExportResult;
    ctx.print(result, () => `wrote ${result.path} (${result.format}, sha256 ${result.sha256})`);
  },
};
