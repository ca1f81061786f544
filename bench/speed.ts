// The speed table of the speed issue in one run, each figure beside its baseline measured in the
// same run: ParamZoo on 1 thread and on every core, and the PyTorch twin (bench/rpg-twin.py, the
// independent implementation of the same generator) on the same zoo with the same thread counts.
// Prints its config as JSON, a markdown table, and a JSON document of every figure.
//
//   node --import tsx bench/speed.ts [--backend wasm] [--threads 1,2] [--steps 40] [--rows tiny,small,generate,demo]
//                                    [--zoo bench/out/digits-zoo]
//
// tiny:     ms per training step, tiny preset, on a zoo of 30 PyTorch-written digits MLPs (made by
//           bench/make-digits-zoo.py when missing); ParamZoo through its CLI (import + train), the twin
//           through its own script. Both time every step of the run (first included).
// small:    ms per step, small preset (token 1024, Mamba), ~1M-parameter synthetic zoo (bench/rpg-train.ts);
//           the twin has no Mamba, so this row is ParamZoo's threads against its own single thread.
// generate: seconds to generate 10 models of the ~1M-parameter zoo, DDIM 60 and DDIM 20 (bench/rpg-generate.ts).
// demo:     the whole `paramzoo demo --quick` command (minutes; not in the default rows).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { TrainJobResult } from '../engine/protocol.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '1,2' },
    steps: { type: 'string', default: '40' },
    rows: { type: 'string', default: 'tiny,small,generate' },
    zoo: { type: 'string', default: 'bench/out/digits-zoo' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const threadCounts = values.threads.split(',').map(Number);
const steps = Number(values.steps);
const rows = new Set(values.rows.split(','));
const BIN = resolve('bin/paramzoo.js');
const config = {
  backend: values.backend,
  threads: threadCounts,
  steps,
  rows: [...rows],
  zoo: values.zoo,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
};
console.log(JSON.stringify({ config }));

interface Figure {
  row: string;
  side: string;
  threads: number;
  value: number;
  unit: string;
  note?: string;
}
const figures: Figure[] = [];
const record = (figure: Figure) => {
  figures.push(figure);
  console.error(`${figure.row} · ${figure.side} · ${figure.threads} thread(s): ${figure.value.toFixed(figure.unit === 'ms' ? 0 : 2)} ${figure.unit}`);
};

function run(command: string, args: string[], threads: number, extraEnv: Record<string, string> = {}): string {
  return execFileSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PARAMZOO_THREADS: String(threads), ...extraEnv },
  });
}

function ensureDigitsZoo(): string {
  const zoo = resolve(values.zoo);
  if (!existsSync(join(zoo, 'zoo.json'))) {
    console.error(`making the digits zoo in ${zoo} (bench/make-digits-zoo.py)…`);
    execFileSync(values.python, ['bench/make-digits-zoo.py', '--out', zoo], { stdio: 'inherit' });
  }
  return zoo;
}

