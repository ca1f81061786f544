// PEFT adapter folders: read, written back as a folder PEFT loads (same names, same adapter_config.json), refused when broken.
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

for (const fixture of ['dora_tiny_llama', 'dora_tiny_llama_bin']) {
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
      assert.ok(tensors.some((t) => t.name.endsWith('.lora_magnitude_vector')), 'DoRA magnitudes kept');
    } finally {
      await again.close();
    }
  });
}

test('a PEFT export without the adapter config in its metadata is refused and writes nothing', async () => {
  const dir = tempDir();
  const out = join(dir, 'adapter');
  await assert.rejects(writeCheckpoint('peft', out, [{ name: 'a.lora_A.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) }], {}),
    (error: unknown) => error instanceof EngineError && error.name === 'PeftError' && error.message.includes('adapter_config.json'));
  assert.deepEqual(readdirSync(dir), []);
});

test('broken adapter folders are refused with errors naming the folder or file', async () => {
  const dir = tempDir();
  const noWeights = join(dir, 'no_weights');
  mkdirSync(noWeights);
  copyFileSync(join(FIXTURES, 'dora_tiny_llama', 'adapter_config.json'), join(noWeights, 'adapter_config.json'));
  await assert.rejects(openCheckpoint(noWeights), (error: unknown) =>
    error instanceof EngineError && error.name === 'PeftError' && error.message.includes('no_weights') && /adapter_model\.safetensors/.test(error.message));

  const badConfig = join(dir, 'bad_config');
  mkdirSync(badConfig);
  writeFileSync(join(badConfig, 'adapter_config.json'), '{"r": 4,');
  copyFileSync(join(FIXTURES, 'dora_tiny_llama', 'adapter_model.safetensors'), join(badConfig, 'adapter_model.safetensors'));
  await assert.rejects(openCheckpoint(badConfig), (error: unknown) =>
    error instanceof EngineError && error.message.includes(join('bad_config', 'adapter_config.json')) && /not valid JSON/.test(error.message));

  const empty = join(dir, 'empty_folder');
  mkdirSync(empty);
  await assert.rejects(openCheckpoint(empty), (error: unknown) => error instanceof EngineError && error.message.includes('empty_folder'));
  await assert.rejects(openCheckpoint(join(dir, 'missing.pth')), (error: unknown) => error instanceof EngineError && error.message.includes('missing.pth'));
});
