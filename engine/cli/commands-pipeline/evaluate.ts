import type { EvaluateJobResult } from '../../protocol.js';
import { evaluationTable } from '../../report/table.js';
import type { ZooEvaluation } from '../../zoo/index.js';
import type { Command } from '../command.js';
import { backendParam } from './options.js';

export const evaluateCommand: Command = {
  name: 'evaluate',
  args: 'RUN',
  summary: "compare a run's generated models with its zoo's originals",
  help: `RUN: a run id. Tests every original checkpoint and every generated model of the run (10 are
generated first if there are none): accuracy best/avg/min in percent, and similarity as the IoU of
misclassified test samples with the nearest original, next to originals plus Gaussian noise.
Only zoos collected on a built-in task can be scored. With --json: {"zoos": [...]}.`,
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const result = (await ctx.runJob('evaluate', { run: ctx.positionals[0]!, ...backendParam(ctx) })) as EvaluateJobResult;
    ctx.print({ zoos: result.zoos, evaluation: result.evaluation }, () => evaluationTable(result.zoos as ZooEvaluation[]));
  },
};
