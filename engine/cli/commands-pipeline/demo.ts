import type { DemoJobResult, DemoParams } from '../../protocol.js';
import type { Command } from '../command.js';
import { backendParam, stringOption } from './options.js';

export const demoCommand: Command = {
  name: 'demo',
  args: '[--quick] [--out DIR]',
  summary: 'collect → train → generate → evaluate, with an HTML report',
  help: `The whole path on built-in zoos, ending with a table in the terminal and report.html
(accuracy of originals vs generated, accuracy vs nearest-original IoU with the noise baseline,
the generator's loss curve).
  --quick     the digits MLP zoo with a slim generator (a few minutes on 2 cores)
              (default: MNIST zoos, up to half an hour)
  --out DIR   folder for report.html (default: <data>/reports/<timestamp>/)
With --json: {"zoos": [...], "report": PATH}.`,
  options: {
    quick: { type: 'boolean' },
    out: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const params: DemoParams = { quick: ctx.options.quick === true, ...backendParam(ctx) };
    const out = stringOption(ctx, 'out');
    if (out) params.out = out;
    const result = (await ctx.runJob('demo', params)) as DemoJobResult;
    ctx.print({ zoos: result.zoos, report: result.report, runs: result.runs, seconds: result.seconds }, () => `${result.table}\n\nreport: ${result.report}`);
  },
};
