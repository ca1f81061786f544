// PEFT adapter folders: read (DoRA in PEFT's spelling and in the research code's), written back as a
// folder PEFT loads (same names, same adapter_config.json), refused when broken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../engine/errors.js';
import { openCheckpoint, writeCheckpoint } from '../engine/formats/index.js';
import type { OpenedCheckpoint, TensorData } from '../engine/formats/types.js';
import { tempDir } from './helpers/tmp.js';

import { FIXTURES } from './helpers/fixtures.js';

async function tensorsOf(opened: OpenedCheckpoint): Promise<TensorData[]> {
  const out: TensorData[] = [];
  for (const t of opened.tensors) out.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await t.read() });
  return out;
}

/** Each DoRA fixture and the name its magnitude vectors end with. */
const DORA_FIXTURES = [
  { fixture: 'dora_tiny_llama', magnitude: '.lora_magnitude_vector' },
  { fixture: 'dora_tiny_llama_bin', magnitude: '.lora_magnitude_vector' },
  { fixture: 'dora_research_tiny_llama', magnitude: '.weight_m_wdecomp.weight' },
];

for (const { fixture, magnitude } of DORA_FIXTURES) {
  test(`${fixture}/ written back is a PEFT folder with identical adapter_config.json and tensors`, async () => {
    const source = join(FIXTURES, fixture);
    const opened = await openCheckpoint(source);
    const tensors = await tensorsOf(opened);
    await opened.close();
    const out = join(tempDir(), 'adapter');
    await writeCheckpoint('peft', out, tensors, opened.metadata);
    assert.deepEqual(readdirSync(out).sort(), ['adapter_config.json', 'adapter_model.safetensors']);
    assert.deepEqual(readFileSync(join(out, 'adapter_config.json')), readFileSync(join(source, 'adapter_config.json')));
    const again = await openCheckpoint(out);
    try {
      assert.equal(again.format, 'peft');
      assert.equal(again.layout, 'peft_adapter');
      assert.deepEqual(await tensorsOf(again), tensors);
      assert.equal(tensors.filter((t) => t.name.endsWith(magnitude)).length, 4, 'DoRA magnitudes kept');
    } finally {
      await again.close();
    }
  });
}

