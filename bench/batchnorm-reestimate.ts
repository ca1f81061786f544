// Generated CNNs with their BatchNorm running statistics as generated vs measured on training images
// (update_bn, the generate job's default): the same run, the same seeds, the same evaluator. Prints
// one row per side (test-split accuracy best / avg / min) next to the originals, and a JSON document.
//
//   node --import tsx bench/batchnorm-reestimate.ts --data DIR --run RUN [--count 10] [--seed 1]
//
// DIR is a data folder holding a trained run of a zoo with a BatchNorm task (mnist-cnn, digits-cnn).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { EvaluateJobResult, GenerateJobResult } from '../engine/protocol.js';
import type { ZooEvaluation } from '../engine/zoo/evaluate.js';
import { summarize } from '../engine/zoo/index.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    run: { type: 'string' },
    count: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
  },
});
if (!values.data || !values.run) throw new Error('--data DIR and --run RUN are required');
const BIN = resolve('bin/paramzoo.js');

function paramzoo<T>(args: string[]): T {
  const stdout = execFileSync(process.execPath, [BIN, ...args, '--data', values.data!, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(stdout) as T;
}

const sides = ['generated', 'reestimate'] as const;
const ids = new Map<string, (typeof sides)[number]>();
const seconds: Record<string, number> = {};
for (const side of sides) {
  const started = performance.now();
  const result = paramzoo<GenerateJobResult>(['generate', values.run, '--count', values.count, '--seed', values.seed, '--batch-norm', side]);
  seconds[side] = (performance.now() - started) / 1000;
  for (const model of result.models) ids.set(model.id, side);
}
const evaluation = paramzoo<EvaluateJobResult>(['evaluate', values.run]).zoos[0]!;
const details = evaluation.details as ZooEvaluation['details'];
const rows = sides.map((side) => {
  const accuracies = details.generated.filter((g) => ids.get(g.id!) === side).map((g) => g.accuracy);
  return { side: side === 'generated' ? 'statistics as generated' : 'statistics measured (update_bn)', generateSeconds: +seconds[side]!.toFixed(1), ...summarize(accuracies), accuracies };
});
const fmt = (v: number | null) => (v === null ? '—' : v.toFixed(2));
console.log(`originals: ${fmt(evaluation.originals.best)} / ${fmt(evaluation.originals.avg)} / ${fmt(evaluation.originals.min)}`);
for (const row of rows) console.log(`${row.side.padEnd(34)} ${fmt(row.best)} / ${fmt(row.avg)} / ${fmt(row.min)}  (generate ${row.generateSeconds} s)`);
console.log(JSON.stringify({ run: values.run, count: Number(values.count), seed: Number(values.seed), originals: evaluation.originals, rows }));
