// Checkpoints are streamed, never held whole (issue 10, item 2): a tensor bigger than the writers'
// slice (formats/tensor-input.ts WRITE_SLICE_BYTES) is read in slices from its file and written
// slice by slice, into a file or a blob, hashed as it is written. Here the big tensor's whole-tensor
// read() refuses to run, so any writer that falls back to holding it fails the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobStore } from '../engine/blobs.js';
import { CancelledError } from '../engine/errors.js';
import { openCheckpoint, writeCheckpoint, type TensorEntry } from '../engine/formats/index.js';
import { WRITE_SLICE_BYTES } from '../engine/formats/tensor-input.js';
import { storeCheckpoint } from '../engine/pipeline/blob-writer.js';
import { readInJob } from '../engine/pipeline/stored.js';
import type { CheckpointFormat, ExportResult, ImportResult, ZooDetail } from '../engine/protocol.js';
import { createEngineService, runJob } from '../engine/service.js';
import type { TensorData } from '../engine/tensors.js';
import { tempDir } from './helpers/tmp.js';
import { runTorch, skipWithoutTorch } from './helpers/torch.js';

const BIG_ROWS = 2_600; // × 4,096 F32 = 42.6 MB: three slices of at most 16 MiB
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const fileSha = (path: string) => sha256(readFileSync(path));

function floats(count: number, seed: number): Uint8Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.sin(i * 0.001 + seed) * (1 + (i % 7));
  return new Uint8Array(values.buffer);
}

function checkpointTensors(): TensorData[] {
  return [
    { name: 'embed.weight', dtype: 'F32', shape: [BIG_ROWS, 4096], data: floats(BIG_ROWS * 4096, 1) },
    { name: 'embed.bias', dtype: 'F32', shape: [7], data: floats(7, 2) },
    { name: 'steps', dtype: 'I64', shape: [2], data: new Uint8Array(new BigInt64Array([3n, -9n]).buffer) },
  ];
}

/** The entries as a streaming writer must use them: the big one's read() throws; every slice is recorded. */
function slicedOnly(entries: readonly TensorEntry[], slices: number[]): TensorEntry[] {
  return entries.map((entry) => {
    if (entry.byteLength <= WRITE_SLICE_BYTES) return entry;
    assert.ok(entry.readSlices, `${entry.name} can be read in slices`);
    const readSlices = entry.readSlices.bind(entry);
    return {
      ...entry,
      read: () => Promise.reject(new Error(`${entry.name} was read whole`)),
      readSlices: async function* (maxBytes: number) {
        for await (const slice of readSlices(maxBytes)) {
          slices.push(slice.byteLength);
          yield slice;
        }
      },
    };
  });
}

test("a tensor bigger than a slice is written slice by slice, to safetensors and pth, and the sha256 returned is the file's", async () => {
  const dir = tempDir();
  const tensors = checkpointTensors();
  const source = join(dir, 'source.safetensors');
  const written = await writeCheckpoint('safetensors', source, tensors, { epoch: '3' });
  assert.equal(written.sha256, fileSha(source));

  for (const format of ['safetensors', 'pth'] as const satisfies readonly CheckpointFormat[]) {
    const opened = await openCheckpoint(source);
    const slices: number[] = [];
    const out = join(dir, `copy.${format}`);
    try {
      const copy = await writeCheckpoint(format, out, slicedOnly(opened.tensors, slices), opened.metadata);
      assert.equal(copy.sha256, fileSha(out), `${format}: the returned sha256 is the written file's`);
    } finally {
      await opened.close();
    }
    const bigBytes = BIG_ROWS * 4096 * 4;
    // pth reads the big tensor twice (its CRC comes before its bytes), safetensors once
    assert.equal(
      slices.reduce((a, b) => a + b, 0),
      bigBytes * (format === 'pth' ? 2 : 1),
      format,
    );
    assert.ok(Math.max(...slices) <= WRITE_SLICE_BYTES, `${format}: slices of at most ${WRITE_SLICE_BYTES} bytes`);
    if (format === 'safetensors') assert.equal(fileSha(out), written.sha256, 'an unchanged safetensors round trip is byte-identical');

    const back = await openCheckpoint(out);
    try {
      for (const [i, want] of tensors.entries()) assert.equal(sha256(await back.tensors[i]!.read()), sha256(want.data), `${format}: ${want.name}`);
    } finally {
      await back.close();
    }
  }
});

test('PyTorch loads the streamed pth with every byte of the big tensor', { skip: skipWithoutTorch() }, async () => {
  const dir = tempDir();
  const tensors = checkpointTensors();
  const source = join(dir, 'source.safetensors');
  await writeCheckpoint('safetensors', source, tensors, {});
  const opened = await openCheckpoint(source);
  const out = join(dir, 'streamed.pth');
  try {
    await writeCheckpoint('pth', out, slicedOnly(opened.tensors, []), {});
  } finally {
    await opened.close();
  }
  const loaded = runTorch<Record<string, string>>(
    'import json, sys, hashlib, torch\n' +
      'state = torch.load(json.load(sys.stdin), weights_only=True)\n' +
      'print(json.dumps({k: hashlib.sha256(v.numpy().tobytes()).hexdigest() for k, v in state.items()}))',
    out,
  );
  assert.deepEqual(loaded, Object.fromEntries(tensors.map((t) => [t.name, sha256(t.data)])));
});

test('import and export jobs stream a checkpoint: the blob and the exported file are byte-identical to the source', async () => {
  const dir = tempDir();
  const source = join(dir, 'source.safetensors');
  const { sha256: sourceSha } = await writeCheckpoint('safetensors', source, checkpointTensors(), { epoch: '3' });
  const service = createEngineService({ dataDir: join(dir, 'data') });
  try {
    await service.request('zoo.create', { name: 'big' });
    const { imported } = (await runJob(service, 'import', { zoo: 'big', paths: [source] })) as ImportResult;
    const detail = (await service.request('zoo.show', { name: 'big' })) as ZooDetail;
    assert.equal(detail.checkpoints[0]!.sha256, sourceSha, 'the blob is the source, byte for byte');
    const out = join(dir, 'exported.safetensors');
    const exported = (await runJob(service, 'export', { id: imported[0]!.id, out })) as ExportResult;
    assert.equal(exported.sha256, sourceSha);
    assert.equal(fileSha(out), sourceSha);
  } finally {
    await service.close();
  }
});

test('a checkpoint cancelled while it streams into the blob store leaves no blob and no temp file', async () => {
  const dir = tempDir();
  const source = join(dir, 'source.safetensors');
  await writeCheckpoint('safetensors', source, checkpointTensors(), {});
  const blobs = new BlobStore(join(dir, 'blobs'));
  const opened = await openCheckpoint(source);
  let checks = 0;
  // cancelled at the second slice of the big tensor: the draft already holds its header and a slice
  const ctx = {
    throwIfCancelled: () => {
      if (++checks === 3) throw new CancelledError('the import');
    },
  };
  try {
    await assert.rejects(storeCheckpoint(blobs, readInJob(opened.tensors, ctx), opened.metadata), CancelledError);
  } finally {
    await opened.close();
  }
  assert.deepEqual(readdirSync(join(dir, 'blobs')), [], 'nothing left in the blob store');
});
