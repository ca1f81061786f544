// Start-up of the CLI, before and after TensorFlow.js loads on first use and the engine is compiled,
// measured side by side in one run. Prints its config as JSON, a markdown table, and a JSON document
// of every figure.
//
//   node --import tsx bench/startup.ts [--runs 7] [--baseline REV]
//
// Variants (each a separate `node bin/paramzoo.js …` process, timed from spawn to exit):
//   before   the engine at REV (default: the commit before engine/tf.ts existed), extracted with
//            `git archive` into a temp folder beside this checkout's node_modules: tsx, TF.js at start
//   source   this checkout's sources through tsx (PARAMZOO_FROM_SOURCE=1): TF.js on first use only
//   after    this checkout's compiled engine (dist/engine; built first when missing or stale)
// Commands: --help; zoo list (a data folder with one zoo of one checkpoint); inspect FILE (a fixture);
// serve --port 0, until it prints the address it listens on (then SIGTERM).
// Runs are interleaved (run i of every variant and command before run i+1) so load from other work
// on the machine falls on all of them alike; the table shows the median, min in brackets, and
// whether TensorFlow.js was loaded (from a separate, untimed run with a probe of Node's module cache).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    baseline: { type: 'string' },
  },
});
const runs = Number(values.runs);
const ROOT = resolve('.');
const FIXTURE = join(ROOT, 'tests', 'fixtures', 'checkpoints', 'tiny_cnn.pth');
const work = mkdtempSync(join(tmpdir(), 'paramzoo-startup-'));

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

function defaultBaseline(): string {
  const added = git(['log', '--diff-filter=A', '--format=%H', '--', 'engine/tf.ts']).split('\n').filter(Boolean).pop();
  return added ? `${added}^` : 'HEAD';
}

const baseline = git(['rev-parse', '--short', values.baseline ?? defaultBaseline()]);

function extractBaseline(): string {
  const dir = join(work, 'before');
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('sh', ['-c', `git archive ${baseline} | tar -x -C '${dir}'`], { cwd: ROOT });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

interface Variant {
  name: string;
  root: string;
  env: Record<string, string>;
}

function ensureCompiled(): void {
  const check = `import('./scripts/engine-build.js').then((m) => process.exit(m.compiledCli() ? 0 : 1))`;
  try {
    execFileSync(process.execPath, ['-e', check], { cwd: ROOT, stdio: 'ignore' });
  } catch {
    execFileSync(process.execPath, ['scripts/engine-build.js'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

ensureCompiled();
const variants: Variant[] = [
  { name: 'before', root: extractBaseline(), env: {} },
  { name: 'source', root: ROOT, env: { PARAMZOO_FROM_SOURCE: '1' } },
  { name: 'after', root: ROOT, env: {} },
];

const data = join(work, 'data');
const serveData = join(work, 'serve-data');
interface Case {
  name: string;
  args: string[];
  until?: RegExp;
}
const cases: Case[] = [
  { name: '--help', args: ['--help'] },
  { name: 'zoo list', args: ['zoo', 'list', '--data', data] },
  { name: 'inspect FILE', args: ['inspect', FIXTURE] },
  { name: 'serve (until listening)', args: ['serve', '--port', '0', '--data', serveData], until: /open http:\/\// },
];

const PROBE = join(work, 'tf-probe.cjs');
writeFileSync(
  PROBE,
  `process.on('exit', () => {
  const n = Object.keys(require.cache).filter((k) => k.includes('/@tensorflow/')).length;
  process.stderr.write('\\n[tf-modules ' + n + ']\\n');
});
`,
);

/** Runs one command; resolves with its wall time in ms (to exit, or to the line `until` matches, then stops it). */
function timed(variant: Variant, item: Case, probe = false): Promise<{ ms: number; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const args = [...(probe ? ['-r', PROBE] : []), join(variant.root, 'bin', 'paramzoo.js'), ...item.args];
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: variant.root, env: { ...process.env, ...variant.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let ms = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (item.until && !ms && item.until.test(stdout)) {
        ms = performance.now() - started;
        child.kill('SIGTERM');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ok = item.until ? ms > 0 : code === 0;
      if (!ok) reject(new Error(`${variant.name}: paramzoo ${item.args.join(' ')} exited ${code ?? signal}\n${stderr}`));
      else resolvePromise({ ms: ms || performance.now() - started, stderr });
    });
  });
}

function nodeFloor(): Promise<number> {
  return new Promise((resolvePromise) => {
    const started = performance.now();
    spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).on('close', () => resolvePromise(performance.now() - started));
  });
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const config = {
  runs,
  baseline,
  variants: variants.map((v) => v.name),
  commands: cases.map((c) => c.name),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadavg: loadavg().map((x) => Number(x.toFixed(2))) },
};
console.log(JSON.stringify({ config }));

try {
  // The data folder zoo list reads: one zoo with one checkpoint (made by the compiled engine).
  const after = variants.find((v) => v.name === 'after')!;
  await timed(after, { name: 'zoo create', args: ['zoo', 'create', 'cnn', '--data', data] });
  await timed(after, { name: 'import', args: ['import', 'cnn', FIXTURE, '--data', data] });

  const tfLoaded = new Map<string, boolean>();
  for (const variant of variants) {
    for (const item of cases) {
      const { stderr } = await timed(variant, item, true);
      tfLoaded.set(`${variant.name}/${item.name}`, !/\[tf-modules 0\]/.test(stderr));
    }
  }

  const times = new Map<string, number[]>();
  const floor: number[] = [];
  for (let run = 0; run < runs; run++) {
    floor.push(await nodeFloor());
    for (const item of cases) {
      for (const variant of variants) {
        const key = `${variant.name}/${item.name}`;
        const { ms } = await timed(variant, item);
        times.set(key, [...(times.get(key) ?? []), ms]);
      }
    }
    console.error(`run ${run + 1}/${runs} done`);
  }

  const figures = cases.map((item) => {
    const row: Record<string, unknown> = { command: item.name };
    for (const variant of variants) {
      const xs = times.get(`${variant.name}/${item.name}`)!;
      row[variant.name] = { medianMs: Math.round(median(xs)), minMs: Math.round(Math.min(...xs)), tfLoaded: tfLoaded.get(`${variant.name}/${item.name}`), runsMs: xs.map(Math.round) };
    }
    const m = (name: string) => median(times.get(`${name}/${item.name}`)!);
    row.beforeOverAfter = Number((m('before') / m('after')).toFixed(2));
    row.sourceOverAfter = Number((m('source') / m('after')).toFixed(2));
    return row;
  });

  const cell = (row: Record<string, unknown>, name: string) => {
    const v = row[name] as { medianMs: number; minMs: number; tfLoaded: boolean };
    return `${v.medianMs} ms (${v.minMs})${v.tfLoaded ? ' · TF.js' : ''}`;
  };
  console.log('');
  console.log(`| command | before (${baseline}, tsx) | source (tsx) | after (compiled) | before ÷ after | source ÷ after |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of figures) {
    console.log(`| ${String(row.command)} | ${cell(row, 'before')} | ${cell(row, 'source')} | ${cell(row, 'after')} | ${String(row.beforeOverAfter)} | ${String(row.sourceOverAfter)} |`);
  }
  console.log(`| node -e 0 (the floor) | ${Math.round(median(floor))} ms (${Math.round(Math.min(...floor))}) | | | | |`);
  console.log('median of the runs, min in brackets; "· TF.js": TensorFlow.js was loaded by that command');
  console.log('');
  console.log(JSON.stringify({ figures, nodeFloorMs: { median: Math.round(median(floor)), min: Math.round(Math.min(...floor)) } }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
