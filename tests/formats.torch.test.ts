// Interoperability with real PyTorch 1.13 (/usr/bin/python3): what ParamZoo writes, torch.load(weights_only=True)
// loads with equal values; what torch.save writes (every dtype, views, parameters, legacy format,
// training checkpoints with numpy scalars), ParamZoo reads with identical bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EngineError } from '../engine/errors.js';
import { DTYPES, fromFloat32Array, toFloat64Array } from '../engine/tensors.js';
import { TORCH_DTYPE_TO_DTYPE } from '../engine/formats/dtypes.js';
import { openCheckpoint, writeCheckpoint } from '../engine/formats/index.js';
import { write as writePth } from '../engine/formats/torch.js';
import type { TensorData } from '../engine/formats/types.js';
import { tempDir } from './helpers/tmp.js';
import { runTorch, skipWithoutTorch } from './helpers/torch.js';

interface TorchTensorReport {
  dtype: string;
  shape: number[];
  hex: string;
  sum: number;
}
interface TorchFileReport {
  type: string;
  keys: string[];
  metadata: Record<string, string> | null;
  tensors: Record<string, TorchTensorReport>;
}

const REPORT_TENSOR = `
def report(t):
    flat = t.detach().contiguous().reshape(-1)
    raw = flat.to(torch.uint8) if flat.dtype == torch.bool else flat.view(torch.uint8)
    return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'hex': raw.numpy().tobytes().hex(), 'sum': float(t.double().sum())}
`;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** finite values of every dtype (so sums can be compared too), including 0-d and empty tensors */
function finiteTensors(): TensorData[] {
  const tensors: TensorData[] = [];
  DTYPES.forEach((dtype, i) => {
    const values = Array.from({ length: 12 }, (_, j) =>
      dtype === 'BOOL' ? (j % 3 === 0 ? 1 : 0) : dtype === 'U8' ? (j * 37 + i) % 256 : Math.round(Math.sin(j + i) * 100) / (dtype.startsWith('I') ? 1 : 8),
    );
    tensors.push({ name: `${dtype}.w`, dtype, shape: [3, 4], data: fromFloat32Array(dtype, values) });
    tensors.push({ name: `${dtype}.scalar`, dtype, shape: [], data: fromFloat32Array(dtype, [dtype === 'BOOL' ? 1 : 3]) });
    tensors.push({ name: `${dtype}.empty`, dtype, shape: [0, 2], data: new Uint8Array(0) });
  });
  return tensors;
}

test('a .pth written by ParamZoo loads in torch.load(weights_only=True) with identical bytes, sums and metadata', { skip: skipWithoutTorch() }, async () => {
  const dir = tempDir();
  const tensors = finiteTensors();
  const metadata = { source: 'paramzoo', epoch: '3' };
  const plain = join(dir, 'plain.pth');
  const zip64 = join(dir, 'zip64.pth');
  await writeCheckpoint('pth', plain, tensors, metadata);
  await writePth(zip64, tensors, metadata, { forceZip64: true });
  const reports = runTorch<Record<string, TorchFileReport>>(
    `
import json, sys, torch
${REPORT_TENSOR}
out = {}
for path in json.load(sys.stdin):
    sd = torch.load(path, weights_only=True)
    out[path] = {'type': type(sd).__name__, 'keys': list(sd.keys()), 'metadata': getattr(sd, '_paramzoo_metadata', None),
                 'tensors': {k: report(t) for k, t in sd.items()}}
print(json.dumps(out))
`,
    [plain, zip64],
  );
  for (const path of [plain, zip64]) {
    const report = reports[path]!;
    assert.equal(report.type, 'OrderedDict');
    assert.deepEqual(
      report.keys,
      tensors.map((t) => t.name),
    );
    assert.deepEqual(report.metadata, metadata);
    for (const t of tensors) {
      const got = report.tensors[t.name]!;
      assert.equal(TORCH_DTYPE_TO_DTYPE[got.dtype], t.dtype, t.name);
      assert.deepEqual(got.shape, t.shape, t.name);
      assert.equal(got.hex, hex(t.data), `${t.name} bytes`);
      assert.equal(
        got.sum,
        toFloat64Array(t.dtype, t.data).reduce((a, b) => a + b, 0),
        `${t.name} sum`,
      );
    }
  }
});

