import type { ZooDetail, ZooEvaluator, ZooSummary } from '../protocol.js';
import type { Command } from './command.js';
import { UsageError } from './args.js';
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

export const zooSetEvaluatorCommand: Command = {
  name: 'zoo set-evaluator',
  args: 'NAME COMMAND | NAME --clear',
  summary: 'name the command that scores a zoo without a built-in task',
  help: `COMMAND, as one argument (quote it): your program that tests one checkpoint and prints its
accuracy, with {checkpoint} where the checkpoint's path goes, e.g. "python eval.py {checkpoint}".
'evaluate' then runs it on every original and every generated model, each exported to a temporary
file (or folder: PEFT adapters, timm hub checkpoints) in the zoo's format, removed afterwards.
  --timeout S   seconds one checkpoint may take (default 600); past it the evaluation fails
  --clear       remove the zoo's evaluator command
The command runs in the current folder, without a shell: it is split into words at spaces, '…'
and "…" group words with spaces, a backslash is an ordinary character. Its accuracy is the last
number on the last non-empty line it prints: followed by % it is a percent; otherwise a number above
1 is a percent (93.1) and one of at most 1 a fraction (0.931). It must exit with code 0.`,
  options: { timeout: { type: 'string' }, clear: { type: 'boolean' } },
  positionals: { min: 1, max: 2 },
  async run(ctx) {
    const [name, command] = ctx.positionals as [string, string | undefined];
    const clear = ctx.options.clear === true;
    if (clear === (command !== undefined)) {
      throw new UsageError(clear ? '--clear takes no COMMAND' : 'zoo set-evaluator needs the COMMAND, or --clear', `e.g. paramzoo zoo set-evaluator ${name} "python eval.py {checkpoint}"`);
    }
    const timeout = ctx.options.timeout;
    const timeoutSeconds = typeof timeout === 'string' ? Number(timeout) : undefined;
    if (timeoutSeconds !== undefined && !(Number.isInteger(timeoutSeconds) && timeoutSeconds >= 1)) {
      throw new UsageError(`--timeout must be a whole number of seconds ≥ 1, not '${String(timeout)}'`, 'e.g. --timeout 1800');
    }
    const zoo = await ctx.service().request('zoo.setEvaluator', {
      name,
      command: clear ? null : command!,
      ...(clear ? {} : { cwd: process.cwd() }),
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    });
    ctx.print(zoo, () => (zoo.evaluator ? `zoo '${zoo.name}' is scored by: ${describeEvaluator(zoo.evaluator)}` : `zoo '${zoo.name}' has no evaluator command`));
  },
};

function describeEvaluator(evaluator: ZooEvaluator): string {
  return `${evaluator.command}  (in ${evaluator.cwd}, at most ${evaluator.timeoutSeconds} s per checkpoint)`;
}

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
  help: `With --json: {"name", "task", "evaluator": {"command", "cwd", "timeoutSeconds"} or null, "signature": [{"name","dtype","shape"}],
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
  if (zoo.evaluator) lines.push(`evaluator: ${describeEvaluator(zoo.evaluator)}`);
  if (zoo.signature.length > 0) {
    lines.push(
      '',
      'signature:',
      table(
        ['tensor', 'dtype', 'shape'],
        zoo.signature.map((t) => [t.name, t.dtype, formatShape(t.shape)]),
      ),
    );
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
          Object.entries(c.metrics)
            .map(([k, v]) => `${k}=${formatNumber(v)}`)
            .join(' ') || '-',
          c.source,
        ]),
      ),
    );
  } else {
    lines.push('', "no checkpoints yet: add some with 'paramzoo import NAME PATH...'");
  }
  return lines.join('\n');
}
