// Budget or bug (the fidelity issue, item 1): ParamZoo's generator and the independent PyTorch twin
// (bench/rpg-twin.py) trained on the SAME zoo with the same configuration and steps, their models
// judged by the SAME evaluator (the twin's generated .pth files are imported into a zoo and scored
// with `evaluate --zoo twin --originals ZOO`). Prints one table row per side and a JSON document.
//
//   node --import tsx bench/rpg-fidelity.ts --zoo bench/out/digits-zoo [--steps 1000] [--set lr=0.001 ...] [--only paramzoo|twin]
//     [--preset tiny]
//
// Both sides use the 'tiny' preset (the twin's defaults). A zoo of a built-in task would otherwise
// get that task's own preset on ParamZoo's side (digits-mlp → 'digits'); `--preset NAME --only paramzoo`
// measures that one (the twin has no counterpart of the other presets' settings).
//
// The zoo folder holds .pth checkpoints and a zoo.json {"task", "files", "seeds"} (bench/make-digits-zoo.py
// writes one); each checkpoint's permutation state is its seed, on both sides.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { EvaluateJobResult, TrainJobResult, ZooEvaluationInfo } from '../engine/protocol.js';

const { values } = parseArgs({
  options: {
    zoo: { type: 'string' },
    steps: { type: 'string', default: '1000' },
    set: { type: 'string', multiple: true, default: [] },
    only: { type: 'string' },
    threads: { type: 'string', default: '2' },
    preset: { type: 'string', default: 'tiny' },
  },
});
if (values.preset !== 'tiny' && values.only !== 'paramzoo') throw new Error(`--preset ${values.preset}: the twin knows the 'tiny' preset only; add --only paramzoo`);
if (!values.zoo) throw new Error('--zoo DIR is required (a folder with zoo.json and .pth files; bench/make-digits-zoo.py writes one)');
const zooDir = resolve(values.zoo);
const index = JSON.parse(readFileSync(join(zooDir, 'zoo.json'), 'utf8')) as { task: string; files: string[]; seeds: number[] };
const steps = Number(values.steps);
const settings = Object.fromEntries(values.set.map((s) => s.split('=', 2) as [string, string]));
const data = mkdtempSync(join(tmpdir(), 'paramzoo-fidelity-'));
const BIN = resolve('bin/paramzoo.js');

function paramzoo<T>(args: string[], env: Record<string, string> = {}): T {
  const stdout = execFileSync(process.execPath, [BIN, ...args, '--data', data, '--json'], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  return JSON.parse(stdout) as T;
}

interface Side {
  side: string;
  steps: number;
  finalLoss: number;
  secondsPerStep: number;
  evaluation: ZooEvaluationInfo;
}

paramzoo(['zoo', 'create', 'originals', '--task', index.task]);
paramzoo(['import', 'originals', ...index.files.map((f) => join(zooDir, f)), '--permutation-states', index.seeds.join(',')]);

function runParamZoo(): Side {
  const sets = Object.entries(settings).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const train = paramzoo<TrainJobResult>(['train', 'originals', '--preset', values.preset!, '--steps', String(steps), ...sets]);
  paramzoo(['generate', train.run, '--count', '10', '--seed', '1']);
  const evaluation = paramzoo<EvaluateJobResult>(['evaluate', train.run]);
  // finalLoss: mean of the last 100 steps, as the twin reports it
  const curve = JSON.parse(
    execFileSync(
      process.execPath,
      [
        '-e',
        `
    const D = require('better-sqlite3'); const db = new D(process.argv[1], { readonly: true });
    process.stdout.write(db.prepare('SELECT loss_curve FROM runs WHERE id = ?').get(process.argv[2]).loss_curve);`,
        join(data, 'catalog.sqlite'),
        train.run,
      ],
      { encoding: 'utf8' },
    ),
  ) as number[];
  const tail = curve.slice(-100);
  return { side: `paramzoo (${values.preset})`, steps, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, secondsPerStep: train.secondsPerStep, evaluation: evaluation.zoos[0]! };
}

/** The twin gets the same generator settings where both sides have them. */
function twinArguments(out: string): string[] {
  const args = ['bench/rpg-twin.py', '--zoo', zooDir, '--out', out, '--steps', String(steps), '--threads', values.threads];
  const map: Record<string, string> = {
    lr: '--lr',
    tokenSize: '--token-size',
    recurrentWidth: '--width',
    recurrentLayers: '--layers',
    batch: '--batch',
    diffusionBatch: '--diffusion-batch',
    samplerSteps: '--ddim-steps',
    eta: '--eta',
    weightDecay: '--weight-decay',
  };
  for (const [key, value] of Object.entries(settings)) {
    if (map[key]) args.push(map[key], value);
    else if (key === 'denoiserNorm') args.push('--norm', value === 'channel' ? 'layer' : value);
    else console.error(`twin: no counterpart for setting ${key}=${value}; the sides differ there`);
  }
  return args;
}

function runTwin(): Side {
  const out = join(data, 'twin-models');
  const stdout = execFileSync('/usr/bin/python3', twinArguments(out), { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const twin = JSON.parse(stdout.trim().split('\n').pop()!) as { finalLoss: number; secondsPerStep: number };
  paramzoo(['zoo', 'create', 'twin', '--task', index.task]);
  paramzoo([
    'import',
    'twin',
    ...readdirSync(out)
      .filter((f) => f.endsWith('.pth'))
      .sort()
      .map((f) => join(out, f)),
  ]);
  const evaluation = paramzoo<EvaluateJobResult>(['evaluate', '--zoo', 'twin', '--originals', 'originals']);
  return { side: 'pytorch twin', steps, finalLoss: twin.finalLoss, secondsPerStep: twin.secondsPerStep, evaluation: evaluation.zoos[0]! };
}

const sides: Side[] = [];
if (values.only !== 'twin') sides.push(runParamZoo());
if (values.only !== 'paramzoo') sides.push(runTwin());

const pct = (x: number | null) => (x === null ? '—' : x.toFixed(2));
const originals = sides[0]!.evaluation.originals;
console.log(`zoo ${zooDir} (${index.files.length} checkpoints, task ${index.task}); originals ${pct(originals.best)} / ${pct(originals.avg)} / ${pct(originals.min)}`);
console.log('| side | steps | loss (last 100) | s/step | generated best / avg / min | nearest IoU generated / noised |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const s of sides) {
  const g = s.evaluation.generated;
  const iou = s.evaluation.nearestIoU;
  console.log(
    `| ${s.side} | ${s.steps} | ${s.finalLoss.toFixed(4)} | ${s.secondsPerStep.toFixed(3)} | ${pct(g.best)} / ${pct(g.avg)} / ${pct(g.min)} | ${iou.generated?.toFixed(3)} / ${iou.noised?.toFixed(3)} |`,
  );
}
console.log(
  JSON.stringify({
    zoo: zooDir,
    steps,
    preset: values.preset,
    settings,
    data,
    sides: sides.map(({ evaluation, ...rest }) => ({ ...rest, originals: evaluation.originals, generated: evaluation.generated, nearestIoU: evaluation.nearestIoU })),
  }),
);