test("DoRA loads in PEFT's spelling (peft_type LORA, use_dora true) and in the research spelling (peft_type DORA)", async () => {
  const spellings = [
    ['dora_tiny_llama', 'LORA', true],
    ['dora_research_tiny_llama', 'DORA', undefined],
  ] as const;
  for (const [fixture, peftType, useDora] of spellings) {
    const folder = join(FIXTURES, fixture);
    const config = JSON.parse(readFileSync(join(folder, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.peft_type, peftType, fixture);
    assert.equal(config.use_dora, useDora, fixture);
    // the adapter's weights file opens as the whole adapter folder
    for (const path of [folder, join(folder, readdirSync(folder).find((name) => name.startsWith('adapter_model'))!)]) {
      const opened = await openCheckpoint(path);
      await opened.close();
      assert.equal(opened.format, 'peft', path);
      assert.equal(opened.layout, 'peft_adapter', path);
      assert.equal(opened.path, folder, path);
      assert.equal(opened.tensors.length, 12, path);
    }
  }
});

test('a PEFT export without the adapter config in its metadata is refused and writes nothing', async () => {
  const dir = tempDir();
  const out = join(dir, 'adapter');
  await assert.rejects(
    writeCheckpoint('peft', out, [{ name: 'a.lora_A.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) }], {}),
    (error: unknown) => error instanceof EngineError && error.name === 'PeftError' && error.message.includes('adapter_config.json'),
  );
  assert.deepEqual(readdirSync(dir), []);
});

test('broken adapter folders are refused with errors naming the folder or file', async () => {
  const dir = tempDir();
  const noWeights = join(dir, 'no_weights');
  mkdirSync(noWeights);
  copyFileSync(join(FIXTURES, 'dora_tiny_llama', 'adapter_config.json'), join(noWeights, 'adapter_config.json'));
  await assert.rejects(
    openCheckpoint(noWeights),
    (error: unknown) => error instanceof EngineError && error.name === 'PeftError' && error.message.includes('no_weights') && /adapter_model\.safetensors/.test(error.message),
  );

  const badConfig = join(dir, 'bad_config');
  mkdirSync(badConfig);
  writeFileSync(join(badConfig, 'adapter_config.json'), '{"r": 4,');
  copyFileSync(join(FIXTURES, 'dora_tiny_llama', 'adapter_model.safetensors'), join(badConfig, 'adapter_model.safetensors'));
  await assert.rejects(
    openCheckpoint(badConfig),
    (error: unknown) => error instanceof EngineError && error.message.includes(join('bad_config', 'adapter_config.json')) && /not valid JSON/.test(error.message),
  );

  const empty = join(dir, 'empty_folder');
  mkdirSync(empty);
  await assert.rejects(openCheckpoint(empty), (error: unknown) => error instanceof EngineError && error.message.includes('empty_folder'));
  await assert.rejects(openCheckpoint(join(dir, 'missing.pth')), (error: unknown) => error instanceof EngineError && error.message.includes('missing.pth'));
});

test('bad adapter configs are refused with a PeftError naming the file and the fix', async () => {
  const dir = tempDir();
  const cases: Array<{ name: string; config?: string; problem: RegExp; hint: RegExp }> = [
    { name: 'missing_config', problem: /does not exist/, hint: /copy the adapter_config\.json saved with these weights/ },
    { name: 'not_json', config: '{"peft_type": "LORA",', problem: /is not valid JSON/, hint: /save_pretrained/ },
    { name: 'not_an_object', config: '["LORA"]', problem: /is not a JSON object/, hint: /save_pretrained/ },
    { name: 'no_peft_type', config: '{"r": 4}', problem: /has no "peft_type"/, hint: /"peft_type": "LORA"/ },
    { name: 'unknown_peft_type', config: '{"peft_type": "IA3"}', problem: /"peft_type": "IA3", which ParamZoo does not read/, hint: /LoRA and DoRA adapters/ },
    { name: 'use_dora_not_boolean', config: '{"peft_type": "LORA", "use_dora": "yes"}', problem: /"use_dora": "yes", not true or false/, hint: /"use_dora": true/ },
  ];
  for (const { name, config, problem, hint } of cases) {
    const folder = join(dir, name);
    mkdirSync(folder);
    copyFileSync(join(FIXTURES, 'dora_tiny_llama', 'adapter_model.safetensors'), join(folder, 'adapter_model.safetensors'));
    if (config !== undefined) writeFileSync(join(folder, 'adapter_config.json'), config);
    await assert.rejects(openCheckpoint(folder), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.name === 'PeftError', `${name}: ${String(error)}`);
      assert.equal(error.code, 'peft_adapter_invalid', name);
      assert.ok(error.message.startsWith(`${join(folder, 'adapter_config.json')}: `), `${name}: ${error.message}`);
      assert.match(error.message, problem, name);
      assert.match(error.hint ?? '', hint, name);
      return true;
    });
  }
});

test('the PEFT writer refuses an adapter config it would not read, before writing anything', async () => {
  const dir = tempDir();
  const tensor: TensorData = { name: 'a.lora_A.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) };
  for (const config of ['{"peft_type": "PROMPT_TUNING"}', 'not json']) {
    await assert.rejects(
      writeCheckpoint('peft', join(dir, 'adapter'), [tensor], { 'adapter_config.json': config }),
      (error: unknown) => error instanceof EngineError && error.name === 'PeftError' && error.message.includes('adapter_config.json'),
    );
  }
  assert.deepEqual(readdirSync(dir), []);
});
