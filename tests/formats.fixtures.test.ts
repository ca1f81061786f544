// Every fixture written by PyTorch 1.13 reads back as expected.json says; every hostile or broken file is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EngineError } from '../engine/errors.js';
import { TORCH_DTYPE_TO_DTYPE } from '../engine/formats/dtypes.js';
import { inspectCheckpoint } from '../engine/formats/index.js';
import type { InspectResult } from '../engine/protocol.js';
import { tempDir } from './helpers/tmp.js';
import { runTorch, skipWithoutTorch } from './helpers/torch.js';

import { FIXTURES } from './helpers/fixtures.js';

interface ExpectedTensor {
  dtype: string;
  shape: number[];
  sum: number;
  first: number[];
}
interface ExpectedFixture {
  kind: string;
  tensors: Record<string, ExpectedTensor>;
  tensors_ema?: Record<string, ExpectedTensor>;
}

const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, unknown>;
const fixtures = Object.entries(expected).filter(([key]) => key !== 'bad') as Array<[string, ExpectedFixture]>;
const badFiles = Object.keys(expected.bad as Record<string, string>);

function close(actual: number, wanted: number): boolean {
  return Math.abs(actual - wanted) <= Math.max(1e-9, 1e-6 * Math.abs(wanted));
}

function assertMatches(result: InspectResult, want: ExpectedFixture, label: string): void {
  assert.deepEqual(Object.keys(result.tensors).sort(), Object.keys(want.tensors).sort(), `${label}: tensor names`);
  for (const [name, tensor] of Object.entries(want.tensors)) {
    const got = result.tensors[name]!;
    assert.equal(got.dtype, TORCH_DTYPE_TO_DTYPE[tensor.dtype], `${label} ${name}: dtype`);
    assert.deepEqual(got.shape, tensor.shape, `${label} ${name}: shape`);
    assert.ok(close(got.sum, tensor.sum), `${label} ${name}: sum ${got.sum} vs ${tensor.sum}`);
    assert.equal(got.first.length, tensor.first.length, `${label} ${name}: first values`);
    got.first.forEach((value, i) => {
      assert.ok(close(value, tensor.first[i]!), `${label} ${name}: first[${i}] ${value} vs ${tensor.first[i]}`);
    });
  }
}

test('expected.json lists every fixture and every bad file on disk', () => {
  assert.ok(fixtures.length >= 10);
  assert.deepEqual(badFiles.sort(), readdirSync(join(FIXTURES, 'bad')).sort());
});

for (const [key, want] of fixtures) {
  test(`${key} reads as expected.json says (${want.kind})`, async () => {
    const result = await inspectCheckpoint(join(FIXTURES, key));
    assertMatches(result, want, key);
    assert.equal(result.layout, want.kind);
  });
  if (key.includes('/')) {
    const folder = dirname(key);
    test(`${folder}/ opens as a folder with the same tensors`, async () => {
      const result = await inspectCheckpoint(join(FIXTURES, folder));
      assertMatches(result, want, `${folder}/`);
    });
  }
}

test('a timm training checkpoint yields its model weights without module. prefixes, scalars as metadata, EMA not loaded', async () => {
  const result = await inspectCheckpoint(join(FIXTURES, 'timm_train_checkpoint.pth.tar'));
  assert.equal(result.format, 'pth');
  assert.equal(result.layout, 'timm_training_checkpoint');
  assert.ok(Object.keys(result.tensors).every((name) => !name.startsWith('module.')));
  assert.equal(result.metadata.epoch, '3');
  assert.equal(result.metadata.metric, '71.25');
  assert.equal(result.metadata.arch, 'tiny_cnn');
  assert.deepEqual(JSON.parse(result.metadata.args!), { model: 'tiny_cnn', lr: 0.1, epochs: 10 });
  assert.match(result.metadata.state_dict_ema!, /15 EMA tensors/);
  // the EMA weights differ from the model's: make sure the model's were the ones read
  const ema = (expected['timm_train_checkpoint.pth.tar'] as ExpectedFixture).tensors_ema!;
  assert.ok(!close(result.tensors['fc.weight']!.sum, ema['fc.weight']!.sum));
});

