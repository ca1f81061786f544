// What ParamZoo writes, it reads back bit for bit: every dtype, 0-d and empty tensors, metadata, tensor order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../engine/errors.js';
import { HashingFileWriter, writeFileAtomic } from '../engine/fsutil.js';
import { DTYPES, DTYPE_SIZE, byteLengthOf } from '../engine/tensors.js';
import { swapByteOrder } from '../engine/formats/dtypes.js';
import { openCheckpoint, writeCheckpoint } from '../engine/formats/index.js';
import { encodeStateDictPickle, write as writePth } from '../engine/formats/torch.js';
import type { TensorData } from '../engine/formats/types.js';
import { ZipWriter } from '../engine/formats/zip.js';
import type { CheckpointFormat, DType } from '../engine/protocol.js';
import { tempDir } from './helpers/tmp.js';

/** Deterministic bytes; for float dtypes any bit pattern (NaN payloads included) must survive untouched. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

function tensor(name: string, dtype: DType, shape: number[], seed: number): TensorData {
  const data = pseudoRandomBytes(byteLengthOf(dtype, shape)!, seed);
  if (dtype === 'BOOL')
    data.forEach((b, i) => {
      data[i] = b & 1;
    });
  return { name, dtype, shape, data };
}

/** every dtype in a matrix, a 0-d scalar and an empty tensor, plus names JSON.parse would reorder */
function everyKindOfTensor(): TensorData[] {
  const tensors: TensorData[] = [];
  DTYPES.forEach((dtype, i) => {
    tensors.push(tensor(`layer${i}.${dtype.toLowerCase()}.weight`, dtype, [3, 5], i + 1));
    tensors.push(tensor(`layer${i}.${dtype.toLowerCase()}.scalar`, dtype, [], i + 100));
    tensors.push(tensor(`layer${i}.${dtype.toLowerCase()}.empty`, dtype, [0, 4], i + 200));
  });
  tensors.push(tensor('10', 'F32', [2], 7), tensor('2', 'F32', [1, 1, 3], 8), tensor('zero_dims', 'F16', [2, 0, 3], 9));
  return tensors;
}

const METADATA = { epoch: '12', note: 'ünïcode ✓ "quoted"', empty: '' };

async function assertReadsBack(path: string, format: CheckpointFormat, tensors: TensorData[], metadata: Record<string, string>): Promise<void> {
  const opened = await openCheckpoint(path);
  try {
    assert.equal(opened.format, format);
    assert.deepEqual(
      opened.tensors.map((t) => t.name),
      tensors.map((t) => t.name),
      'tensor order',
    );
    for (const [i, want] of tensors.entries()) {
      const got = opened.tensors[i]!;
      assert.equal(got.dtype, want.dtype, want.name);
      assert.deepEqual(got.shape, want.shape, want.name);
      assert.equal(got.byteLength, want.data.byteLength, want.name);
      assert.deepEqual(await got.read(), want.data, `${want.name} bytes`);
    }
    for (const [key, value] of Object.entries(metadata)) assert.equal(opened.metadata[key], value, `metadata ${key}`);
  } finally {
    await opened.close();
  }
}

for (const format of ['safetensors', 'pth'] as const) {
  test(`${format}: every dtype, 0-d and empty tensors and metadata round-trip bit-identical, in order`, async () => {
    const dir = tempDir();
    const tensors = everyKindOfTensor();
    const path = join(dir, `model.${format}`);
    await writeCheckpoint(format, path, tensors, METADATA);
    await assertReadsBack(path, format, tensors, METADATA);
    assert.deepEqual(readdirSync(dir), [`model.${format}`], 'no temp file left behind');
  });
}

test('safetensors layout: header padded with spaces to a multiple of 8, data contiguous in the given order', async () => {
  const dir = tempDir();
  const tensors = [tensor('b', 'F32', [3], 1), tensor('a', 'I8', [5], 2), tensor('c', 'F64', [1], 3)];
  const path = join(dir, 'x.safetensors');
  await writeCheckpoint('safetensors', path, tensors, {});
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const headerText = bytes.subarray(8, 8 + n).toString('utf8');
  assert.match(headerText, /^\{.*\} *$/);
  const header = JSON.parse(headerText) as Record<string, { data_offsets: number[] }>;
  assert.deepEqual(header.b!.data_offsets, [0, 12]);
  assert.deepEqual(header.a!.data_offsets, [12, 17]);
  assert.deepEqual(header.c!.data_offsets, [17, 25]);
  assert.equal(bytes.length, 8 + n + 25);
  assert.equal(headerText.includes('__metadata__'), false, 'no empty metadata object');
});

test('pth with zip64 records (as files over 4 GiB have) reads back', async () => {
  const dir = tempDir();
  const tensors = everyKindOfTensor();
  const path = join(dir, 'zip64.pth');
  await writePth(path, tensors, METADATA, { forceZip64: true });
  await assertReadsBack(path, 'pth', tensors, METADATA);
});

