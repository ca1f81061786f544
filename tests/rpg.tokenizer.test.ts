import { test } from 'node:test';
import assert from 'node:assert/strict';
import { read as readSafetensors } from '../engine/formats/safetensors.js';
import type { TensorSignature } from '../engine/protocol.js';
import { toFloat32Array, type TensorData } from '../engine/tensors.js';
import type { OpenedCheckpoint } from '../engine/formats/types.js';
import { Rng } from '../engine/rpg/random.js';
import {
  Detokenizer,
  TokenizerError,
  ZooStatsAccumulator,
  buildLayout,
  computeZooStats,
  detokenize,
  tokenizerInput,
  tokenMask,
  tokenPositions,
  tokenize,
  type TokenLayout,
} from '../engine/rpg/tokenizer.js';

import { FIXTURES } from './helpers/fixtures.js';

/** Every tensor of an opened checkpoint, read: what the tokenizer takes. */
const tensorsOf = (checkpoint: OpenedCheckpoint): Promise<TensorData[]> => Promise.all(checkpoint.tensors.map(async (e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, data: await e.read() })));

/** A zoo made of a real checkpoint and `count − 1` copies with every generated tensor perturbed. */
function perturbedZoo(first: Map<string, Float32Array>, count: number, seed: number): Array<Map<string, Float32Array>> {
  const rng = new Rng(seed);
  const zoo = [first];
  for (let c = 1; c < count; c++) {
    const copy = new Map<string, Float32Array>();
    for (const [name, values] of first) {
      const scale = name.endsWith('running_var') ? 0.05 : 0.02;
      copy.set(
        name,
        values.map((v) => (name.endsWith('running_var') ? Math.abs(v + scale * rng.normal()) : v + scale * rng.normal())),
      );
    }
    zoo.push(copy);
  }
  return zoo;
}

async function openZoo(path: string, tokenSize: number) {
  const checkpoint = await readSafetensors(path);
  try {
    const signature: TensorSignature[] = checkpoint.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
    const { generated, skipped } = await tokenizerInput(signature, await tensorsOf(checkpoint), path);
    const zoo = perturbedZoo(generated, 4, 7);
    const stats = await computeZooStats(signature, zoo);
    const layout = buildLayout(signature, stats, tokenSize);
    return { checkpoint, signature, layout, zoo, skipped };
  } finally {
    await checkpoint.close();
  }
}

test('a real timm checkpoint: integer tensors are copied, the rest is tokenized in signature order', async () => {
  const { signature, layout, zoo, skipped } = await openZoo(`${FIXTURES}/timm_hub_tiny_cnn/model.safetensors`, 16);
  const skippedNames = layout.tensors.filter((t) => !t.generated).map((t) => t.name);
  assert.deepEqual(skippedNames, ['bn1.num_batches_tracked', 'bn2.num_batches_tracked']);
  assert.deepEqual(
    layout.tensors.map((t) => t.name),
    signature.map((s) => s.name),
  );
  // conv2.weight: 16·8·3·3 = 1152 values → 72 tokens of 16; fc.weight 160 → 10; bn1.* 8 → 1 each
  assert.equal(layout.tensors.find((t) => t.name === 'conv2.weight')!.tokenCount, 72);
  assert.equal(layout.tensors.find((t) => t.name === 'bn1.bias')!.tokenCount, 1);
  assert.equal(
    layout.tokenCount,
    layout.tensors.reduce((n, t) => n + t.tokenCount, 0),
  );
  assert.deepEqual(
    layout.tensors.filter((t) => t.transform === 'logvar').map((t) => t.name),
    ['bn1.running_var', 'bn2.running_var'],
  );

  const { tokens } = tokenize(layout, zoo[1]!);
  const back = detokenize(layout, tokens, skipped);
  let exact = 0;
  let total = 0;
  assert.deepEqual(
    back.map((t) => [t.name, t.dtype, t.shape]),
    signature.map((s) => [s.name, s.dtype, s.shape]),
  );
  for (const t of back) {
    const entry = layout.tensors.find((e) => e.name === t.name)!;
    if (!entry.generated) {
      assert.deepEqual(t.data, skipped.get(t.name)!.data, `${t.name} copied byte for byte`);
      continue;
    }
    const original = zoo[1]!.get(t.name)!;
    const restored = toFloat32Array(t.dtype, t.data);
    for (let i = 0; i < original.length; i++) {
      const x = original[i]!;
      if (entry.transform === 'logvar') {
        // log/exp round trip: relative error a few float32 ulps of (x + 0.05·p)
        assert.ok(Math.abs(restored[i]! - x) <= 4 * 2 ** -24 * (x + 0.05 * entry.p!), `${t.name}[${i}]: ${restored[i]} vs ${x}`);
        continue;
      }
      const d = Math.abs(x - entry.mean);
      // The documented bound, and bit-identical whenever the value is not close to the mean for its size.
      assert.ok(Math.abs(restored[i]! - x) <= 2 ** -24 * (d + Math.abs(x)) * 1.000001, `${t.name}[${i}]: ${restored[i]} vs ${x}`);
      if (d < Math.abs(x) / 2) assert.equal(restored[i], x, `${t.name}[${i}] bit-identical`);
      total++;
      if (restored[i] === x) exact++;
    }
  }
  console.log(`F32 round trip: ${exact} of ${total} values bit-identical`);
  assert.ok(exact >= 0.8 * total, `${exact} of ${total} values bit-identical`);
});

