// What the CLI does to the user's disk and terminal: export never overwrites without --force, the
// data folder is created private (0700), and control characters from a checkpoint (tensor names,
// metadata) reach the terminal escaped, never as escape sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog } from '../engine/catalog/db.js';
import { writeCheckpoint } from '../engine/formats/index.js';
import { runCli, runCliJson } from './helpers/cli.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

test('a new data folder is created 0700', () => {
  const data = join(tempDir(), 'nested', 'data');
  const catalog = openCatalog(data);
  catalog.close();
  assert.equal(statSync(data).mode & 0o777, 0o700);
});

test('export refuses to overwrite an existing file unless --force', async () => {
  const data = tempDir();
  const outDir = tempDir();
  await runCliJson(['zoo', 'create', 'z', '--data', data]);
  const { imported } = await runCliJson<{ imported: Array<{ id: string }> }>(['import', 'z', join(FIXTURES, 'tiny_cnn.pth'), '--data', data]);
  const id = imported[0]!.id;
  const out = join(outDir, 'model.pth');
  writeFileSync(out, 'precious');
  const refused = await runCli(['export', id, '--out', out, '--data', data]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /already exists; export does not overwrite it/);
  assert.match(refused.stderr, /--force/);
  assert.equal(readFileSync(out, 'utf8'), 'precious');
  const forced = await runCliJson<{ path: string }>(['export', id, '--out', out, '--force', '--data', data]);
  assert.equal(forced.path, out);
  assert.notEqual(readFileSync(out, 'utf8'), 'precious');
});

test('terminal escape codes in tensor names and metadata are printed escaped', async () => {
  const dir = tempDir();
  const path = join(dir, 'escapes.safetensors');
  const evil = 'w\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e';
  await writeCheckpoint('safetensors', path, [{ name: evil, dtype: 'F32', shape: [1], data: new Uint8Array(4) }], { note: 'x\x1b[31mred' });
  const run = await runCli(['inspect', path, '--data', tempDir()]);
  assert.equal(run.code, 0, run.stderr);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters must not reach the terminal
  assert.ok(!/[\x1b\x07\u009b\u202e]/.test(run.stdout), JSON.stringify(run.stdout));
  assert.ok(run.stdout.includes('w\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e'), run.stdout);
  assert.ok(run.stdout.includes('x\\x1b[31mred'), run.stdout);
});
