#!/usr/bin/env node
// Compiles the engine's TypeScript (engine/**/*.ts) to JavaScript in dist/engine/, one file per
// source in the same layout (as the desktop app's tsc build has it), so `paramzoo` starts without a
// TypeScript loader. esbuild transpiles the ~150 files in about a second; it does not type-check
// (`npm run typecheck` does). `npm ci` and `npm install` run it (package.json's prepare);
// `npm run build:cli` runs it by hand.
//
// dist/engine/.sources lists the sources it was built from (path, size, mtime). bin/paramzoo.js runs
// the compiled engine only while that list matches engine/ as it is; after any edit it runs the
// sources through tsx until the next build, so the CLI (and every test that runs it) never runs
// stale code. The list is taken before compiling: a file edited during the build counts as stale.
//
// Usage: node scripts/engine-build.js [--if-possible]   (--if-possible: no esbuild, no build, exit 0)
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = join(ROOT, 'engine');
const OUT = join(ROOT, 'dist', 'engine');
const RECORD = '.sources';
/** Bumped when the build's options change, so an older build counts as stale. */
const FORMAT = 'paramzoo-engine-build 1';

function sourceFiles(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** What dist/engine/.sources holds for the sources as they are now (a few ms: one stat per file). */
export function sourcesRecord() {
  const lines = sourceFiles(SOURCES).map((path) => {
    const info = statSync(path);
    return `${relative(SOURCES, path).split(sep).join('/')} ${info.size} ${info.mtimeMs}`;
  });
  return [FORMAT, ...lines.sort()].join('\n');
}

/** The compiled CLI's URL when dist/engine was built from the sources as they are now, else null. */
export function compiledCli() {
  const cli = join(OUT, 'cli.js');
  try {
    if (readFileSync(join(OUT, RECORD), 'utf8') !== sourcesRecord() || !existsSync(cli)) return null;
  } catch {
    return null;
  }
  return pathToFileURL(cli).href;
}

export async function buildEngine() {
  const record = sourcesRecord();
  const { build } = await import('esbuild');
  // Built beside, then swapped in: a CLI starting meanwhile finds the old build or none (then tsx), never half of one.
  const staging = join(ROOT, 'dist', `.engine-${process.pid}`);
  const old = join(ROOT, 'dist', `.engine-old-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  await build({
    entryPoints: sourceFiles(SOURCES),
    outdir: staging,
    outbase: SOURCES,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  writeFileSync(join(staging, RECORD), record);
  mkdirSync(dirname(OUT), { recursive: true });
  if (existsSync(OUT)) renameSync(OUT, old);
  renameSync(staging, OUT);
  rmSync(old, { recursive: true, force: true });
  return { files: record.split('\n').length - 1, out: OUT };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ifPossible = process.argv.includes('--if-possible');
  try {
    await import('esbuild');
  } catch {
    if (!ifPossible) throw new Error('esbuild is not installed (a devDependency): npm install');
    process.stdout.write('engine-build: esbuild is not installed; paramzoo runs the TypeScript sources through tsx\n');
    process.exit(0);
  }
  const started = Date.now();
  try {
    const { files } = await buildEngine();
    process.stdout.write(`engine-build: ${files} files compiled to ${relative(ROOT, OUT)} in ${Date.now() - started} ms\n`);
  } catch (error) {
    if (!ifPossible) throw error;
    process.stdout.write(`engine-build: not built (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); paramzoo runs the TypeScript sources through tsx\n`);
  }
}