test('a .safetensors written by ParamZoo parses with a plain Python reader of the spec', { skip: skipWithoutTorch() }, async () => {
  const dir = tempDir();
  const tensors = finiteTensors();
  const path = join(dir, 'model.safetensors');
  await writeCheckpoint('safetensors', path, tensors, { kind: 'test' });
  const report = runTorch<{ metadata: Record<string, string>; tensors: Record<string, TorchTensorReport> }>(
    `
import json, struct, sys, torch
${REPORT_TENSOR}
DT = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
      'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
data = open(json.load(sys.stdin), 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
assert n % 8 == 0
header = json.loads(data[8:8 + n])
body = data[8 + n:]
out = {'metadata': header.pop('__metadata__', {}), 'tensors': {}}
for name, info in header.items():
    b, e = info['data_offsets']
    chunk = bytearray(body[b:e])
    t = torch.frombuffer(chunk, dtype=DT[info['dtype']]) if chunk else torch.empty(0, dtype=DT[info['dtype']])
    out['tensors'][name] = report(t.reshape(info['shape']))
print(json.dumps(out))
`,
    path,
  );
  assert.deepEqual(report.metadata, { kind: 'test' });
  for (const t of tensors) {
    const got = report.tensors[t.name]!;
    assert.deepEqual(got.shape, t.shape, t.name);
    assert.equal(got.hex, hex(t.data), t.name);
  }
});

test('files written by torch.save (zip and legacy, every dtype, views, expanded, parameters, training checkpoint) read with identical bytes', { skip: skipWithoutTorch() }, async () => {
  const dir = tempDir();
  const reports = runTorch<Record<string, { layout: string; metadata: Record<string, string>; tensors: Record<string, TorchTensorReport> }>>(
    `
import json, sys, os, torch, numpy as np
from collections import OrderedDict
${REPORT_TENSOR}
folder = json.load(sys.stdin)
torch.manual_seed(0)
sd = OrderedDict()
for name, dt in [('f64', torch.float64), ('f32', torch.float32), ('f16', torch.float16), ('bf16', torch.bfloat16),
                 ('i64', torch.int64), ('i32', torch.int32), ('i16', torch.int16), ('i8', torch.int8), ('u8', torch.uint8), ('bool', torch.bool)]:
    t = (torch.randn(3, 4) * 50).to(dt)
    sd[name] = t
    sd[name + '.transposed'] = t.t()
    sd[name + '.element'] = t[1, 2]
base = torch.arange(48, dtype=torch.float32).reshape(6, 8)
sd['stepped_slice'] = base[1:5:2, 2:7:3]
sd['expanded'] = torch.randn(3, 1).expand(3, 4)
sd['permuted'] = torch.randn(2, 3, 4).permute(2, 0, 1)
sd['param'] = torch.nn.Parameter(torch.randn(2, 3))
sd['empty'] = torch.zeros(0, 5)
out = {}
for kind, zipped in [('zip', True), ('legacy', False)]:
    path = os.path.join(folder, kind + '.pth')
    torch.save(sd, path, _use_new_zipfile_serialization=zipped)
    out[path] = {'layout': 'state_dict', 'metadata': {}, 'tensors': {k: report(t) for k, t in sd.items()}}
model = OrderedDict((k, sd[k]) for k in ['f32', 'f32.transposed', 'param'])
ckpt = {'epoch': np.int64(4), 'metric': np.float64(71.5), 'arch': 'x',
        'model': OrderedDict(('_orig_mod.module.' + k, v) for k, v in model.items()),
        'optimizer': {'state': {}, 'param_groups': [{'lr': 0.1, 'params': [0, 1, 2]}]}}
path = os.path.join(folder, 'train.pth.tar')
torch.save(ckpt, path)
out[path] = {'layout': 'timm_training_checkpoint', 'metadata': {'epoch': '4', 'metric': '71.5', 'arch': 'x', 'ignored': 'optimizer'},
             'tensors': {k: report(t) for k, t in model.items()}}
print(json.dumps(out))
`,
    dir,
  );
  assert.equal(Object.keys(reports).length, 3);
  for (const [path, want] of Object.entries(reports)) {
    const opened = await openCheckpoint(path);
    try {
      assert.equal(opened.layout, want.layout, path);
      assert.deepEqual(opened.metadata, want.metadata, path);
      assert.deepEqual(
        opened.tensors.map((t) => t.name),
        Object.keys(want.tensors),
        `${path}: names in order`,
      );
      for (const tensor of opened.tensors) {
        const expected = want.tensors[tensor.name]!;
        assert.equal(tensor.dtype, TORCH_DTYPE_TO_DTYPE[expected.dtype], `${path} ${tensor.name}`);
        assert.deepEqual(tensor.shape, expected.shape, `${path} ${tensor.name}`);
        assert.equal(hex(await tensor.read()), expected.hex, `${path} ${tensor.name} bytes`);
      }
    } finally {
      await opened.close();
    }
  }
});

test('an expanded view far larger than its storage is refused instead of allocated', { skip: skipWithoutTorch() }, async () => {
  const path = join(tempDir(), 'expanded.pth');
  runTorch(
    `
import json, sys, torch
torch.save({'huge': torch.zeros(1).expand(2**20, 2**20)}, json.load(sys.stdin))
print('null')
`,
    path,
  );
  await assert.rejects(
    openCheckpoint(path),
    (error: unknown) => error instanceof EngineError && error.name === 'TorchFormatError' && error.message.includes('expanded.pth') && /view of a 4-byte storage/.test(error.message),
  );
});
