import type { GenerateJobResult, GenerateParams } from '../../protocol.js';
import type { Command } from '../command.js';
import { backendParam, numberOption, parseCondition, stringOption } from './options.js';

export const generateCommand: Command = {
  name: 'generate',
  args: 'RUN',
  summary: 'generate models with a trained run',
  help: `RUN: a run id printed by 'paramzoo train'. Model i uses seed S+i; the same run, seed,
condition and sampler give the same weights (same sha256) on the same backend.
  --count N                       models to generate (default 10)
  --seed S                        first seed (default 0)
  --sampler ddpm|ddim             default: the run's (ddim)
  --sampler-steps K               DDIM steps (default: the run's, 60); not with ddpm, which
                                  always takes every diffusion step
  --condition 0101010101          task vector, for runs of task-conditioned zoos
  --mode sequential|partial|full  tokens denoised at once: 1, chunks of 256, all
  --batch-norm reestimate|generated
                                  models of a built-in task with BatchNorm layers: measure their
                                  running statistics on up to 2048 training images, as PyTorch's
                                  update_bn (default), or keep the generated values
With --json: {"models": [{"id", "seed", "sha256", "seconds"}], "batchNormImages"}. Export with
'paramzoo export ID'.`,
  options: {
    count: { type: 'string' },
    seed: { type: 'string' },
    sampler: { type: 'string' },
    'sampler-steps': { type: 'string' },
    condition: { type: 'string' },
    mode: { type: 'string' },
    'batch-norm': { type: 'string' },
  },
  refused: {
    steps: {
      type: 'string',
      why: "--steps is train's (training steps); the sampler's steps are --sampler-steps",
      hint: 'e.g. paramzoo generate RUN --sampler-steps 60',
    },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const params: GenerateParams = { run: ctx.positionals[0]!, ...backendParam(ctx) };
    const count = numberOption(ctx, 'count');
    if (count !== undefined) params.count = count;
    const seed = numberOption(ctx, 'seed');
    if (seed !== undefined) params.seed = seed;
    const samplerSteps = numberOption(ctx, 'sampler-steps');
    if (samplerSteps !== undefined) params.samplerSteps = samplerSteps;
    const sampler = stringOption(ctx, 'sampler');
    if (sampler !== undefined) params.sampler = sampler as GenerateParams['sampler'];
    const mode = stringOption(ctx, 'mode');
    if (mode !== undefined) params.mode = mode as GenerateParams['mode'];
    const batchNorm = stringOption(ctx, 'batch-norm');
    if (batchNorm !== undefined) params.batchNorm = batchNorm as GenerateParams['batchNorm'];
    const condition = stringOption(ctx, 'condition');
    if (condition !== undefined) params.condition = parseCondition(condition);
    const result = (await ctx.runJob('generate', params)) as GenerateJobResult;
    ctx.print({ models: result.models, batchNormImages: result.batchNormImages }, () =>
      [
        `generated ${result.models.length} model${result.models.length === 1 ? '' : 's'} with run ${result.run} on ${result.backend}:`,
        ...result.models.map((m) => `  ${m.id}  seed ${m.seed}  permutation state ${m.permutationState}  ${m.seconds.toFixed(1)} s  sha256 ${m.sha256}`),
        ...(result.batchNormImages ? [`BatchNorm running statistics measured on ${result.batchNormImages} training images (--batch-norm generated keeps the generated ones)`] : []),
      ].join('\n'),
    );
  },
};
