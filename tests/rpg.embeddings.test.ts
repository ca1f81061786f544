import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../engine/backend.js';
import { ConditionEmbedding, ConditionError, positionEmbedding } from '../engine/rpg/embeddings.js';
import { buildLayout, tokenPositions } from '../engine/rpg/tokenizer.js';
import type { TensorSignature } from '../engine/protocol.js';

// An MLP 64→64→10 cut in tokens of 256: fc1.weight 16 tokens, fc1.bias 1, fc2.weight 3, fc2.bias 1 = 21 tokens.
const SIGNATURE: TensorSignature[] = [
  { name: 'fc1.weight', dtype: 'F32', shape: [64, 64] },
  { name: 'fc1.bias', dtype: 'F32', shape: [64] },
  { name: 'fc2.weight', dtype: 'F32', shape: [10, 64] },
  { name: 'fc2.bias', dtype: 'F32', shape: [10] },
];
const STATS = { checkpoints: 1, tensors: Object.fromEntries(SIGNATURE.map((s) => [s.name, { mean: 0, std: 1 }])) };
const layout = buildLayout(SIGNATURE, STATS, 256);
const positions = tokenPositions(layout);
const WIDTH = 16;

function embedding(taskBits: number, seed = 1): ConditionEmbedding {
  return new ConditionEmbedding({ width: WIDTH, tokenCount: layout.tokenCount, ...positions, permutationStates: 5, taskBits }, seed);
}

test('2-D sinusoidal positions: first half the index inside the tensor, second half the tensor index, sin/cos interleaved', () => {
  assert.equal(layout.tokenCount, 21);
  const pe = positionEmbedding(WIDTH, positions.tensorIndexOfToken, positions.indexInTensorOfToken);
  const half = WIDTH / 2;
  const row = (i: number) => pe.subarray(i * WIDTH, (i + 1) * WIDTH);
  // token 18: fc2.weight (tensor 2), its token 1
  assert.equal(positions.tensorIndexOfToken[18], 2);
  assert.equal(positions.indexInTensorOfToken[18], 1);
  for (let k = 0; k < half / 2; k++) {
    const frequency = Math.exp((-2 * k * Math.log(10000)) / half);
    assert.ok(Math.abs(row(18)[2 * k]! - Math.sin(1 * frequency)) < 1e-6);
    assert.ok(Math.abs(row(18)[2 * k + 1]! - Math.cos(1 * frequency)) < 1e-6);
    assert.ok(Math.abs(row(18)[half + 2 * k]! - Math.sin(2 * frequency)) < 1e-6);
    assert.ok(Math.abs(row(18)[half + 2 * k + 1]! - Math.cos(2 * frequency)) < 1e-6);
  }
  // token 1 of fc1.weight and token 1 of fc2.weight share the first half, not the second
  assert.deepEqual(row(1).subarray(0, half), row(18).subarray(0, half));
  assert.notDeepEqual(row(1).subarray(half), row(18).subarray(half));
  // every token is distinct
  const keys = new Set(Array.from({ length: 21 }, (_, i) => row(i).join(',')));
  assert.equal(keys.size, 21);
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`${backend}: input = position + permutation row, + task MLP on every token; all learned parts get gradients`, async () => {
    await initBackend(backend);
    const e = embedding(3);
    const pe = positionEmbedding(WIDTH, positions.tensorIndexOfToken, positions.indexInTensorOfToken);
    const table = e.permutationTable.arraySync() as number[][];
    const permState = tf.tensor1d([4, 0], 'int32');
    const noTask = new ConditionEmbedding({ width: WIDTH, tokenCount: 21, ...positions, permutationStates: 5, taskBits: 0 }, 1);
    const plain = tf.tidy(() => noTask.forward(permState, null).arraySync());
    for (const [b, state] of [
      [0, 4],
      [1, 0],
    ] as const) {
      for (let i = 0; i < 21; i++) {
        for (let d = 0; d < WIDTH; d++) {
          assert.ok(Math.abs(plain[b]![i]![d]! - (pe[i * WIDTH + d]! + (noTask.permutationTable.arraySync() as number[][])[state]![d]!)) < 1e-6);
        }
      }
    }
    // The task reaches every token with the same vector.
    const taskA = tf.tensor2d([
      [1, 0, 1],
      [0, 0, 1],
    ]);
    const taskB = tf.tensor2d([
      [0, 1, 1],
      [0, 0, 1],
    ]);
    const [outA, outB] = [taskA, taskB].map((t) => tf.tidy(() => e.forward(permState, t).arraySync()));
    const shift0 = outA![0]![0]!.map((v, d) => v - outB![0]![0]![d]!);
    assert.ok(
      shift0.some((v) => Math.abs(v) > 1e-4),
      'the task vector changes the input',
    );
    for (let i = 0; i < 21; i++) {
      outA![0]![i]!.forEach((v, d) => {
        assert.ok(Math.abs(v - outB![0]![i]![d]! - shift0[d]!) < 1e-5);
      });
      outA![1]![i]!.forEach((v, d) => {
        assert.equal(v, outB![1]![i]![d]!);
      });
    }
    assert.equal(table.length, 5);

    const { grads } = tf.variableGrads(() => tf.sum(tf.square(e.forward(permState, taskA))) as tf.Scalar, e.variables);
    for (const v of e.variables) {
      const g = grads[v.name]!.dataSync();
      assert.ok(g.every(Number.isFinite) && g.some((x) => x !== 0), `${v.name} gradient`);
    }
    // Only the rows of the states in the batch learn.
    const tableGrad = grads[e.permutationTable.name]!.arraySync() as number[][];
    assert.ok(tableGrad[2]!.every((x) => x === 0) && tableGrad[4]!.some((x) => x !== 0));
    tf.dispose([permState, taskA, taskB, ...Object.values(grads)]);
    e.dispose();
    noTask.dispose();
  });
}