test('float32 round trip: within 2^-24·(|x − mean| + |x|) always, bit-identical when |x − mean| < |x|/2', () => {
  const rng = new Rng(11);
  const n = 20000;
  for (const [mean, std] of [
    [0.013, 0.05],
    [-3.7, 0.002],
    [1.0, 0.3],
    [250, 1e3],
  ] as const) {
    const x = Float32Array.from({ length: n }, () => mean + std * 4 * rng.normal());
    const signature: TensorSignature[] = [{ name: 'w', dtype: 'F32', shape: [n] }];
    const layout = buildLayout(signature, { checkpoints: 1, tensors: { w: { mean, std } } }, 64);
    const back = toFloat32Array('F32', detokenize(layout, tokenize(layout, new Map([['w', x]])).tokens, new Map())[0]!.data);
    for (let i = 0; i < n; i++) {
      const d = Math.abs(x[i]! - mean);
      assert.ok(Math.abs(back[i]! - x[i]!) <= 2 ** -24 * (d + Math.abs(x[i]!)) * 1.000001, `mean ${mean}: ${back[i]} vs ${x[i]}`);
      if (d < Math.abs(x[i]!) / 2) assert.equal(back[i], x[i], `mean ${mean}: ${back[i]} vs ${x[i]}`);
    }
  }
});

test('a bfloat16 checkpoint comes back in bfloat16, identical but for values far below their tensor mean', async () => {
  const { signature, layout, zoo, skipped } = await openZoo(`${FIXTURES}/tiny_cnn_bf16.safetensors`, 32);
  const checkpoint = await readSafetensors(`${FIXTURES}/tiny_cnn_bf16.safetensors`);
  try {
    const back = detokenize(layout, tokenize(layout, zoo[0]!).tokens, skipped);
    assert.deepEqual(
      back.map((t) => t.dtype),
      signature.map((s) => s.dtype),
    );
    let exact = 0;
    let total = 0;
    for (const t of back) {
      const entry = layout.tensors.find((e) => e.name === t.name)!;
      const original = await checkpoint.tensors.find((e) => e.name === t.name)!.read();
      if (!entry.generated || entry.transform === 'logvar') {
        if (!entry.generated) assert.deepEqual(t.data, original, `${t.name} copied`);
        continue;
      }
      const x = toFloat32Array('BF16', original);
      const y = toFloat32Array('BF16', t.data);
      for (let i = 0; i < x.length; i++) {
        total++;
        const d = Math.abs(x[i]! - entry.mean);
        // float32 tokens carry 24 bits, bfloat16 8: identical unless |x| is 2^13 times closer to 0 than to the mean
        // (zeros of a tensor whose zoo mean is not 0 come back as a value within 2^-24·|mean| of 0).
        if (d < 2 ** 13 * Math.abs(x[i]!)) {
          assert.equal(y[i], x[i], `${t.name}[${i}]`);
          exact++;
        } else {
          assert.ok(Math.abs(y[i]! - x[i]!) <= 2 ** -24 * d * 1.000001, `${t.name}[${i}]: ${y[i]} vs ${x[i]}`);
        }
      }
    }
    assert.ok(exact > 0.9 * total, `${exact} of ${total} bit-identical`);
  } finally {
    await checkpoint.close();
  }
});

