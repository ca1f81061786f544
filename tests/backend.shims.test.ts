// The wasm shims give the same gradients as the cpu backend (the reference), to 1e-4 relative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.js';
import { setMaxPatchElements } from '../engine/backend/conv-backprop-filter.js';

type Case = { name: string; run: () => Float32Array[] };

function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function randn(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    seeded(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );
}

/** Gradients of sum(f(inputs) · r) for a fixed random r: exercises every element of dy. */
function grads(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const xs = shapes.map((s, i) => randn(s, 17 + i));
    const g = tf.grads((...ys: tf.Tensor[]) => {
      const y = f(...ys);
      return tf.sum(tf.mul(y, randn(y.shape, 99)));
    })(xs);
    return g.map((t) => t.dataSync() as Float32Array);
  });
}

const cases: Case[] = [
  {
    name: 'conv1d k7 same',
    run: () =>
      grads(
        [
          [3, 20, 5],
          [7, 5, 6],
        ],
        (x, w) => tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, 'same'),
      ),
  },
  {
    name: 'conv1d k5 valid',
    run: () =>
      grads(
        [
          [2, 19, 3],
          [5, 3, 4],
        ],
        (x, w) => tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, 'valid'),
      ),
  },
  {
    name: 'conv1d k7 same, weight gradient in several chunks',
    run: () => {
      const previous = setMaxPatchElements(7 * 5 * 9); // 9 positions per chunk: 4 items × 26 positions in 12 chunks
      try {
        return grads(
          [
            [4, 20, 5],
            [7, 5, 3],
          ],
          (x, w) => tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, 'same'),
        );
      } finally {
        setMaxPatchElements(previous);
      }
    },
  },
  {
    name: 'conv1d k3 valid stride 2',
    run: () =>
      grads(
        [
          [2, 17, 4],
          [3, 4, 3],
        ],
        (x, w) => tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 2, 'valid'),
      ),
  },
  {
    name: 'conv2d 3x3 same stride 2',
    run: () =>
      grads(
        [
          [2, 9, 8, 3],
          [3, 3, 3, 4],
        ],
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
      ),
  },
  {
    name: 'conv2d 5x5 valid',
    run: () =>
      grads(
        [
          [2, 12, 12, 1],
          [5, 5, 1, 6],
        ],
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'),
      ),
  },
  {
    name: 'matMul 2-D',
    run: () =>
      grads(
        [
          [5, 7],
          [7, 3],
        ],
        (a, b) => tf.matMul(a!, b!),
      ),
  },
  {
    name: 'matMul 2-D transposeA',
    run: () =>
      grads(
        [
          [7, 5],
          [7, 3],
        ],
        (a, b) => tf.matMul(a!, b!, true, false),
      ),
  },
  {
    name: 'matMul 2-D transposeB',
    run: () =>
      grads(
        [
          [5, 7],
          [3, 7],
        ],
        (a, b) => tf.matMul(a!, b!, false, true),
      ),
  },
  {
    name: 'matMul 2-D both transposed',
    run: () =>
      grads(
        [
          [7, 5],
          [3, 7],
        ],
        (a, b) => tf.matMul(a!, b!, true, true),
      ),
  },
  {
    name: 'matMul batched 3-D',
    run: () =>
      grads(
        [
          [4, 5, 7],
          [4, 7, 3],
        ],
        (a, b) => tf.matMul(a!, b!),
      ),
  },
  {
    name: 'matMul batched 3-D, items large enough for the per-item XNNPACK path',
    run: () =>
      grads(
        [
          [3, 40, 30],
          [3, 30, 20],
        ],
        (a, b) => tf.square(tf.matMul(a!, b!)),
      ),
  },
  { name: 'gather rows', run: () => grads([[10, 4]], (t) => tf.gather(t!, tf.tensor1d([3, 1, 3, 9, 0], 'int32'))) },
  {
    name: 'slice + unstack + split',
    run: () =>
      grads([[4, 6, 8]], (x) => {
        const s = tf.slice(x!, [1, 2, 3], [2, 3, 4]);
        const u = tf.unstack(x!, 1)[2]!;
        const [, p] = tf.split(x!, [3, 5], 2);
        return tf.concat([tf.reshape(s, [-1]), tf.reshape(u, [-1]), tf.reshape(p!, [-1])]);
      }),
  },
];