test('taskTokens = k: the task reaches only the last k tokens (the reference), earlier tokens are the same for every task', async () => {
  await initBackend('cpu');
  const lastThree = new ConditionEmbedding({ width: WIDTH, tokenCount: layout.tokenCount, ...positions, permutationStates: 5, taskBits: 3, taskTokens: 3 }, 1);
  const everyToken = embedding(3);
  const permState = tf.tensor1d([4], 'int32');
  const [taskA, taskB] = [tf.tensor2d([[1, 0, 1]]), tf.tensor2d([[0, 1, 1]])];
  const [a, b] = [taskA, taskB].map((t) => tf.tidy(() => lastThree.forward(permState, t).arraySync()[0]!));
  const everyA = tf.tidy(() => everyToken.forward(permState, taskA).arraySync()[0]!);
  const pe = positionEmbedding(WIDTH, positions.tensorIndexOfToken, positions.indexInTensorOfToken);
  const row = (lastThree.permutationTable.arraySync() as number[][])[4]!;
  for (let i = 0; i < 21; i++) {
    const changed = a![i]!.some((v, d) => Math.abs(v - b![i]![d]!) > 1e-4);
    assert.equal(changed, i >= 18, `token ${i}: the task ${i >= 18 ? 'reaches' : 'does not reach'} it`);
    // Same weights (seed 1): the last tokens get exactly what every-token conditioning adds, the others none of it.
    const expected = i >= 18 ? everyA![i]! : Array.from(row, (r, d) => pe[i * WIDTH + d]! + r);
    assert.ok(
      a![i]!.every((v, d) => Math.abs(v - expected[d]!) < 1e-5),
      `token ${i}`,
    );
  }
  tf.dispose([permState, taskA, taskB]);
  lastThree.dispose();
  everyToken.dispose();
});

test('wrong conditions are refused with a ConditionError', async () => {
  await initBackend('cpu');
  const e = embedding(0);
  assert.throws(() => e.checkPermutationStates([0, 5]), /permutation state 5 does not exist: this generator knows states 0…4/);
  assert.throws(() => e.forward(tf.tensor1d([0], 'int32'), tf.zeros([1, 3])), ConditionError);
  const t = embedding(3, 2);
  assert.throws(() => t.forward(tf.tensor1d([0], 'int32'), null), /give a task vector of 3 bits/);
  assert.throws(() => t.forward(tf.tensor1d([0], 'int32'), tf.zeros([1, 4])), /expected \[1, 3\]/);
  assert.throws(() => new ConditionEmbedding({ width: 10, tokenCount: 21, ...positions, permutationStates: 5, taskBits: 0 }, 0), /multiple of 4/);
  e.dispose();
  t.dispose();
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`${backend}: a zoo of ONE permutation state embeds and learns its single row`, async () => {
    await initBackend(backend);
    const e = new ConditionEmbedding({ width: WIDTH, tokenCount: layout.tokenCount, ...positions, permutationStates: 1, taskBits: 0 }, 4);
    const pe = positionEmbedding(WIDTH, positions.tensorIndexOfToken, positions.indexInTensorOfToken);
    const row = e.permutationTable.dataSync();
    const states = tf.tensor1d([0, 0], 'int32');
    const out = tf.tidy(() => e.forward(states, null).dataSync());
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < layout.tokenCount * WIDTH; i++) assert.ok(Math.abs(out[b * layout.tokenCount * WIDTH + i]! - (pe[i]! + row[i % WIDTH]!)) < 1e-6);
    }
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(e.forward(states, null))) as tf.Scalar, e.variables);
    const g = grads[e.permutationTable.name]!.dataSync();
    assert.ok(g.every(Number.isFinite) && g.some((x) => x !== 0), 'the single row gets a gradient');
    tf.dispose([states, value, ...Object.values(grads)]);
    e.dispose();
  });
}

test('building and disposing a ConditionEmbedding leaves no tensor behind (outside tf.tidy too)', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  for (const taskBits of [0, 3]) {
    const e = new ConditionEmbedding({ width: WIDTH, tokenCount: layout.tokenCount, ...positions, permutationStates: 5, taskBits }, 2);
    assert.equal(tf.memory().numTensors, before + 1 + e.variables.length, 'alive: the position table and the variables only');
    e.dispose();
    assert.equal(tf.memory().numTensors, before);
  }
});