test('normalisation uses one scalar mean and std per tensor, averaged over the checkpoints', async () => {
  const signature: TensorSignature[] = [{ name: 'w', dtype: 'F32', shape: [4] }];
  const stats = await computeZooStats(signature, [new Map([['w', Float32Array.of(1, 2, 3, 4)]]), new Map([['w', Float32Array.of(0, 0, 10, 10)]])]);
  // per checkpoint: mean 2.5 / 5, population std √1.25 / 5
  assert.equal(stats.tensors.w!.mean, 3.75);
  assert.ok(Math.abs(stats.tensors.w!.std - (Math.sqrt(1.25) + 5) / 2) < 1e-12);
  const layout = buildLayout(signature, stats, 4);
  const { tokens } = tokenize(layout, new Map([['w', Float32Array.of(3.75, 3.75 + stats.tensors.w!.std, 0, 0)]]));
  assert.equal(tokens[0], 0);
  assert.ok(Math.abs(tokens[1]! - 1) < 1e-6);
});

test('BN running_var goes through log(var/p + 0.05) and back through max(exp(x) − 0.05, 0.001)·p', async () => {
  const signature: TensorSignature[] = [{ name: 'bn.running_var', dtype: 'F32', shape: [5] }];
  const vars = [Float32Array.of(0, 0.5, 1, 2, 40), Float32Array.of(1e-6, 0.6, 1.1, 2.2, 30)];
  const stats = await computeZooStats(
    signature,
    vars.map((v) => new Map([['bn.running_var', v]])),
  );
  const meanVar = (vars[0]!.reduce((a, b) => a + b, 0) / 5 + vars[1]!.reduce((a, b) => a + b, 0) / 5) / 2;
  const p = stats.tensors['bn.running_var']!.p!;
  assert.ok(Math.abs(p - 0.95 * meanVar) < 1e-9);
  const layout = buildLayout(signature, stats, 8);
  assert.equal(layout.tensors[0]!.transform, 'logvar');
  const { tokens } = tokenize(layout, new Map([['bn.running_var', vars[0]!]]));
  const { mean, std } = stats.tensors['bn.running_var']!;
  assert.ok(Math.abs(tokens[2]! - (Math.log(1 / p + 0.05) - mean) / std) < 1e-6);
  const back = toFloat32Array('F32', detokenize(layout, tokens, new Map())[0]!.data);
  // 0 is below the floor: it comes back as 0.001·p; the others within float32 precision.
  assert.ok(Math.abs(back[0]! - 0.001 * p) < 1e-6 * p);
  for (let i = 1; i < 5; i++) assert.ok(Math.abs(back[i]! - vars[0]![i]!) <= 4 * 2 ** -24 * (vars[0]![i]! + 0.05 * p), `var[${i}] ${back[i]}`);
});

