#!/usr/bin/env node
// Assembles the desktop app in its own folder (default build/app), which `npm start` runs and
// `npm run dist` packages:
//   dist/main, dist/engine   compiled by tsc (tsconfig.app.json: main and the engine worker's imports, no source maps)
//   dist/preload/preload.cjs one bundle (a sandboxed preload cannot load sibling files)
//   renderer/dist, assets/   the built UI and the embedded datasets
//   package.json             the app's own: name, version, main, and the packages the compiled code imports
//   node_modules/            a copy of exactly those packages and what they need, pruned of what never
//                            runs (source maps, typings, browser bundles); with --rebuild, native modules
//                            in this copy are rebuilt for Electron. The project's node_modules is never touched,
//                            so the CLI and the tests keep their Node build of better-sqlite3.
// Usage: node scripts/stage-app.js [--rebuild] [--out DIR]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const rebuildForElectron = args.includes('--rebuild');
const outArg = args.indexOf('--out');
const OUT = resolve(ROOT, outArg >= 0 ? args[outArg + 1] : join('build', 'app'));
const STAMP = join(OUT, 'node_modules', '.paramzoo-stage.json');

const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
/** loaded by name at run time (not a literal import), used when it installed */
const OPTIONAL_AT_RUN_TIME = Object.keys(rootManifest.optionalDependencies ?? {});

function step(text) {
  process.stdout.write(`stage-app: ${text}\n`);
}

function run(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`stage-app: ${[command, ...commandArgs].join(' ')} failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
}

function filesUnder(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

// ---- code ----

function compile() {
  rmSync(join(OUT, 'dist'), { recursive: true, force: true });
  step('compiling main and the engine (tsconfig.app.json)');
  run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.app.json'), '--outDir', join(OUT, 'dist')]);
}

async function bundlePreload() {
  step('bundling the preload');
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(ROOT, 'preload', 'preload.cts')],
    outfile: join(OUT, 'dist', 'preload', 'preload.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'es2022',
    external: ['electron'],
    logLevel: 'warning',
  });
}

function copyUi() {
  const built = join(ROOT, 'renderer', 'dist', 'index.html');
  if (!existsSync(built)) {
    step('building the UI (renderer/dist)');
    run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'renderer', 'vite.config.ts'), '--logLevel', 'warn']);
  }
  rmSync(join(OUT, 'renderer'), { recursive: true, force: true });
  cpSync(join(ROOT, 'renderer', 'dist'), join(OUT, 'renderer', 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
  rmSync(join(OUT, 'assets'), { recursive: true, force: true });
  cpSync(join(ROOT, 'assets', 'datasets'), join(OUT, 'assets', 'datasets'), { recursive: true, filter: (src) => !src.endsWith('.md') });
}

// ---- packages ----

const BUILTINS = new Set(builtinModules);
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\.resolve\s*\(\s*)['"]([^'"]+)['"]/g;

function packageName(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || specifier === 'electron') return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return BUILTINS.has(name) ? null : name;
}

/** The packages the compiled app names (imports, requires, require.resolve), each a declared dependency. */
function importedPackages() {
  const names = new Set();
  for (const file of filesUnder(join(OUT, 'dist'))) {
    if (!file.endsWith('.js') && !file.endsWith('.cjs')) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const name = packageName(match[1]);
      if (name) names.add(name);
    }
  }
  const declared = { ...rootManifest.dependencies, ...rootManifest.optionalDependencies };
  const undeclared = [...names].filter((name) => !(name in declared));
  if (undeclared.length > 0) {
    console.error(`stage-app: the app imports ${undeclared.join(', ')}, not in package.json's dependencies`);
    process.exit(1);
  }
  for (const name of OPTIONAL_AT_RUN_TIME) if (existsSync(join(ROOT, 'node_modules', name, 'package.json'))) names.add(name);
  return [...names].sort();
}

/** Node's lookup: node_modules/NAME in `from` or the nearest folder above it, up to the project root. */
function resolvePackage(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === ROOT || dirname(dir) === dir) return null;
  }
}

/**
 * Declared dependencies the app's code never loads: install-time tools and command-line tools of a
 * package (checked: better-sqlite3's lib/ requires only 'bindings'; tfjs's dist/tf.node.js requires
 * none of these), and typings. The staged engine is run in tests/main.packaging.test.ts to prove it.
 */
const NOT_AT_RUN_TIME = {
  'better-sqlite3': ['prebuild-install'],
  '@tensorflow/tfjs': ['argparse', 'chalk', 'core-js', 'regenerator-runtime', 'yargs'],
  '@tensorflow/tfjs-core': ['@webgpu/types'], // a /// <reference types> in its typings only
  webgpu: ['@webgpu/types', 'debug'], // typings, and its postinstall script's logger
};

/** Dawn's binding ships one dawn.node per platform (≈ 20 MB each); the app takes the one it is staged for. */
const DAWN_PLATFORM = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;

