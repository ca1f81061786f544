import type { InspectResult } from '../protocol.js';
import type { Command } from './command.js';
import { formatNumber, formatShape, plural, table } from './text.js';

export const inspectCommand: Command = {
  name: 'inspect',
  args: 'PATH|ID',
  summary: 'show the format and tensors of a checkpoint file or folder, or of a catalog id',
  help: `PATH is a checkpoint file (.safetensors, .pth, .pth.tar, .bin) or folder (PEFT adapter,
timm hub folder); ID is a checkpoint or generated model id from the catalog.
With --json: {"format", "layout", "path", "tensors": {NAME: {"dtype", "shape", "sum", "first"}}, "metadata"}.`,
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const result = await ctx.service().request('inspect', { path: ctx.positionals[0]! });
    ctx.print(result, () => renderInspect(result));
  },
};

function renderInspect(result: InspectResult): string {
  const entries = Object.entries(result.tensors);
  const parameters = entries.reduce((total, [, t]) => total + t.shape.reduce((n, d) => n * d, 1), 0);
  const lines = [
    `${result.id ? `${result.id} (${result.path})` : result.path}`,
    `format ${result.format}, layout ${result.layout}, ${plural(entries.length, 'tensor')}, ${plural(parameters, 'parameter')}`,
    '',
    table(
      ['tensor', 'dtype', 'shape', 'sum', 'first'],
      entries.map(([name, t]) => [name, t.dtype, formatShape(t.shape), formatNumber(t.sum), t.first.map(formatNumber).join(' ')]),
    ),
  ];
  const metadata = Object.entries(result.metadata);
  if (metadata.length > 0) {
    lines.push('', 'metadata:');
    for (const [key, value] of metadata) {
      const oneLine = value.replace(/\s+/g, ' ');
      lines.push(`  ${key}: ${oneLine.length > 100 ? `${oneLine.slice(0, 97)}...` : oneLine}`);
    }
  }
  return lines.join('\n');
}
