import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType, ExportResult, ImportResult } from '../engine/protocol.js';
import type { TensorData } from '../engine/formats/types.js';
import { openCheckpoint, writeCheckpoint } from '../engine/formats/index.js';
import { runAll, runCli, runCliJson } from './helpers/cli.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';
import { SYSTEM_PYTHON, skipWithoutTorch } from './helpers/torch.js';

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

/** One tensor per dtype, with edge values (negative zero, extremes, subnormals), plus a scalar and an empty tensor. */
function everyDtype(): TensorData[] {
  const t = (name: string, dtype: DType, shape: number[], data: Uint8Array): TensorData => ({ name, dtype, shape, data });
  return [
    t('f64', 'F64', [2, 3], bytesOf(new Float64Array([1.5, -2.25, 1e300, -0, Math.PI, 5e-324]))),
    t('f32', 'F32', [3, 2], bytesOf(new Float32Array([1.5, -2.25, 3.4e38, -0, Math.PI, 1e-45]))),
    t('f16', 'F16', [4], bytesOf(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]))),
    t('bf16', 'BF16', [2, 2], bytesOf(new Uint16Array([0x3f80, 0xc040, 0x7f7f, 0x8001]))),
    t('i64', 'I64', [3], bytesOf(new BigInt64Array([-(2n ** 62n), 2n ** 53n + 1n, -1n]))),
    t('i32', 'I32', [3], bytesOf(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 7]))),
    t('i16', 'I16', [3], bytesOf(new Int16Array([-32768, 32767, -5]))),
    t('i8', 'I8', [3], bytesOf(new Int8Array([-128, 127, 0]))),
    t('u8', 'U8', [3], new Uint8Array([0, 255, 42])),
    t('mask', 'BOOL', [2, 2], new Uint8Array([1, 0, 0, 1])),
    t('scalar', 'F32', [], bytesOf(new Float32Array([-7.5]))),
    t('empty', 'F32', [0, 3], new Uint8Array(0)),
  ];
}

async function tensorBytes(path: string): Promise<Map<string, { dtype: DType; shape: number[]; hex: string }>> {
  const opened = await openCheckpoint(path);
  try {
    const result = new Map<string, { dtype: DType; shape: number[]; hex: string }>();
    for (const entry of opened.tensors) result.set(entry.name, { dtype: entry.dtype, shape: entry.shape, hex: Buffer.from(await entry.read()).toString('hex') });
    return result;
  } finally {
    await opened.close();
  }
}

