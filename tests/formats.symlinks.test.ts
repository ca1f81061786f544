// Config files inside checkpoint folders are read only when they are regular files inside the
// folder: a link to /proc/self/environ (or anything outside) is refused by name, never stored,
// printed or exported. The Hugging Face cache layout (links into the same models--* folder) works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../engine/errors.js';
import { openCheckpoint } from '../engine/formats/index.js';
import { expandImportPaths } from '../engine/pipeline/import.js';
import { runCli } from './helpers/cli.js';
import { snapshotCatalog } from './helpers/catalog.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const SECRET = 'PARAMZOO_TEST_SECRET_7f3a';
process.env[SECRET] = 'do-not-leak';

function hubFolder(root: string, name: string, config: 'environ' | 'outside' | 'regular' | 'none'): string {
  const folder = join(root, name);
  mkdirSync(folder, { recursive: true });
  copyFileSync(join(FIXTURES, 'timm_hub_tiny_cnn', 'model.safetensors'), join(folder, 'model.safetensors'));
  if (config === 'environ') symlinkSync('/proc/self/environ', join(folder, 'config.json'));
  if (config === 'outside') {
    writeFileSync(join(root, 'elsewhere.json'), JSON.stringify({ secret: SECRET }));
    symlinkSync(join(root, 'elsewhere.json'), join(folder, 'config.json'));
  }
  if (config === 'regular') copyFileSync(join(FIXTURES, 'timm_hub_tiny_cnn', 'config.json'), join(folder, 'config.json'));
  return folder;
}

function peftFolder(root: string, name: string): string {
  const folder = join(root, name);
  mkdirSync(folder, { recursive: true });
  copyFileSync(join(FIXTURES, 'dora_tiny_llama', 'adapter_model.safetensors'), join(folder, 'adapter_model.safetensors'));
  symlinkSync('/proc/self/environ', join(folder, 'adapter_config.json'));
  return folder;
}

const refusedLink = (file: string) => (error: unknown) => {
  assert.ok(error instanceof EngineError, String(error));
  assert.ok(error.message.includes(file), error.message);
  assert.match(error.message, /is a link to .*outside the checkpoint folder/);
  assert.ok(!error.message.includes('do-not-leak'));
  return true;
};

test('a hub config.json or PEFT adapter_config.json linking to /proc/self/environ is refused by name', async () => {
  const root = tempDir();
  const hub = hubFolder(root, 'hub', 'environ');
  await assert.rejects(openCheckpoint(hub), refusedLink(join(hub, 'config.json')));
  const outside = hubFolder(root, 'hub2', 'outside');
  await assert.rejects(openCheckpoint(outside), refusedLink(join(outside, 'config.json')));
  const peft = peftFolder(root, 'adapter');
  await assert.rejects(openCheckpoint(peft), refusedLink(join(peft, 'adapter_config.json')));
  // naming the weights file inside still opens the adapter folder, and is refused the same way
  await assert.rejects(openCheckpoint(join(peft, 'adapter_model.safetensors')), refusedLink(join(peft, 'adapter_config.json')));
});

test('weights linked from outside the folder do not make a checkpoint folder; folder scans skip links', async () => {
  const root = tempDir();
  const folder = join(root, 'scan');
  mkdirSync(folder);
  symlinkSync(join(FIXTURES, 'timm_hub_tiny_cnn'), join(folder, 'linked_hub'));
  symlinkSync(join(FIXTURES, 'tiny_cnn.pth'), join(folder, 'linked.pth'));
  const weightsOnly = join(folder, 'weights_link');
  mkdirSync(weightsOnly);
  symlinkSync(join(FIXTURES, 'timm_hub_tiny_cnn', 'model.safetensors'), join(weightsOnly, 'model.safetensors'));
  copyFileSync(join(FIXTURES, 'tiny_cnn.pth'), join(folder, 'real.pth'));
  assert.deepEqual(await expandImportPaths([folder]), [join(folder, 'real.pth')]);
});

test('the Hugging Face cache layout (links into the same models--* folder) still reads, config included', async () => {
  const root = tempDir();
  const repo = join(root, 'models--timm--tiny');
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  const snapshot = join(repo, 'snapshots', 'abc123');
  mkdirSync(snapshot, { recursive: true });
  copyFileSync(join(FIXTURES, 'timm_hub_tiny_cnn', 'model.safetensors'), join(repo, 'blobs', 'w'));
  copyFileSync(join(FIXTURES, 'timm_hub_tiny_cnn', 'config.json'), join(repo, 'blobs', 'c'));
  symlinkSync('../../blobs/w', join(snapshot, 'model.safetensors'));
  symlinkSync('../../blobs/c', join(snapshot, 'config.json'));
  const opened = await openCheckpoint(snapshot);
  assert.equal(opened.layout, 'timm_hub');
  assert.ok(opened.metadata['config.json']!.includes('num_classes'));
  await opened.close();
});

test('paramzoo inspect and import of such folders exit 1 naming the link; nothing reaches the catalog or the terminal', async () => {
  const root = tempDir();
  const data = tempDir();
  const hub = hubFolder(root, 'hub', 'environ');
  const inspect = await runCli(['inspect', hub, '--data', data]);
  assert.equal(inspect.code, 1, inspect.stderr);
  assert.ok(inspect.stderr.includes(join(hub, 'config.json')), inspect.stderr);
  assert.ok(!`${inspect.stdout}${inspect.stderr}`.includes('do-not-leak'));

  assert.equal((await runCli(['zoo', 'create', 'z', '--data', data])).code, 0);
  const before = snapshotCatalog(data);
  const scan = join(root, 'scan');
  hubFolder(scan, 'a_good', 'regular');
  peftFolder(scan, 'b_adapter');
  const imported = await runCli(['import', 'z', scan, '--data', data]);
  assert.equal(imported.code, 1, imported.stderr);
  assert.ok(imported.stderr.includes(join(scan, 'b_adapter', 'adapter_config.json')), imported.stderr);
  assert.ok(!`${imported.stdout}${imported.stderr}`.includes('do-not-leak'));
  assert.deepEqual(snapshotCatalog(data), before);
});