/** Every package folder the named packages need at run time (dependencies, and optional ones that installed). */
function packageClosure(names) {
  const found = new Map();
  const visit = (name, from, optional) => {
    const dir = resolvePackage(name, from);
    if (!dir) {
      if (optional) return;
      console.error(`stage-app: ${name} (needed from ${relative(ROOT, from) || 'the app'}) is not installed; run npm ci`);
      process.exit(1);
    }
    if (found.has(dir)) return;
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    found.set(dir, manifest.version);
    const skip = new Set(NOT_AT_RUN_TIME[manifest.name] ?? []);
    for (const dep of Object.keys(manifest.dependencies ?? {})) if (!skip.has(dep) && !dep.startsWith('@types/')) visit(dep, dir, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const name of names) visit(name, ROOT, OPTIONAL_AT_RUN_TIME.includes(name));
  return found;
}

/**
 * Files of a package that never run in the app. TensorFlow.js packages: Node loads their
 * `main` (dist/*.node.js bundles) and the wasm binaries; the rest of dist/ is browser bundles and
 * the ES module tree the bundles were made from.
 */
function shipped(packageDir, file) {
  const inside = relative(packageDir, file).split(sep);
  const name = inside[inside.length - 1];
  if (inside[0] === 'node_modules') return false; // nested packages are copied on their own
  if (/\.(map|d\.ts|d\.mts|d\.cts|tsbuildinfo|md|markdown)$/i.test(name) && !/^licen[cs]e/i.test(name)) return false;
  if (/\.ts$/.test(name) || /^(\.|tsconfig|rollup\.config|jest\.config|karma\.conf)/.test(name)) return false;
  if (relative(ROOT, packageDir) === join('node_modules', 'webgpu')) {
    if (inside.length === 1) return name === 'index.js' || name === 'package.json' || /^licen[cs]e/i.test(name);
    return inside[0] === 'dist' && inside[1] === DAWN_PLATFORM;
  }
  if (relative(ROOT, packageDir).split(sep).includes('@tensorflow')) {
    if (inside.length === 1) return name === 'package.json' || /^licen[cs]e/i.test(name);
    if (inside[0] !== 'dist') return /^(deps|lib|build|scripts)$/.test(inside[0]) && !packageDir.endsWith('tfjs'); // tfjs-node-gpu's native parts
    return inside.length === 2 && (/\.node\.js$/.test(name) || /\.wasm$/.test(name));
  }
  return true;
}

function copyPackages(closure) {
  const modules = join(OUT, 'node_modules');
  rmSync(modules, { recursive: true, force: true });
  for (const dir of [...closure.keys()].sort()) {
    const target = join(OUT, relative(ROOT, dir));
    for (const file of filesUnder(dir)) {
      if (!shipped(dir, file)) continue;
      const to = join(target, relative(dir, file));
      mkdirSync(dirname(to), { recursive: true });
      cpSync(file, to);
    }
  }
}

/** The Electron version the app runs on: the installed electron package's (present with ELECTRON_SKIP_BINARY_DOWNLOAD too). */
function electronVersion() {
  const manifest = join(ROOT, 'node_modules', 'electron', 'package.json');
  if (!existsSync(manifest)) {
    console.error('stage-app: the electron package is not installed (npm ci installs it; ELECTRON_SKIP_BINARY_DOWNLOAD=1 skips only its binary)');
    process.exit(1);
  }
  return JSON.parse(readFileSync(manifest, 'utf8')).version;
}

async function rebuildNative(version) {
  step(`rebuilding native modules of ${relative(ROOT, OUT)}/node_modules for Electron ${version} (downloads Electron's headers the first time)`);
  const { rebuild } = await import('@electron/rebuild');
  await rebuild({ buildPath: OUT, electronVersion: version, force: true, mode: 'sequential' });
}

function writeManifest(names) {
  const declared = { ...rootManifest.dependencies, ...rootManifest.optionalDependencies };
  const manifest = {
    name: rootManifest.name,
    productName: 'ParamZoo',
    version: rootManifest.version,
    description: rootManifest.description,
    license: rootManifest.license,
    author: rootManifest.author,
    homepage: rootManifest.homepage,
    type: 'module',
    main: 'dist/main/main.js',
    dependencies: Object.fromEntries(names.map((name) => [name, declared[name]])),
  };
  writeFileSync(join(OUT, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

mkdirSync(OUT, { recursive: true });
compile();
await bundlePreload();
copyUi();
const names = importedPackages();
writeManifest(names);

const closure = packageClosure(names);
const lock = createHash('sha256')
  .update(readFileSync(join(ROOT, 'package-lock.json')))
  .digest('hex');
const wanted = { lock, packages: [...closure].map(([dir, version]) => `${relative(ROOT, dir)}@${version}`), electron: rebuildForElectron ? electronVersion() : null };
const previous = existsSync(STAMP) ? readFileSync(STAMP, 'utf8') : null;
if (previous === JSON.stringify(wanted)) {
  step(`node_modules unchanged (${closure.size} packages${wanted.electron ? `, built for Electron ${wanted.electron}` : ''})`);
} else {
  step(`copying ${closure.size} packages: ${names.join(', ')} and what they need`);
  copyPackages(closure);
  if (wanted.electron) await rebuildNative(wanted.electron);
  writeFileSync(STAMP, JSON.stringify(wanted));
}
const bytes = filesUnder(OUT).reduce((sum, file) => sum + statSync(file).size, 0);
step(`${relative(ROOT, OUT)} ready (${(bytes / 1e6).toFixed(1)} MB)`);