async function layoutOf(path: string): Promise<string> {
  const opened = await openCheckpoint(path);
  await opened.close();
  return opened.layout;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const TORCH_DTYPE: Record<DType, string> = {
  F64: 'torch.float64',
  F32: 'torch.float32',
  F16: 'torch.float16',
  BF16: 'torch.bfloat16',
  I64: 'torch.int64',
  I32: 'torch.int32',
  I16: 'torch.int16',
  I8: 'torch.int8',
  U8: 'torch.uint8',
  BOOL: 'torch.bool',
};

/** What PyTorch itself sees in .pth files: names in order, dtypes, shapes and raw bytes. */
function loadInTorch(paths: string[]): { keys: string[]; tensors: Record<string, { dtype: string; shape: number[]; hex: string }> }[] {
  const script = `
import sys, json, torch
out = []
for path in sys.argv[1:]:
    sd = torch.load(path, weights_only=True)
    tensors = {}
    for k, t in sd.items():
        t = t.contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        tensors[k] = {"dtype": str(t.dtype), "shape": list(t.shape), "hex": raw.hex()}
    out.append({"keys": list(sd.keys()), "tensors": tensors})
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', script, ...paths], { encoding: 'utf8' }));
}

test('every dtype survives import → export (safetensors, pth) → re-import → export bit for bit, and PyTorch loads the .pth', async (t) => {
  const dataDir = tempDir();
  const work = tempDir();
  const original = everyDtype();
  const source = join(work, 'dtypes.safetensors');
  await writeCheckpoint('safetensors', source, original, { note: 'every dtype' });
  const expected = new Map(original.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, hex: Buffer.from(t.data).toString('hex') }]));
  const data = ['--data', dataDir];

  await runCliJson(['zoo', 'create', 'dtypes', ...data]);
  const [first] = (await runCliJson<ImportResult>(['import', 'dtypes', source, ...data])).imported;
  const asSafetensors = await runCliJson<ExportResult>(['export', first!.id, '--out', join(work, 'a.safetensors'), ...data]);
  const asPth = await runCliJson<ExportResult>(['export', first!.id, '--out', join(work, 'a.pth'), '--format', 'pth', ...data]);
  assert.equal(asSafetensors.format, 'safetensors', 'default export format = the source format');
  assert.equal(asPth.format, 'pth');
  for (const result of [asSafetensors, asPth]) {
    assert.equal(result.sha256, sha256(result.path));
    assert.deepEqual(await tensorBytes(result.path), expected, result.path);
  }

  const reimported = (await runCliJson<ImportResult>(['import', 'dtypes', asSafetensors.path, asPth.path, ...data])).imported;
  assert.equal(reimported.length, 2);
  const fromPth = await runCliJson<ExportResult>(['export', reimported[1]!.id, '--out', join(work, 'b.pth'), ...data]);
  assert.equal(fromPth.format, 'pth', 'a checkpoint imported from .pth exports as .pth by default');
  const again = await runCliJson<ExportResult>(['export', reimported[1]!.id, '--out', join(work, 'b.safetensors'), '--format', 'safetensors', ...data]);
  assert.deepEqual(await tensorBytes(fromPth.path), expected);
  assert.deepEqual(await tensorBytes(again.path), expected);

  await t.test('PyTorch loads both exported .pth files with the same names, dtypes, shapes and bytes', { skip: skipWithoutTorch() }, () => {
    const [torchA, torchB] = loadInTorch([asPth.path, fromPth.path]);
    for (const loaded of [torchA!, torchB!]) {
      assert.deepEqual(
        loaded.keys,
        original.map((tensor) => tensor.name),
      );
      for (const tensor of original) {
        const got = loaded.tensors[tensor.name]!;
        assert.equal(got.dtype, TORCH_DTYPE[tensor.dtype], tensor.name);
        assert.deepEqual(got.shape, tensor.shape, tensor.name);
        assert.equal(got.hex, expected.get(tensor.name)!.hex, `${tensor.name}: PyTorch sees the same values`);
      }
    }
  });
});

test('PEFT adapter folders and timm checkpoints export in their source layout, configs byte for byte', async () => {
  const dataDir = tempDir();
  const work = tempDir();
  const data = ['--data', dataDir];
  const cases = [
    { zoo: 'dora', source: 'dora_tiny_llama', config: 'adapter_config.json', weights: 'adapter_model.safetensors', format: 'peft' },
    { zoo: 'dora-bin', source: 'dora_tiny_llama_bin', config: 'adapter_config.json', weights: 'adapter_model.safetensors', format: 'peft' },
    { zoo: 'hub', source: 'timm_hub_tiny_cnn', config: 'config.json', weights: 'model.safetensors', format: 'safetensors' },
  ];
  await runAll(
    cases.map((c) => async () => {
      const source = join(FIXTURES, c.source);
      await runCliJson(['zoo', 'create', c.zoo, ...data]);
      const [imported] = (await runCliJson<ImportResult>(['import', c.zoo, source, ...data])).imported;
      assert.equal(imported!.source, source);
      const out = join(work, c.source);
      const exported = await runCliJson<ExportResult>(['export', imported!.id, '--out', out, ...data]);
      assert.deepEqual(exported, { path: out, format: c.format, sha256: sha256(join(out, c.weights)) }, c.source);
      assert.deepEqual(readFileSync(join(out, c.config)), readFileSync(join(source, c.config)), `${c.source}: ${c.config} identical`);
      // the exported folder opens as the same kind of checkpoint with the same tensors
      assert.deepEqual(await tensorBytes(out), await tensorBytes(source), c.source);
      assert.equal(await layoutOf(out), await layoutOf(source), c.source);
    }),
  );

  // A timm training checkpoint exports as a plain state_dict with the unwrapped names PyTorch loads.
  await runCliJson(['zoo', 'create', 'timm', ...data]);
  const trainCheckpoint = join(FIXTURES, 'timm_train_checkpoint.pth.tar');
  const [imported] = (await runCliJson<ImportResult>(['import', 'timm', trainCheckpoint, ...data])).imported;
  const exported = await runCliJson<ExportResult>(['export', imported!.id, '--out', join(work, 'timm.pth'), ...data]);
  assert.equal(exported.format, 'pth');
  const [loaded] = loadInTorch([exported.path]);
  assert.deepEqual(loaded!.keys, [...(await tensorBytes(trainCheckpoint)).keys()]);
  assert.ok(!loaded!.keys.some((k) => k.startsWith('module.')));
  assert.deepEqual(await tensorBytes(exported.path), await tensorBytes(trainCheckpoint));

  // A state_dict checkpoint cannot become a PEFT adapter.
  const refused = await runCli(['export', imported!.id, '--out', join(work, 'nope'), '--format', 'peft', ...data]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /not a PEFT adapter/);
});
