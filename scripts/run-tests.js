#!/usr/bin/env node
// Runs tests/**/*.test.ts with node's own test runner (through tsx): `npm test` every file but the
// end-to-end runs in tests/e2e/ (minutes each), `npm run test:e2e` (--e2e) those. CI runs both.
// Usage: npm test [-- PATTERN...]  (patterns keep the files, e2e ones too, whose path contains one)
// The browser UI (renderer/dist) is built first when it is missing or older than its sources,
// so a fresh clone's `npm test` drives the UI it just built.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

function newestMtime(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === 'dist' || name === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

function buildUiIfStale() {
  const built = join('renderer', 'dist', 'index.html');
  const sources = Math.max(newestMtime('renderer'), newestMtime(join('engine', 'protocol.ts')));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  console.log('building the UI (renderer/dist)…');
  const vite = join('node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--config', join('renderer', 'vite.config.ts'), '--logLevel', 'warn'], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('the UI build failed');
    process.exit(result.status ?? 1);
  }
}

const E2E = join('tests', 'e2e');
const e2e = process.argv.includes('--e2e');
const patterns = process.argv.slice(2).filter((arg) => arg !== '--e2e');
const files = findTests('tests').filter((f) => (patterns.length > 0 ? patterns.some((p) => f.includes(p)) : f.startsWith(E2E) === e2e));
if (files.length === 0) {
  console.error(`no test file matches ${patterns.join(' ')}`);
  process.exit(1);
}
buildUiIfStale();
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
