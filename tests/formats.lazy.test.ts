// Big checkpoints are read lazily: opening reads the header only, each tensor is read on demand by position.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint, summarizeCheckpoint, writeCheckpoint } from '../engine/formats/index.js';
import { readStats } from '../engine/formats/random-access.js';
import type { TensorData } from '../engine/formats/types.js';
import { tempDir } from './helpers/tmp.js';

const BIG_TENSORS = 12;
const BIG_SHAPE = [1024, 1024]; // 4 MiB of F32 each: a ~50 MB file

function bigCheckpoint(): TensorData[] {
  const values = new Float32Array(BIG_SHAPE[0]! * BIG_SHAPE[1]!);
  for (let i = 0; i < values.length; i++) values[i] = (i % 1000) / 1000;
  const data = new Uint8Array(values.buffer);
  const tensors: TensorData[] = [];
  for (let i = 0; i < BIG_TENSORS; i++) tensors.push({ name: `block${i}.weight`, dtype: 'F32', shape: BIG_SHAPE, data });
  tensors.push({ name: 'head.bias', dtype: 'F32', shape: [4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) });
  return tensors;
}

for (const format of ['safetensors', 'pth'] as const) {
  test(`a ~50 MB ${format} opens by its header and reads one small tensor without touching the rest`, async () => {
    const path = join(tempDir(), `big.${format}`);
    await writeCheckpoint(format, path, bigCheckpoint(), {});
    const fileSize = statSync(path).size;
    assert.ok(fileSize > 50_000_000, `file is ${fileSize} bytes`);

    const before = readStats.bytesRead;
    const opened = await openCheckpoint(path);
    try {
      const afterOpen = readStats.bytesRead - before;
      assert.ok(afterOpen < 128 * 1024, `open read ${afterOpen} bytes`);
      const head = opened.tensors.find((t) => t.name === 'head.bias')!;
      assert.deepEqual([...new Float32Array((await head.read()).buffer)], [1, 2, 3, 4]);
      const afterSmallRead = readStats.bytesRead - before;
      assert.ok(afterSmallRead < 128 * 1024 + 16, `open + one small tensor read ${afterSmallRead} bytes`);

      const summary = await summarizeCheckpoint(opened);
      const perTensor = Array.from({ length: BIG_SHAPE[0]! * BIG_SHAPE[1]! }, (_, i) => Math.fround((i % 1000) / 1000)).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(summary.tensors['block11.weight']!.sum - perTensor) < 1e-6 * perTensor);
      const total = readStats.bytesRead - before;
      // the header (and a zip's directory) plus every tensor once; head.bias was read twice
      assert.ok(total <= fileSize + 128 * 1024, `everything read about once: ${total} of ${fileSize} bytes`);
      assert.ok(total >= BIG_TENSORS * 4 * 1024 * 1024);
    } finally {
      await opened.close();
    }
  });
}