function tinyRow(): void {
  const zoo = ensureDigitsZoo();
  const index = JSON.parse(readFileSync(join(zoo, 'zoo.json'), 'utf8')) as { task: string; files: string[]; seeds: number[] };
  const data = mkdtempSync(join(tmpdir(), 'paramzoo-speed-'));
  const paramzoo = (args: string[], threads: number) => JSON.parse(run(process.execPath, [BIN, ...args, '--data', data, '--json'], threads)) as unknown;
  try {
    paramzoo(['zoo', 'create', 'digits', '--task', index.task], 1);
    paramzoo(['import', 'digits', ...index.files.map((f) => join(zoo, f)), '--permutation-states', index.seeds.join(',')], 1);
    for (const threads of threadCounts) {
      const train = paramzoo(['train', 'digits', '--steps', String(steps), '--backend', values.backend], threads) as TrainJobResult;
      record({ row: 'tiny', side: 'paramzoo', threads, value: train.secondsPerStep * 1000, unit: 'ms' });
    }
    for (const threads of threadCounts) {
      const out = join(data, `twin-${threads}`);
      const stdout = run(values.python, ['bench/rpg-twin.py', '--zoo', zoo, '--out', out, '--steps', String(steps), '--threads', String(threads), '--count', '1', '--ddim-steps', '2'], threads);
      const twin = JSON.parse(stdout.trim().split('\n').pop()!) as { secondsPerStep: number };
      record({ row: 'tiny', side: 'pytorch', threads, value: twin.secondsPerStep * 1000, unit: 'ms' });
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}

function smallRow(): void {
  for (const threads of threadCounts) {
    const stdout = run(process.execPath, ['--import', 'tsx', 'bench/rpg-train.ts', values.backend, String(Math.max(6, Math.round(steps / 4))), '1m'], threads);
    const match = /(\d+) ms\/step after the first/.exec(stdout);
    if (!match) throw new Error(`bench/rpg-train.ts printed no step time:\n${stdout}`);
    record({ row: 'small', side: 'paramzoo', threads, value: Number(match[1]), unit: 'ms', note: 'steady state (after the first step)' });
  }
}

function generateRow(): void {
  for (const threads of threadCounts) {
    const stdout = run(process.execPath, ['--import', 'tsx', 'bench/rpg-generate.ts', 'timing', values.backend, '1m'], threads);
    // "DDIM 60: 10 models ≈ T s — from …: P ms/step + F s per model": DDIM 20 from the same fit.
    const match = /DDIM 60: 10 models ≈ ([\d.]+) s .*: (\d+) ms\/step \+ ([\d.]+) s per model/.exec(stdout);
    if (!match) throw new Error(`bench/rpg-generate.ts printed no DDIM 60 figure for the 1M zoo:\n${stdout}`);
    const [perStepMs, fixed] = [Number(match[2]), Number(match[3])];
    record({ row: 'generate 10 × 1M, DDIM 60', side: 'paramzoo', threads, value: Number(match[1]), unit: 's' });
    record({ row: 'generate 10 × 1M, DDIM 20', side: 'paramzoo', threads, value: 10 * (fixed + (20 * perStepMs) / 1000), unit: 's' });
  }
}

function demoRow(): void {
  for (const threads of threadCounts) {
    const data = mkdtempSync(join(tmpdir(), 'paramzoo-speed-demo-'));
    const started = performance.now();
    try {
      run(process.execPath, [BIN, 'demo', '--quick', '--data', data, '--json', '--backend', values.backend], threads);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
    record({ row: 'demo', side: 'paramzoo', threads, value: (performance.now() - started) / 1000, unit: 's' });
  }
}

if (rows.has('tiny')) tinyRow();
if (rows.has('small')) smallRow();
if (rows.has('generate')) generateRow();
if (rows.has('demo')) demoRow();

const find = (row: string, side: string, threads: number) => figures.find((f) => f.row === row && f.side === side && f.threads === threads);
const most = Math.max(...threadCounts);
const least = Math.min(...threadCounts);
console.log(`\n| figure | ParamZoo ${least} thread | ParamZoo ${most} threads | speed-up | PyTorch ${most} threads | ParamZoo ÷ PyTorch (${most} threads) | (${least} thread) |`);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const row of [...new Set(figures.map((f) => f.row))]) {
  const one = find(row, 'paramzoo', least);
  const all = find(row, 'paramzoo', most);
  const torchAll = find(row, 'pytorch', most);
  const torchOne = find(row, 'pytorch', least);
  const unit = (one ?? all)!.unit;
  const show = (f?: Figure) => (f ? `${f.value.toFixed(unit === 'ms' ? 0 : 1)} ${unit}` : '—');
  const ratio = (a?: Figure, b?: Figure) => (a && b ? (a.value / b.value).toFixed(2) : '—');
  console.log(`| ${row} | ${show(one)} | ${show(all)} | ${ratio(one, all)}× | ${show(torchAll)} | ${ratio(all, torchAll)} | ${ratio(one, torchOne)} |`);
}
console.log(JSON.stringify({ config, figures }));