test("a single-output head's bias (one element) is generated, normalised by its spread across checkpoints", async () => {
  // The binary heads' output bias sets each task's decision threshold: copied from the first
  // checkpoint, every generated head had that task's threshold (held-out tasks answered one class).
  const signature: TensorSignature[] = [
    { name: 'head.weight', dtype: 'F32', shape: [1, 4] },
    { name: 'head.bias', dtype: 'F32', shape: [1] },
  ];
  const biases = [0.12, -0.4, 0.9, 0.3];
  const zoo = biases.map(
    (b, i) =>
      new Map([
        ['head.weight', Float32Array.of(i, 1, 2, 3)],
        ['head.bias', Float32Array.of(b)],
      ]),
  );
  const stats = await computeZooStats(signature, zoo);
  const mean = biases.reduce((a, b) => a + b, 0) / 4;
  const spread = Math.sqrt(biases.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
  assert.ok(Math.abs(stats.tensors['head.bias']!.mean - mean) < 1e-7);
  assert.ok(Math.abs(stats.tensors['head.bias']!.std - spread) < 1e-7, `std ${stats.tensors['head.bias']!.std} vs ${spread}`);
  const layout = buildLayout(signature, stats, 4);
  assert.deepEqual(
    layout.tensors.map((t) => [t.name, t.generated, t.tokenCount]),
    [
      ['head.weight', true, 1],
      ['head.bias', true, 1],
    ],
  );
  const { tokens } = tokenize(layout, zoo[2]!);
  assert.ok(Math.abs(tokens[4]! - (0.9 - mean) / spread) < 1e-6);
  const back = detokenize(layout, tokens, new Map());
  assert.ok(Math.abs(toFloat32Array('F32', back[1]!.data)[0]! - 0.9) < 1e-6);
  // A zoo where it never varies normalises by 1, like any constant tensor.
  const constant = await computeZooStats(signature, [zoo[0]!, zoo[0]!]);
  assert.equal(constant.tensors['head.bias']!.std, 1);
});

// Statistics without a one-element tensor (here 'scale') are those of a generator from before such
// tensors were generated: its layout still copies them, so its runs generate as they did.
test('the last token of a tensor is padded and masked; the next tensor starts on a fresh token', () => {
  const signature: TensorSignature[] = [
    { name: 'a.weight', dtype: 'F32', shape: [2, 5] },
    { name: 'a.num_batches_tracked', dtype: 'I64', shape: [] },
    { name: 'scale', dtype: 'F32', shape: [1] },
    { name: 'b.bias', dtype: 'F16', shape: [3] },
  ];
  const stats = { checkpoints: 1, tensors: { 'a.weight': { mean: 0, std: 1 }, 'b.bias': { mean: 0, std: 1 } } };
  const layout = buildLayout(signature, stats, 4);
  assert.deepEqual(
    layout.tensors.map((t) => [t.name, t.generated, t.firstToken, t.tokenCount]),
    [
      ['a.weight', true, 0, 3],
      ['a.num_batches_tracked', false, 3, 0],
      ['scale', false, 3, 0],
      ['b.bias', true, 3, 1],
    ],
  );
  const a = Float32Array.from({ length: 10 }, (_, i) => i + 1);
  const { tokens, mask } = tokenize(
    layout,
    new Map([
      ['a.weight', a],
      ['b.bias', Float32Array.of(7, 8, 9)],
    ]),
  );
  assert.deepEqual([...tokens], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 7, 8, 9, 0]);
  assert.deepEqual([...mask], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0]);
  assert.deepEqual(tokenMask(layout), mask);
  const positions = tokenPositions(layout);
  assert.deepEqual([...positions.tensorIndexOfToken], [0, 0, 0, 1]);
  assert.deepEqual([...positions.indexInTensorOfToken], [0, 1, 2, 0]);

  // Garbage in the padding never reaches the weights.
  tokens[10] = 99;
  tokens[15] = -99;
  const skipped = new Map<string, TensorData>([
    ['a.num_batches_tracked', { name: 'a.num_batches_tracked', dtype: 'I64', shape: [], data: new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]) }],
    ['scale', { name: 'scale', dtype: 'F32', shape: [1], data: new Uint8Array(Float32Array.of(0.5).buffer) }],
  ]);
  const back = detokenize(layout, tokens, skipped);
  assert.deepEqual(
    back.map((t) => t.name),
    signature.map((s) => s.name),
  );
  assert.deepEqual([...toFloat32Array('F32', back[0]!.data)], [...a]);
  assert.deepEqual(back[1]!.data, skipped.get('a.num_batches_tracked')!.data);
  assert.deepEqual([...toFloat32Array('F16', back[3]!.data)], [7, 8, 9]);
  assert.equal(back[3]!.data.length, 6);
});

