import type { ImportParams, ImportResult } from '../protocol.js';
import { EngineError } from '../errors.js';
import type { Command } from './command.js';
import { plural } from './text.js';

export const importCommand: Command = {
  name: 'import',
  args: 'NAME PATH...',
  summary: 'add checkpoints (files or folders) to a zoo',
  help: `PATH: checkpoint files, checkpoint folders (PEFT adapter, timm hub folder), or folders,
which are scanned for checkpoint files. Every file must match the zoo's signature (set by the
first import); otherwise nothing is imported.
  --permutation-state N   permutation state of the first file (the next ones count up);
                          default: each checkpoint's index in the zoo
  --permutation-states 0,0,1,1,...
                          one state per checkpoint found, in order (e.g. the run each came from)
  --condition 0,1,...     task condition stored with every imported checkpoint
With --json: {"imported": [{"id", "source"}]}.`,
  options: {
    'permutation-state': { type: 'string' },
    'permutation-states': { type: 'string' },
    condition: { type: 'string' },
  },
  positionals: { min: 2, max: Infinity },
  async run(ctx) {
    const [zoo, ...paths] = ctx.positionals as [string, ...string[]];
    const params: ImportParams = { zoo, paths };
    const state = ctx.options['permutation-state'];
    if (typeof state === 'string') params.permutationState = parseWholeNumber(state, '--permutation-state');
    const states = ctx.options['permutation-states'];
    if (typeof states === 'string') params.permutationStates = parseNumberList(states, '--permutation-states');
    const condition = ctx.options.condition;
    if (typeof condition === 'string') params.condition = parseNumberList(condition, '--condition');
    const result = (await ctx.runJob('import', params)) as ImportResult;
    ctx.print(result, () => [`imported ${plural(result.imported.length, 'checkpoint')} into zoo '${zoo}':`, ...result.imported.map((c) => `  ${c.id}  ${c.source}`)].join('\n'));
  },
};

export function parseWholeNumber(text: string, option: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new EngineError('bad_option', `${option} must be a whole number ≥ 0, not '${text}'`, { hint: `e.g. ${option} 3` });
  }
  return Number(text);
}

export function parseNumberList(text: string, option: string): number[] {
  const values = text.split(',').map((part) => part.trim());
  if (values.some((part) => part === '' || !Number.isFinite(Number(part)))) {
    throw new EngineError('bad_option', `${option} must be comma-separated numbers, not '${text}'`, { hint: `e.g. ${option} 0,1,1,0` });
  }
  return values.map(Number);
}