test('pth data records start on 64-byte boundaries, as torch writes them', async () => {
  const dir = tempDir();
  const path = join(dir, 'aligned.pth');
  await writeCheckpoint('pth', path, [tensor('w', 'F32', [3, 3], 1), tensor('b', 'F32', [3], 2)], {});
  const bytes = readFileSync(path);
  for (const [index, want] of [
    [0, tensor('w', 'F32', [3, 3], 1)],
    [1, tensor('b', 'F32', [3], 2)],
  ] as const) {
    const at = bytes.indexOf(Buffer.from(want.data));
    assert.ok(at > 0, `record ${index} found`);
    assert.equal(at % 64, 0, `record ${index} at ${at}`);
  }
});

test('a big-endian torch archive (byteorder "big") is byte-swapped on read', async () => {
  const dir = tempDir();
  const tensors = [tensor('f', 'F32', [4], 1), tensor('h', 'BF16', [2, 2], 2), tensor('i', 'I64', [3], 3), tensor('u', 'U8', [5], 4)];
  const path = join(dir, 'big.pth');
  await writeFileAtomic(path, async (file) => {
    const zip = new ZipWriter(new HashingFileWriter(file));
    await zip.add('big/data.pkl', encodeStateDictPickle(tensors, {}));
    await zip.add('big/byteorder', new TextEncoder().encode('big'));
    for (const [i, t] of tensors.entries()) {
      const swapped = t.data.slice();
      swapByteOrder(swapped, DTYPE_SIZE[t.dtype]);
      await zip.add(`big/data/${i}`, swapped);
    }
    await zip.add('big/version', new TextEncoder().encode('3\n'));
    await zip.finish();
  });
  await assertReadsBack(path, 'pth', tensors, {});
});

test('writers refuse inconsistent tensors and leave nothing on disk', async () => {
  const dir = tempDir();
  const bad: TensorData = { name: 'w', dtype: 'F32', shape: [2, 2], data: new Uint8Array(15) };
  for (const format of ['safetensors', 'pth', 'peft'] as const) {
    const metadata: Record<string, string> = format === 'peft' ? { 'adapter_config.json': '{"peft_type": "LORA"}' } : {};
    await assert.rejects(writeCheckpoint(format, join(dir, `out.${format}`), [bad], metadata), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.match(error.message, /16 bytes but 15/);
      return true;
    });
  }
  await assert.rejects(writeCheckpoint('safetensors', join(dir, 'dup.safetensors'), [tensor('a', 'F32', [1], 1), tensor('a', 'F32', [1], 2)], {}), /twice/);
  assert.deepEqual(readdirSync(dir), []);
});

test('writeFileAtomic keeps the old file when a write fails, and removes its temp file', async () => {
  const dir = tempDir();
  const path = join(dir, 'blob.safetensors');
  writeFileSync(path, 'old contents');
  await assert.rejects(
    writeFileAtomic(path, async (file) => {
      await file.write('half a new file');
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.equal(readFileSync(path, 'utf8'), 'old contents');
  assert.deepEqual(readdirSync(dir), ['blob.safetensors']);
  await writeFileAtomic(path, async (file) => {
    await file.write('new');
  });
  assert.equal(readFileSync(path, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['blob.safetensors']);
});

test('a closed checkpoint refuses further reads', async () => {
  const dir = tempDir();
  const path = join(dir, 'c.safetensors');
  await writeCheckpoint('safetensors', path, [tensor('w', 'F32', [2], 1)], {});
  const opened = await openCheckpoint(path);
  await opened.close();
  await assert.rejects(opened.tensors[0]!.read(), /closed/);
});

test('a safetensors file cut short after writing is refused as truncated', async () => {
  const dir = tempDir();
  const path = join(dir, 'cut.safetensors');
  await writeCheckpoint('safetensors', path, [tensor('w', 'F32', [64], 1)], {});
  const handle = await open(path, 'r+');
  await handle.truncate((await handle.stat()).size - 4);
  await handle.close();
  await assert.rejects(openCheckpoint(path), (error: unknown) => error instanceof EngineError && /truncated/.test(error.message) && error.message.includes('cut.safetensors'));
  assert.ok(existsSync(path));
});

test('writing into a folder that does not exist fails with an error naming the path', async () => {
  const path = join(tempDir(), 'no', 'such', 'folder', 'model.safetensors');
  await assert.rejects(
    writeCheckpoint('safetensors', path, [tensor('w', 'F32', [2], 1)], {}),
    (error: unknown) => error instanceof EngineError && error.code === 'checkpoint_unwritable' && error.message.includes(path) && /does not exist/.test(error.message),
  );
});
