import type { ZooDetail, ZooSummary } from '../protocol.js';
import type { Command } from './command.js';
import { formatNumber, formatShape, plural, table } from './text.js';

export const zooCreateCommand: Command = {
  name: 'zoo create',
  args: 'NAME',
  summary: 'create an empty zoo',
  help: `NAME: letters, digits, dots, dashes, underscores. The first import sets the zoo's architecture signature.
  --task T   the built-in task its checkpoints are models of (e.g. digits-mlp), so that 'evaluate'
             can test them and models generated from them`,
  options: { task: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const task = typeof ctx.options.task === 'string' ? ctx.options.task : undefined;
    const zoo = await ctx.service().request('zoo.create', { name: ctx.positionals[0]!, ...(task !== undefined ? { task } : {}) });
    ctx.print(zoo, () => `created zoo '${zoo.name}'`);
  },
};

export const zooListCommand: Command = {
  name: 'zoo list',
  args: '',
  summary: 'list the zoos',
  help: 'With --json: [{"name", "checkpointCount", "parameterCount", "task", "createdAt"}].',
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const zoos = await ctx.service().request('zoo.list', {});
    ctx.print(zoos, () => renderZooList(zoos));
  },
};

export const zooShowCommand: Command = {
  name: 'zoo show',
  args: 'NAME',
  summary: "one zoo's checkpoints, signature and metrics",
  help: `With --json: {"name", "task", "signature": [{"name","dtype","shape"}],
"checkpoints": [{"id", "format", "layout", "source", "sha256", "permutationState", "condition", "metrics", "metadata", "createdAt"}]}.`,
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const zoo = await ctx.service().request('zoo.show', { name: ctx.positionals[0]! });
    ctx.print(zoo, () => renderZoo(zoo));
  },
};

function renderZooList(zoos: ZooSummary[]): string {
  if (zoos.length === 0) return "no zoos yet: create one with 'paramzoo zoo create NAME'";
  return table(
    ['zoo', 'checkpoints', 'parameters', 'task', 'created'],
    zoos.map((zoo) => [zoo.name, String(zoo.checkpointCount), String(zoo.parameterCount), zoo.task ?? '-', zoo.createdAt]),
  );
}

function renderZoo(zoo: ZooDetail): string {
  const parameters = zoo.signature.reduce((total, t) => total + t.shape.reduce((n, d) => n * d, 1), 0);
  const lines = [`zoo ${zoo.name}${zoo.task ? ` (task ${zoo.task})` : ''}: ${plural(zoo.checkpoints.length, 'checkpoint')}, ${plural(parameters, 'parameter')} each`];
  if (zoo.signature.length > 0) {
    lines.push('', 'signature:', table(['tensor', 'dtype', 'shape'], zoo.signature.map((t) => [t.name, t.dtype, formatShape(t.shape)])));
  }
  if (zoo.checkpoints.length > 0) {
    lines.push(
      '',
      'checkpoints:',
      table(
        ['id', 'format', 'permutation', 'condition', 'metrics', 'source'],
        zoo.checkpoints.map((c) => [
          c.id,
          c.format,
          String(c.permutationState),
          c.condition ? c.condition.join(',') : '-',
          Object.entries(c.metrics).map(([k, v]) => `${k}=${formatNumber(v)}`).join(' ') || '-',
          c.source,
        ]),
      ),
    );
  } else {
    lines.push('', "no checkpoints yet: add some with 'paramzoo import NAME PATH...'");
  }
  return lines.join('\n');
}
