// float16 / bfloat16 conversions agree bit for bit with PyTorch's (round to nearest even, subnormals, overflow, NaN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, fromFloat32Array, halfToFloat, toFloat32Array } from '../engine/tensors.js';
import { runTorch, skipWithoutTorch } from './helpers/torch.js';

const VALUES = [
  0,
  -0,
  1,
  -1,
  0.1,
  1 / 3,
  65504,
  65520,
  70000,
  -1e6,
  6e-8,
  3e-8,
  2.98e-8,
  1e-10,
  1.00048828125,
  1.0009765625 + 2 ** -11,
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: a value to round, not π
  3.14159265,
  1e38,
  3.4e38,
  -2.5e-39,
  1.1754942e-38,
  Infinity,
  -Infinity,
  NaN,
  2049,
  2051,
  0.00006103515625,
  2 ** -14 - 2 ** -24,
];

test('floatToHalf and floatToBfloat16 match torch .half() and .bfloat16() bit for bit; decoding is exact', { skip: skipWithoutTorch() }, () => {
  const torchBits = runTorch<{ half: number[]; bf16: number[]; f32: number[] }>(
    `
import json, sys, torch
v = torch.tensor([float(x) for x in json.load(sys.stdin)], dtype=torch.float32)
print(json.dumps({'half': v.half().view(torch.int16).tolist(), 'bf16': v.bfloat16().view(torch.int16).tolist(),
                  'f32': [x if x == x and abs(x) != float('inf') else str(x) for x in v.tolist()]}))
`,
    VALUES.map((v) => (Object.is(v, -0) ? '-0.0' : String(v))),
  );
  VALUES.forEach((value, i) => {
    const half = torchBits.half[i]! & 0xffff;
    const bf16 = torchBits.bf16[i]! & 0xffff;
    if (Number.isNaN(value)) {
      assert.ok(Number.isNaN(halfToFloat(floatToHalf(value))) && Number.isNaN(bfloat16ToFloat(floatToBfloat16(value))));
      return;
    }
    assert.equal(floatToHalf(value).toString(16), half.toString(16), `half(${value})`);
    assert.equal(floatToBfloat16(value).toString(16), bf16.toString(16), `bfloat16(${value})`);
    assert.equal(floatToHalf(halfToFloat(half)), half, `half bits ${half.toString(16)} round-trip`);
    assert.equal(floatToBfloat16(bfloat16ToFloat(bf16)), bf16, `bfloat16 bits ${bf16.toString(16)} round-trip`);
  });
});

test('toFloat32Array / fromFloat32Array convert whole tensors of every dtype', () => {
  const values = [0, 1.5, -2, 100, 0.25];
  for (const dtype of ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8'] as const) {
    assert.deepEqual([...toFloat32Array(dtype, fromFloat32Array(dtype, values))], dtype.startsWith('I') ? [0, 2, -2, 100, 0] : values, dtype);
  }
  assert.deepEqual([...toFloat32Array('U8', fromFloat32Array('U8', [0, 255, 7]))], [0, 255, 7]);
  assert.deepEqual([...toFloat32Array('BOOL', fromFloat32Array('BOOL', [0, 3, -1]))], [0, 1, 1]);
  // unaligned input (a view into a bigger buffer) is handled
  const bytes = new Uint8Array(9);
  bytes.set(fromFloat32Array('F32', [1, 2]), 1);
  assert.deepEqual([...toFloat32Array('F32', bytes.subarray(1))], [1, 2]);
});
