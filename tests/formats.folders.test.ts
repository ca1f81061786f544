// Folder checkpoints (PEFT adapters, timm hub folders) are entries of the format registry: imported
// and exported with their config byte for byte however it is written, refused by name (nothing
// changed) when broken, and no engine file outside engine/formats/ knows the folders' file names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../engine/errors.js';
import { isCheckpointFolder, openCheckpoint, writesFolder } from '../engine/formats/index.js';
import type { ExportResult, ImportResult } from '../engine/protocol.js';
import { createEngineService, runJob } from '../engine/service.js';
import { snapshotCatalog } from './helpers/catalog.js';
import { runAll, runCli, runCliJson } from './helpers/cli.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

/** A folder holding `files`: each a fixture file to copy ({ from }) or text to write. */
function folderOf(path: string, files: Record<string, string | { from: string }>): string {
  mkdirSync(path, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === 'string') writeFileSync(join(path, name), content);
    else copyFileSync(join(FIXTURES, content.from), join(path, name));
  }
  return path;
}

// What a JSON reader accepts and a byte-exact round trip must keep: a byte-order mark, CRLF line
// ends, a tab, trailing spaces, non-ASCII text, unsorted keys, blank lines at the end.
const ODD_ADAPTER_CONFIG = '\uFEFF{\r\n  "r": 4,\t"peft_type": "DORA",  \r\n  "note": "Grüße ✓ 适配器"\r\n}\r\n\r\n';
const ODD_HUB_CONFIG = '{"num_classes": 10,\r\n "architecture": "tiny_cnn", "label": "Grüße ✓"}   \n';

test('an imported adapter or hub folder exports as the same folder, its config byte for byte', async () => {
  const work = tempDir();
  const data = ['--data', tempDir()];
  const cases = [
    { zoo: 'peft', source: join(FIXTURES, 'dora_tiny_llama'), config: 'adapter_config.json', files: ['adapter_config.json', 'adapter_model.safetensors'] },
    { zoo: 'research', source: join(FIXTURES, 'dora_research_tiny_llama'), config: 'adapter_config.json', files: ['adapter_config.json', 'adapter_model.safetensors'] },
    {
      zoo: 'odd-adapter',
      config: 'adapter_config.json',
      files: ['adapter_config.json', 'adapter_model.safetensors'],
      source: folderOf(join(work, 'odd_adapter'), { 'adapter_config.json': ODD_ADAPTER_CONFIG, 'adapter_model.bin': { from: 'dora_research_tiny_llama/adapter_model.bin' } }),
    },
    {
      zoo: 'odd-hub',
      config: 'config.json',
      files: ['config.json', 'model.safetensors'],
      source: folderOf(join(work, 'odd_hub'), { 'config.json': ODD_HUB_CONFIG, 'model.safetensors': { from: 'timm_hub_tiny_cnn/model.safetensors' } }),
    },
    {
      zoo: 'odd-hub-pth',
      config: 'config.json',
      files: ['config.json', 'pytorch_model.bin'],
      format: 'pth',
      source: folderOf(join(work, 'odd_hub_pth'), { 'config.json': ODD_HUB_CONFIG, 'model.safetensors': { from: 'timm_hub_tiny_cnn/model.safetensors' } }),
    },
  ];
  await runAll(
    cases.map((c) => async () => {
      await runCliJson(['zoo', 'create', c.zoo, ...data]);
      const [imported] = (await runCliJson<ImportResult>(['import', c.zoo, c.source, ...data])).imported;
      const out = join(work, `${c.zoo}-export`);
      await runCliJson<ExportResult>(['export', imported!.id, '--out', out, ...(c.format ? ['--format', c.format] : []), ...data]);
      assert.deepEqual(readdirSync(out).sort(), c.files, c.zoo);
      assert.deepEqual(readFileSync(join(out, c.config)), readFileSync(join(c.source, c.config)), `${c.zoo}: ${c.config} byte for byte`);
      const [before, after] = [await openCheckpoint(c.source), await openCheckpoint(out)];
      await Promise.all([before.close(), after.close()]);
      assert.deepEqual([after.layout, after.tensors.map((t) => [t.name, t.dtype, t.shape])], [before.layout, before.tensors.map((t) => [t.name, t.dtype, t.shape])], c.zoo);
    }),
  );
});