test('streaming: token chunks of any whole-token size reassemble to the same tensors', async () => {
  const { layout, zoo, skipped } = await openZoo(`${FIXTURES}/timm_hub_tiny_cnn/model.safetensors`, 16);
  const { tokens } = tokenize(layout, zoo[2]!);
  const whole = detokenize(layout, tokens, skipped);
  const stream = new Detokenizer(layout, skipped);
  const pieces: TensorData[] = [];
  const sizes = [1, 3, 70, 2, 5];
  let at = 0;
  for (let k = 0; at < layout.tokenCount; k++) {
    const n = Math.min(sizes[k % sizes.length]!, layout.tokenCount - at);
    pieces.push(...stream.push(tokens.subarray(at * 16, (at + n) * 16)));
    at += n;
  }
  pieces.push(...stream.finish());
  assert.deepEqual(pieces, whole);
  assert.throws(() => new Detokenizer(layout, skipped).finish(), TokenizerError);
  assert.throws(() => new Detokenizer(layout, skipped).push(new Float32Array(15)), TokenizerError);

  // Statistics streamed from an async source equal those taken all at once.
  async function* source() {
    for (const c of zoo) yield c;
  }
  const signature = layout.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
  assert.deepEqual(await computeZooStats(signature, source()), await computeZooStats(signature, zoo));
});

test('bad input is refused with a TokenizerError and changes nothing', () => {
  const signature: TensorSignature[] = [{ name: 'w', dtype: 'F32', shape: [3] }];
  const acc = new ZooStatsAccumulator(signature);
  acc.add(new Map([['w', Float32Array.of(1, 2, 3)]]));
  assert.throws(() => acc.add(new Map([['w', Float32Array.of(1, Number.NaN, 3)]])), /non-finite/);
  assert.throws(() => acc.add(new Map([['w', Float32Array.of(1, 2)]])), /2 values, the signature says 3/);
  assert.throws(() => acc.add(new Map()), /has no tensor 'w'/);
  const stats = acc.result();
  assert.equal(stats.checkpoints, 1);
  assert.throws(() => new ZooStatsAccumulator(signature).result(), TokenizerError);
  assert.throws(() => buildLayout(signature, stats, 0), /token size/);
  assert.throws(() => buildLayout(signature, { checkpoints: 1, tensors: {} }, 4), /no usable mean\/std for tensor 'w'/);
  assert.throws(() => buildLayout([{ name: 'huge', dtype: 'F32', shape: [2 ** 20, 2 ** 12] }], { checkpoints: 1, tensors: { huge: { mean: 0, std: 1 } } }, 256), /exceed/);
  const layout: TokenLayout = buildLayout(signature, stats, 2);
  assert.throws(() => tokenize(layout, new Map([['w', Float32Array.of(1, Infinity, 3)]])), /'w' value Infinity at index 1 cannot be normalised/);
  const bn = [{ name: 'bn.running_var', dtype: 'F32' as const, shape: [2] }];
  const bnLayout = buildLayout(bn, { checkpoints: 1, tensors: { 'bn.running_var': { mean: 0, std: 1, p: 1 } } }, 2);
  assert.throws(() => tokenize(bnLayout, new Map([['bn.running_var', Float32Array.of(1, -3)]])), /must not be negative/);
  assert.throws(() => detokenize(layout, new Float32Array(3), new Map()), /needs 2 tokens of 2/);
  assert.throws(() => detokenize(buildLayout([...signature, { name: 'n', dtype: 'I64', shape: [] }], stats, 2), new Float32Array(4), new Map()), /'n' is not generated and was not given/);
});

test('a checkpoint that does not match the zoo signature is refused by name', async () => {
  const checkpoint = await readSafetensors(`${FIXTURES}/timm_hub_tiny_cnn/model.safetensors`);
  try {
    const signature: TensorSignature[] = checkpoint.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
    const wrongShape = signature.map((s) => (s.name === 'fc.weight' ? { ...s, shape: [16, 10] } : s));
    const tensors = await tensorsOf(checkpoint);
    await assert.rejects(tokenizerInput(wrongShape, tensors), /tensor 'fc\.weight' is F32\[10, 16\], the zoo signature says F32\[16, 10\]/);
    await assert.rejects(tokenizerInput([...signature, { name: 'head.weight', dtype: 'F32', shape: [2, 2] }], tensors), /has no tensor 'head\.weight'/);
  } finally {
    await checkpoint.close();
  }
});