test('a timm hub folder is format safetensors, layout timm_hub, with config.json kept verbatim', async () => {
  const folder = join(FIXTURES, 'timm_hub_tiny_cnn');
  const result = await inspectCheckpoint(folder);
  assert.equal(result.format, 'safetensors');
  assert.equal(result.layout, 'timm_hub');
  assert.equal(result.metadata['config.json'], readFileSync(join(folder, 'config.json'), 'utf8'));
});

test('PEFT adapter folders (safetensors and legacy .bin) are format peft with adapter_config.json kept verbatim', async () => {
  for (const name of ['dora_tiny_llama', 'dora_tiny_llama_bin']) {
    const folder = join(FIXTURES, name);
    const result = await inspectCheckpoint(folder);
    assert.equal(result.format, 'peft');
    assert.equal(result.layout, 'peft_adapter');
    assert.equal(result.metadata['adapter_config.json'], readFileSync(join(folder, 'adapter_config.json'), 'utf8'));
    assert.equal(Object.keys(result.tensors).filter((n) => n.endsWith('lora_magnitude_vector')).length, 4);
  }
});

for (const file of badFiles) {
  test(`bad/${file} is refused with an error naming the file`, async () => {
    await assert.rejects(inspectCheckpoint(join(FIXTURES, 'bad', file)), (error: unknown) => {
      assert.ok(error instanceof EngineError, `not an EngineError: ${String(error)}`);
      assert.ok(error.message.includes(file), error.message);
      assert.ok(error.hint, 'a hint says what to do');
      return true;
    });
  });
}

test('code_execution.pth runs nothing and the error names the global it wanted to call', { skip: skipWithoutTorch() }, async () => {
  const marker = '/tmp/paramzoo_pwned';
  const path = join(FIXTURES, 'bad', 'code_execution.pth');
  // What the file tries, according to Python's own pickle disassembler.
  const globals = runTorch<string[]>(
    `
import json, pickletools, sys, zipfile
z = zipfile.ZipFile(sys.argv[1] if len(sys.argv) > 1 else json.load(sys.stdin))
data = z.read([n for n in z.namelist() if n.endswith('data.pkl')][0])
print(json.dumps([arg for op, arg, pos in pickletools.genops(data) if op.name == 'GLOBAL']))
`,
    path,
  );
  assert.ok(globals.includes('posix system'), `the fixture calls ${globals.join(', ')}`);
  rmSync(marker, { force: true });
  await assert.rejects(inspectCheckpoint(path), (error: unknown) => {
    assert.ok(error instanceof EngineError);
    assert.equal(error.name, 'PickleError');
    assert.match(error.message, /os\.system/);
    assert.match(error.message, /posix\.system/);
    assert.ok(error.message.includes(basename(path)));
    return true;
  });
  assert.equal(existsSync(marker), false, 'os.system ran');
});

test('a hub folder holding pytorch_model.bin opens as format pth, layout timm_hub', async () => {
  const folder = join(tempDir(), 'hub_bin');
  mkdirSync(folder);
  copyFileSync(join(FIXTURES, 'tiny_cnn.pth'), join(folder, 'pytorch_model.bin'));
  writeFileSync(join(folder, 'config.json'), '{"architecture": "tiny_cnn"}');
  const result = await inspectCheckpoint(folder);
  assert.equal(result.format, 'pth');
  assert.equal(result.layout, 'timm_hub');
  assert.equal(result.metadata['config.json'], '{"architecture": "tiny_cnn"}');
  assertMatches(result, expected['tiny_cnn.pth'] as ExpectedFixture, 'hub_bin/');
});
