// Start-up (house issue, item 5): TensorFlow.js loads on first use, through engine/tf.ts. The catalog
// commands and `paramzoo serve` run without it, engine.info names the backend the first job will use
// without loading it, and engine code that computes before the loader ran fails loudly. The CLI runs
// the compiled engine (dist/engine) only while it was built from the sources as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, existsSync, symlinkSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImportResult } from '../engine/protocol.js';
import { PROJECT_ROOT, runAll, runCli } from './helpers/cli.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const PROBE = fileURLToPath(new URL('./helpers/tf-probe.cjs', import.meta.url));
const BIN = join(PROJECT_ROOT, 'bin', 'paramzoo.js');
const probeEnv = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require "${PROBE}"`.trim() };
const TF_PATH = /[\\/]@tensorflow[\\/]/;

function tfModules(stderr: string): number {
  const match = /\[tensorflow-modules (\d+)\]/.exec(stderr);
  assert.ok(match, `the probe did not report:\n${stderr}`);
  return Number(match[1]);
}

test('--help, inspect, zoo create/list/show, import and export run without loading TensorFlow.js', async () => {
  const data = ['--data', tempDir()];
  const fixture = join(FIXTURES, 'tiny_cnn.pth');
  const probed = async (args: string[]) => {
    const run = await runCli(args, { env: probeEnv });
    assert.equal(run.code, 0, `paramzoo ${args.join(' ')}: ${run.stderr}`);
    assert.equal(tfModules(run.stderr), 0, `paramzoo ${args.join(' ')} loaded TensorFlow.js`);
    return run.stdout;
  };
  await probed(['zoo', 'create', 'cnn', ...data]);
  const imported = JSON.parse(await probed(['import', 'cnn', fixture, '--json', ...data])) as ImportResult;
  const out = join(tempDir(), 'out.pth');
  await runAll([
    () => probed(['--help']),
    () => probed(['inspect', fixture]),
    () => probed(['zoo', 'list', ...data]),
    () => probed(['zoo', 'show', 'cnn', ...data]),
    () => probed(['export', imported.imported[0]!.id, '--out', out, ...data]),
  ]);
  assert.ok(existsSync(out));
});

test('paramzoo serve listens without loading TensorFlow.js', async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', tempDir()], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...probeEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (/open http:\/\//.test(stdout)) resolve();
    });
    child.on('close', (code) => reject(new Error(`serve exited ${code} before listening:\n${stderr}`)));
  });
  child.kill('SIGTERM');
  assert.equal(await closed, 0, stderr);
  assert.equal(tfModules(stderr), 0);
});

test('engine.info names the backend the first job will use without loading TensorFlow.js; tf before the loader throws', async () => {
  const { createEngineService } = await import('../engine/service.js');
  const loader = await import('../engine/tf.js'); // loader.tf: a live binding (destructuring would copy the stand-in)
  const service = createEngineService({ dataDir: tempDir() });
  try {
    const { backend } = await service.request('engine.info', {});
    assert.ok(backend, 'engine.info answers before any job');
    assert.equal(backend.planned, true);
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(backend.name), backend.name);
    assert.deepEqual(
      Object.keys(createRequire(import.meta.url).cache).filter((path) => TF_PATH.test(path)),
      [],
      'TensorFlow.js is not loaded',
    );
    assert.equal(loader.tfLoaded(), false);
    assert.throws(() => loader.tf.zeros([1]), /TensorFlow\.js used \(tf\.zeros\) before it was loaded/);

    const { initBackend } = await import('../engine/backend.js');
    const chosen = await initBackend();
    assert.equal(chosen.name, backend.name, `planned ${backend.name}, chose ${chosen.name}: ${chosen.notes.join('; ')}`);
    if (chosen.name === 'wasm' && !chosen.notes.some((note) => note.includes('did not initialise'))) assert.equal(chosen.threads, backend.threads);
    assert.equal(chosen.planned, undefined);
    assert.equal(loader.tfLoaded(), true);
    assert.deepEqual(loader.tf.zeros([2]).shape, [2], 'the binding is TensorFlow.js once loaded');
  } finally {
    await service.close();
  }
});

test('bin/paramzoo.js runs the compiled engine while it was built from the sources as they are, else the sources', () => {
  // A copy of the project's code, so the build and the edit below touch nothing in the checkout.
  const root = tempDir();
  for (const dir of ['engine', 'bin', 'scripts']) cpSync(join(PROJECT_ROOT, dir), join(root, dir), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json']) copyFileSync(join(PROJECT_ROOT, file), join(root, file));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  const node = (args: string[], env: Record<string, string> = {}) => {
    const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(run.status, 0, `${args.join(' ')}: ${run.stderr}`);
    return run;
  };

  assert.match(node(['scripts/engine-build.js']).stdout, /files compiled to dist[\\/]engine/);
  // A mark only the compiled entry prints (the build's record covers the sources, not its output).
  appendFileSync(join(root, 'dist', 'engine', 'cli.js'), '\nprocess.stderr.write("[compiled]\\n");\n');
  const compiled = node(['bin/paramzoo.js', '--help']);
  assert.match(compiled.stderr, /\[compiled\]/, 'a current build runs');
  assert.match(compiled.stdout, /paramzoo/);

  const forced = node(['bin/paramzoo.js', '--help'], { PARAMZOO_FROM_SOURCE: '1' });
  assert.doesNotMatch(forced.stderr, /\[compiled\]/, 'PARAMZOO_FROM_SOURCE=1 runs the sources');
  assert.equal(forced.stdout, compiled.stdout, 'the same help from both');

  const edited = new Date(Date.now() + 5000);
  utimesSync(join(root, 'engine', 'cli', 'help.ts'), edited, edited);
  const stale = node(['bin/paramzoo.js', '--help']);
  assert.doesNotMatch(stale.stderr, /\[compiled\]/, 'an edited source makes the build stale: the sources run');
  assert.equal(stale.stdout, compiled.stdout);
});
