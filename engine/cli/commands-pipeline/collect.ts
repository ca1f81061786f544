import type { CollectJobResult, CollectParams } from '../../protocol.js';
import { EngineError } from '../../errors.js';
import type { Command } from '../command.js';
import { backendParam, numberOption, pct, stringOption } from './options.js';

export const collectCommand: Command = {
  name: 'collect',
  args: 'TASK --zoo NAME',
  summary: 'train a zoo of checkpoints on a built-in task',
  help: `TASK: digits-mlp, digits-cnn, digits-binary, mnist-mlp, mnist-cnn, fashion-cnn.
Trains --seeds runs for --epochs, then one more epoch saving --checkpoints checkpoints evenly
through it (each tested); a checkpoint's permutation state is its run's index.
  --zoo NAME          the zoo to fill (created; an empty zoo is filled)
  --seeds N           training runs (default: the task's)
  --checkpoints K     checkpoints per run (default: the task's)
  --epochs E          epochs before the checkpoint epoch (default: the task's)
  --batch-size B, --lr X, --seed S, --subset N (first N training samples), --tasks N (digits-binary)
digits-binary also collects the 20 held-out task vectors into the zoo NAME-heldout.
With --json: {"zoo", "heldOutZoo", "task", "checkpoints", "heldOutCheckpoints", "accuracy", "seconds"}.`,
  options: {
    zoo: { type: 'string' },
    seeds: { type: 'string' },
    checkpoints: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    subset: { type: 'string' },
    tasks: { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const zoo = stringOption(ctx, 'zoo');
    if (!zoo) throw new EngineError('bad_option', 'collect needs --zoo NAME', { hint: `e.g. paramzoo collect ${ctx.positionals[0]} --zoo my-zoo` });
    const params: CollectParams = { task: ctx.positionals[0]!, zoo, ...backendParam(ctx) };
    const set = (key: keyof CollectParams, value: number | undefined) => {
      if (value !== undefined) (params as unknown as Record<string, unknown>)[key] = value;
    };
    set('seeds', numberOption(ctx, 'seeds'));
    set('checkpointsPerSeed', numberOption(ctx, 'checkpoints'));
    set('epochs', numberOption(ctx, 'epochs'));
    set('batchSize', numberOption(ctx, 'batch-size'));
    set('lr', numberOption(ctx, 'lr', 'number'));
    set('seed', numberOption(ctx, 'seed'));
    set('trainSubset', numberOption(ctx, 'subset'));
    set('tasks', numberOption(ctx, 'tasks'));
    const result = (await ctx.runJob('collect', params)) as CollectJobResult;
    ctx.print(
      result,
      () =>
        `collected ${result.checkpoints} checkpoints of ${result.task} into zoo '${result.zoo}'` +
        `${result.heldOutZoo ? ` (+${result.heldOutCheckpoints} held-out task models in '${result.heldOutZoo}')` : ''} in ${result.seconds.toFixed(1)} s on ${result.backend}\n` +
        `accuracy best ${pct(result.accuracy.best)}, avg ${pct(result.accuracy.avg)}, min ${pct(result.accuracy.min)}`,
    );
  },
};
