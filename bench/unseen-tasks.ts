// Unseen-task generation on the digits binary-task family (the fidelity issue, item 5): for each
// number of seen tasks, each reach of the task condition (every token, or only the last N tokens as
// the reference does) and each step count, a generator is trained from scratch on a zoo of that
// many seen tasks (once per generator seed), then `evaluate` generates 3 models per held-out task
// vector and scores them on the test split next to the held-out originals. Prints one row per run
// (and the mean over seeds where there are several), then a JSON document.
//
//   node --import tsx bench/unseen-tasks.ts --data DIR [--tasks 50,200] [--task-tokens 0,3]
//     [--steps 1000,2000,4000] [--seeds 0,1,2] [--preset digits] [--set key=value ...]
//
// Zoos `seen-N` (and `seen-N-heldout`) are collected into DIR when missing, so a second call reuses
// them. Every run trains from step 0 (a continued run restarts its learning-rate schedule, so it
// would not be the same curve).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { EvaluateJobResult, TrainJobResult } from '../engine/protocol.js';
import type { ZooEvaluation } from '../engine/zoo/evaluate.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    tasks: { type: 'string', default: '50,200' },
    'task-tokens': { type: 'string', default: '0,3' },
    steps: { type: 'string', default: '1000,2000,4000' },
    seeds: { type: 'string', default: '0' },
    preset: { type: 'string', default: 'digits' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.data) throw new Error('--data DIR is required');
const BIN = resolve('bin/paramzoo.js');
const list = (text: string) => text.split(',').map(Number);

function paramzoo<T>(args: string[]): T {
  const stdout = execFileSync(process.execPath, [BIN, ...args, '--data', values.data!, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(stdout) as T;
}

function ensureZoo(tasks: number): string {
  const zoo = `seen-${tasks}`;
  const zoos = paramzoo<{ name: string }[]>(['zoo', 'list']);
  if (!zoos.some((z) => z.name === zoo)) paramzoo(['collect', 'digits-binary', '--zoo', zoo, '--tasks', String(tasks)]);
  return zoo;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(2));
const rows: Record<string, unknown>[] = [];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log('seen tasks  task tokens  steps  seed  loss    train s  seen gen avg (orig)  held-out gen avg / min (orig avg)');
for (const tasks of list(values.tasks!)) {
  const zoo = ensureZoo(tasks);
  for (const taskTokens of list(values['task-tokens']!)) {
    for (const steps of list(values.steps!)) {
      const heldOutAverages: number[] = [];
      for (const seed of list(values.seeds!)) {
        const started = performance.now();
        const sets = [...values.set!, `taskTokens=${taskTokens}`, `seed=${seed}`, 'checkEvery=0'].flatMap((s) => ['--set', s]);
        const trained = paramzoo<TrainJobResult>(['train', zoo, '--preset', values.preset!, '--steps', String(steps), ...sets]);
        const trainSeconds = (performance.now() - started) / 1000;
        const evaluation = paramzoo<EvaluateJobResult>(['evaluate', trained.run]).zoos[0]!;
        const heldOut = (evaluation.details as ZooEvaluation['details']).heldOut ?? [];
        // evaluate's own verdict over the held-out tasks (averages of each task's average)
        const { generated: heldGenerated, originals: heldOriginals } = evaluation.heldOutTasks!;
        const row = {
          tasks,
          taskTokens,
          steps,
          seed,
          finalLoss: trained.finalLoss,
          trainSeconds: +trainSeconds.toFixed(1),
          seen: { generated: evaluation.generated, originals: evaluation.originals },
          heldOut: {
            tasks: heldOut.length,
            generatedModels: evaluation.heldOutTasks!.generatedModels,
            generated: heldGenerated,
            originals: heldOriginals,
            perTask: heldOut.map((h) => ({ task: h.condition.join(''), generated: h.generated.avg, originals: h.originals.avg })),
          },
          run: trained.run,
        };
        rows.push(row);
        if (heldGenerated.avg !== null) heldOutAverages.push(heldGenerated.avg);
        console.log(
          `${String(tasks).padStart(10)}  ${(taskTokens === 0 ? 'all' : `last ${taskTokens}`).padStart(11)}  ${String(steps).padStart(5)}  ${String(seed).padStart(4)}  ${trained.finalLoss.toFixed(4)}  ${trainSeconds.toFixed(0).padStart(7)}  ` +
            `${fmt(evaluation.generated.avg).padStart(12)} (${fmt(evaluation.originals.avg)})  ${fmt(heldGenerated.avg)} / ${fmt(heldGenerated.min)} (${fmt(heldOriginals.avg)})`,
        );
      }
      if (heldOutAverages.length > 1) {
        const spread = `${fmt(Math.min(...heldOutAverages))}–${fmt(Math.max(...heldOutAverages))}`;
        console.log(`${' '.repeat(35)}held out over ${heldOutAverages.length} seeds: mean ${fmt(mean(heldOutAverages))} (${spread})`);
      }
    }
  }
}
console.log(JSON.stringify({ preset: values.preset, set: values.set, rows }));
