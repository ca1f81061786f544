import type { TrainJobResult, TrainParams } from '../../protocol.js';
import type { Command } from '../command.js';
import { describeCheck } from '../../report/checks.js';
import { backendParam, numberOption, parseSettings, stringOption } from './options.js';

export const trainCommand: Command = {
  name: 'train',
  args: 'NAME',
  summary: 'train a generator (RPG) on a zoo → run id',
  help: `NAME: the zoo. The generator config is a preset (chosen from the zoo's size unless --preset)
plus overrides; it is printed with the result and stored with the run. The generator's state is
saved every saveEvery steps and at the end. Every checkEvery steps (and at the end) a few models
are generated and scored against the originals (on the task's check split, never the test split;
weight statistics for a zoo without a task); --set stopEarly=true stops at the first check within the
bar (off by default: 3 check models can pass before 10 do); --set checkEvery=0 turns checks off.
  --preset P         digits, binary, mnist (measured on those zoos), tiny, tiny-slim, small, medium, large
  --steps N          training steps (with --resume: the step to continue to)
  --set key=value    any generator setting (repeatable), e.g. --set lr=0.0005 --set denoiserChannels=16,32,16
  --resume RUN       continue RUN from its last save (after a crash or a cancel; with --steps, a finished run further)
With --json: {"run", "steps", "stoppedEarly", "lastCheck", "finalLoss", "secondsPerStep", "config"}.`,
  options: {
    preset: { type: 'string' },
    steps: { type: 'string' },
    set: { type: 'string', multiple: true },
    resume: { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const params: TrainParams = { zoo: ctx.positionals[0]!, ...backendParam(ctx) };
    const preset = stringOption(ctx, 'preset');
    if (preset) params.preset = preset;
    const steps = numberOption(ctx, 'steps');
    if (steps !== undefined) params.steps = steps;
    const set = ctx.options.set;
    if (Array.isArray(set)) params.set = parseSettings(set.map(String));
    const resume = stringOption(ctx, 'resume');
    if (resume) params.resume = resume;
    const result = (await ctx.runJob('train', params)) as TrainJobResult;
    ctx.print(
      result,
      () =>
        `run ${result.run} on zoo '${result.zoo}': ${result.steps} steps${result.stoppedEarly ? ` (stopped early: the check at step ${result.steps} is within the bar)` : ''}, ` +
        `final loss ${result.finalLoss.toFixed(4)}, ${result.secondsPerStep.toFixed(3)} s/step on ${result.backend}` +
        (result.lastCheck ? `\nlast ${describeCheck(result.lastCheck)}` : '') +
        `\nconfig ${JSON.stringify(result.config)}`,
    );
  },
};