function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

test('wasm gradients equal the cpu backend to 1e-4 relative', async () => {
  await tf.setBackend('cpu');
  const reference = cases.map((c) => c.run()); // stock gradients, before any shim is registered
  // The stock gradient is wrongly shaped for the shared side of [B,L,D]x[D,E]; the reference is the 2-D form.
  const broadcastRef = grads(
    [
      [3, 4, 5],
      [5, 6],
    ],
    (a, b) => tf.reshape(tf.matMul(tf.reshape(a!, [12, 5]), b!), [3, 4, 6]),
  );
  const info = await initBackend('wasm');
  assert.equal(info.name, 'wasm');
  for (const [i, c] of cases.entries()) {
    const got = c.run();
    assert.equal(got.length, reference[i]!.length, c.name);
    for (const [j, g] of got.entries()) {
      assert.equal(g.length, reference[i]![j]!.length, `${c.name}: gradient ${j} size`);
      const err = relativeError(g, reference[i]![j]!);
      assert.ok(err < 1e-4, `${c.name}: gradient ${j} differs from cpu by ${err}`);
    }
  }
  const broadcast = grads(
    [
      [3, 4, 5],
      [5, 6],
    ],
    (a, b) => tf.matMul(a!, b!),
  );
  assert.deepEqual([broadcast[0]!.length, broadcast[1]!.length], [60, 30]);
  for (const j of [0, 1]) assert.ok(relativeError(broadcast[j]!, broadcastRef[j]!) < 1e-4, `[B,L,D]x[D,E] gradient ${j}`);
});

test('a conv1d model trains on wasm with tf.variableGrads and does not leak tensors', async () => {
  await initBackend('wasm');
  const w = tf.variable(randn([7, 1, 8], 3).mul(0.3)) as tf.Variable<tf.Rank.R3>;
  const v = tf.variable(randn([7, 8, 1], 4).mul(0.3)) as tf.Variable<tf.Rank.R3>;
  const x = randn([16, 32, 1], 5);
  const target = tf.tidy(() => tf.conv1d(x as tf.Tensor3D, randn([7, 1, 1], 6) as tf.Tensor3D, 1, 'same'));
  const loss = () => tf.tidy(() => tf.losses.meanSquaredError(target, tf.conv1d(tf.elu(tf.conv1d(x as tf.Tensor3D, w, 1, 'same')), v, 1, 'same')) as tf.Scalar);
  const optimizer = tf.train.adam(0.02);
  const first = loss().dataSync()[0]!;
  const step = () => {
    const { value, grads: g } = tf.variableGrads(loss);
    optimizer.applyGradients(g as unknown as Parameters<typeof optimizer.applyGradients>[0]);
    tf.dispose([value, ...Object.values(g)]);
  };
  step(); // the optimizer creates its slots on the first step
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) step();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked across training steps');
  const last = loss().dataSync()[0]!;
  assert.ok(last < first * 0.2, `loss fell from ${first} to ${last}`);
});

test('wasm batched matMul equals the cpu backend, with either side shared by every item', async () => {
  const shapes: Array<[number[], number[]]> = [
    [
      [5, 40, 30],
      [5, 30, 20],
    ],
    [
      [1, 40, 30],
      [5, 30, 20],
    ],
    [
      [5, 40, 30],
      [1, 30, 20],
    ],
    [
      [2, 3, 40, 30],
      [2, 3, 30, 20],
    ],
  ];
  const run = () => shapes.map(([sa, sb]) => tf.tidy(() => tf.matMul(randn(sa, 1), randn(sb, 2)).dataSync() as Float32Array));
  await tf.setBackend('cpu');
  const reference = run();
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const got = run();
  assert.equal(tf.memory().numTensors, before);
  for (const [i, g] of got.entries()) assert.ok(relativeError(g, reference[i]!) < 1e-5, `${JSON.stringify(shapes[i])}: differs by ${relativeError(g, reference[i]!)}`);
});