test('a broken adapter or hub folder is refused by import, naming the file and the fix; the catalog and blobs stay as they were', async () => {
  const dataDir = tempDir();
  const work = tempDir();
  const data = ['--data', dataDir];
  await runCliJson(['zoo', 'create', 'dora', ...data]);
  await runCliJson(['import', 'dora', join(FIXTURES, 'dora_tiny_llama'), ...data]);
  const weights = { from: 'dora_tiny_llama/adapter_model.safetensors' };
  const cases: Array<{ name: string; files: Record<string, string | { from: string }>; file: string; says: RegExp; fix: RegExp }> = [
    { name: 'missing_config', files: { 'adapter_model.safetensors': weights }, file: 'adapter_config.json', says: /does not exist/, fix: /copy the adapter_config\.json/ },
    {
      name: 'config_not_json',
      files: { 'adapter_config.json': '{"peft_type": "LORA", "r": 4', 'adapter_model.safetensors': weights },
      file: 'adapter_config.json',
      says: /not valid JSON/,
      fix: /save_pretrained/,
    },
    {
      name: 'unknown_peft_type',
      files: { 'adapter_config.json': '{"peft_type": "LOHA"}', 'adapter_model.safetensors': weights },
      file: 'adapter_config.json',
      says: /"peft_type": "LOHA"/,
      fix: /LoRA and DoRA adapters/,
    },
    {
      name: 'hub_config_not_json',
      files: { 'config.json': 'architecture: tiny_cnn', 'model.safetensors': { from: 'timm_hub_tiny_cnn/model.safetensors' } },
      file: 'config.json',
      says: /not valid JSON/,
      fix: /fix the file/,
    },
  ];
  // a folder of adapters with one broken among good ones: the whole import is refused
  const scanned = join(work, 'adapters');
  folderOf(join(scanned, 'a_good'), { 'adapter_config.json': { from: 'dora_tiny_llama/adapter_config.json' }, 'adapter_model.safetensors': weights });
  folderOf(join(scanned, 'b_weights_only'), { 'adapter_model.safetensors': weights });

  const before = snapshotCatalog(dataDir);
  const runs = await runAll([
    ...cases.map((c) => async () => ({ ...c, path: folderOf(join(work, c.name), c.files), run: await runCli(['import', 'dora', join(work, c.name), ...data]) })),
    async () => ({
      name: 'scanned',
      file: join('b_weights_only', 'adapter_config.json'),
      says: /does not exist/,
      fix: /copy the adapter_config\.json/,
      path: scanned,
      run: await runCli(['import', 'dora', scanned, ...data]),
    }),
  ]);
  for (const { name, path, file, says, fix, run } of runs) {
    assert.equal(run.code, 1, `${name}: ${run.stderr}`);
    const [message, hint] = run.stderr.split('\nhint: ');
    assert.ok(message!.includes(join(path, file)), `${name} names ${file}: ${run.stderr}`);
    assert.match(message!, says, name);
    assert.match(hint ?? '', fix, name);
  }
  assert.deepEqual(snapshotCatalog(dataDir), before, 'nothing imported, no blob left');
});

test('the registry tells folders of checkpoints from checkpoint folders, and which exports are folders', async () => {
  const work = tempDir();
  assert.equal(await isCheckpointFolder(join(FIXTURES, 'dora_research_tiny_llama')), true);
  assert.equal(await isCheckpointFolder(join(FIXTURES, 'timm_hub_tiny_cnn')), true);
  assert.equal(await isCheckpointFolder(folderOf(join(work, 'weights_only'), { 'adapter_model.bin': { from: 'dora_research_tiny_llama/adapter_model.bin' } })), true);
  assert.equal(await isCheckpointFolder(FIXTURES), false);
  assert.equal(writesFolder('peft', 'peft_adapter'), true);
  assert.equal(writesFolder('safetensors', 'peft_adapter'), false, 'an adapter exported as safetensors is one file');
  assert.equal(writesFolder('safetensors', 'timm_hub'), true);
  assert.equal(writesFolder('pth', 'timm_hub'), true);
  assert.equal(writesFolder('pth', 'timm_training_checkpoint'), false);
  // a hub folder without config.json reads as its weights file alone
  const bare = folderOf(join(work, 'bare_hub'), { 'model.safetensors': { from: 'timm_hub_tiny_cnn/model.safetensors' } });
  const opened = await openCheckpoint(bare);
  await opened.close();
  assert.deepEqual([opened.format, opened.layout, opened.path, 'config.json' in opened.metadata], ['safetensors', 'state_dict', bare, false]);
  // a hub config.json that is not JSON is refused by the hub reader, by name
  const broken = folderOf(join(work, 'broken_hub'), { 'config.json': '{', 'model.safetensors': { from: 'timm_hub_tiny_cnn/model.safetensors' } });
  await assert.rejects(
    openCheckpoint(broken),
    (error: unknown) =>
      error instanceof EngineError && error.name === 'HubFolderError' && error.message.startsWith(`${join(broken, 'config.json')}: is not valid JSON`) && /fix the file/.test(error.hint ?? ''),
  );
});

test('a download of a checkpoint that exports as a folder is refused before any job runs', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  try {
    for (const [zoo, fixture, format] of [
      ['hub', 'timm_hub_tiny_cnn', 'safetensors'],
      ['dora', 'dora_tiny_llama', 'peft'],
    ] as const) {
      await service.request('zoo.create', { name: zoo });
      const { imported } = (await runJob(service, 'import', { zoo, paths: [join(FIXTURES, fixture)] })) as ImportResult;
      await assert.rejects(
        service.request('download.export', { id: imported[0]!.id, format }),
        (error: unknown) => error instanceof EngineError && error.code === 'bad_option' && /is a folder .* cannot be downloaded as one file/.test(error.message),
      );
    }
  } finally {
    await service.close();
  }
});

test("no engine file outside engine/formats/ names a checkpoint folder's files", () => {
  const engine = fileURLToPath(new URL('../engine', import.meta.url));
  // a file name as a whole string literal: what code that builds or looks for such a path holds
  const folderFile = /(['"`])(adapter_config\.json|adapter_model\.(safetensors|bin)|config\.json|model\.safetensors|pytorch_model\.bin)\1/;
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (relative(engine, path) !== 'formats') walk(path);
      } else if (name.endsWith('.ts') && folderFile.test(readFileSync(path, 'utf8'))) offenders.push(relative(engine, path));
    }
  };
  walk(engine);
  assert.deepEqual(offenders, []);
  assert.ok(folderFile.test("join(folder, 'adapter_config.json')") && !folderFile.test("'e.g. --out model.safetensors'"), 'the pattern finds what it is about');
});
