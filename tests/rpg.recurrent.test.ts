import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../engine/backend.js';
import { Rng } from '../engine/rpg/random.js';
import { RECURRENT_KINDS, RecurrentConfigError, createRecurrent, type RecurrentConfig, type RecurrentKind } from '../engine/rpg/recurrent/index.js';
import { ssdChunked, ssdSequential } from '../engine/rpg/recurrent/ssd.js';
import { lstmRecurrence } from '../engine/rpg/recurrent/lstm.js';
import { batchMatMul } from '../engine/rpg/recurrent/layers.js';

const SMALL: RecurrentConfig = { width: 16, layers: 2, dState: 4, heads: 2, chunk: 4 };

function randomArray(rng: Rng, n: number, f: (v: number) => number = (v) => v): Float32Array {
  return Float32Array.from({ length: n }, () => f(rng.normal()));
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`${backend}: the chunked SSD scan equals a plain sequential scan within 1e-4, strong decays included`, async () => {
    await initBackend(backend);
    const rng = new Rng(3);
    // decay rates up to 16 per unit dt, dt up to ~6: exp(−cumsum) over the sequence would overflow
    for (const [batch, length, heads, headDim, state, chunk] of [
      [2, 50, 3, 4, 5, 16],
      [1, 7, 2, 3, 2, 16],
      [1, 300, 3, 2, 3, 32],
    ] as const) {
      const x = randomArray(rng, batch * length * heads * headDim);
      const b = randomArray(rng, batch * length * state);
      const c = randomArray(rng, batch * length * state);
      const dt = randomArray(rng, batch * length * heads, (v) => Math.log1p(Math.exp(2 * v)));
      const a = Float32Array.from({ length: heads }, (_, h) => -[0.05, 2, 16][h]!);
      const shape = { batch, length, heads, headDim, state };
      const got = tf.tidy(() =>
        ssdChunked(
          tf.tensor4d(x, [batch, length, heads, headDim]),
          tf.tensor3d(dt, [batch, length, heads]),
          tf.tensor1d(a),
          tf.tensor3d(b, [batch, length, state]),
          tf.tensor3d(c, [batch, length, state]),
          chunk,
        ).dataSync(),
      );
      const want = ssdSequential(x, dt, a, b, c, shape);
      assert.equal(got.length, want.length);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
      assert.ok(worst < 1e-4, `L=${length} chunk=${chunk}: worst difference ${worst}`);
    }
  });

  test(`${backend}: every recurrent model is causal — a change at a later token leaves earlier outputs unchanged`, async () => {
    await initBackend(backend);
    const rng = new Rng(5);
    const [batch, length, later] = [2, 12, 7];
    for (const kind of RECURRENT_KINDS) {
      const model = createRecurrent(kind, SMALL, 1);
      const input = randomArray(rng, batch * length * SMALL.width);
      const changed = Float32Array.from(input);
      for (let b = 0; b < batch; b++) for (let d = 0; d < SMALL.width; d++) changed[(b * length + later) * SMALL.width + d] += 3 * rng.normal();
      const [before, after] = [input, changed].map((v) => tf.tidy(() => model.forward(tf.tensor3d(v, [batch, length, SMALL.width])).dataSync()));
      let earlier = 0;
      let atLater = 0;
      for (let b = 0; b < batch; b++) {
        for (let t = 0; t < length; t++) {
          for (let d = 0; d < SMALL.width; d++) {
            const i = (b * length + t) * SMALL.width + d;
            const diff = Math.abs(before![i]! - after![i]!);
            if (t < later) earlier = Math.max(earlier, diff);
            else atLater = Math.max(atLater, diff);
          }
        }
      }
      assert.ok(earlier <= 1e-6, `${kind}: earlier tokens moved by ${earlier}`);
      assert.ok(atLater > 1e-3, `${kind}: the changed token had no effect (${atLater})`);
      for (const v of model.variables) v.dispose();
    }
  });

  test(`${backend}: tf.variableGrads gives finite, non-zero gradients for every variable of every model`, async () => {
    await initBackend(backend);
    const rng = new Rng(9);
    const [batch, length] = [2, 10];
    for (const kind of RECURRENT_KINDS) {
      const model = createRecurrent(kind, SMALL, 2);
      const input = tf.tensor3d(randomArray(rng, batch * length * SMALL.width), [batch, length, SMALL.width]);
      const target = tf.tensor3d(randomArray(rng, batch * length * SMALL.width), [batch, length, SMALL.width]);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(model.forward(input), target))) as tf.Scalar, model.variables);
      assert.equal(tf.memory().numTensors, before + 1 + model.variables.length, `${kind}: a training step leaks no tensors`);
      assert.ok(Number.isFinite(value.dataSync()[0]!));
      assert.equal(Object.keys(grads).length, model.variables.length);
      for (const v of model.variables) {
        const g = grads[v.name]!;
        assert.deepEqual(g.shape, v.shape, `${kind} ${v.name} gradient shape`);
        const values = g.dataSync();
        assert.ok(values.every(Number.isFinite), `${kind} ${v.name}: non-finite gradient`);
        assert.ok(
          values.some((x) => x !== 0),
          `${kind} ${v.name}: zero gradient`,
        );
      }
      tf.dispose([input, target, value, ...Object.values(grads), ...model.variables]);
    }
  });
}

test('outputs keep the [B, L, D] shape and configs are checked', async () => {
  await initBackend('cpu');
  for (const kind of RECURRENT_KINDS) {
    const model = createRecurrent(kind, { width: 8, layers: 1, heads: 2, dState: 2, chunk: 3 }, 0);
    const y = tf.tidy(() => model.forward(tf.ones([3, 5, 8])));
    assert.deepEqual(y.shape, [3, 5, 8]);
    y.dispose();
    for (const v of model.variables) v.dispose();
  }
  assert.throws(() => createRecurrent('transformer', { width: 10, layers: 1, heads: 3 }, 0), RecurrentConfigError);
  assert.throws(() => createRecurrent('mamba', { width: 10, layers: 1, heads: 3 }, 0), /Mamba inner width 20 is not divisible by 3 heads/);
  assert.throws(() => createRecurrent('lstm', { width: 8, layers: 0 }, 0), /layers/);
  assert.throws(() => createRecurrent('gru' as RecurrentKind, { width: 8, layers: 1 }, 0), /unknown recurrent model 'gru'/);
  // same seed, same weights
  const [m1, m2] = [createRecurrent('mamba', SMALL, 4), createRecurrent('mamba', SMALL, 4)];
  m1.variables.forEach((v, i) => {
    assert.deepEqual(v.dataSync(), m2.variables[i]!.dataSync());
  });
});

test('the LSTM hand-written backward pass equals autodiff through the plain recurrence', async () => {
  await initBackend('cpu');
  const rng = new Rng(21);
  const [length, batch, width] = [6, 2, 5];
  const projected = tf.tensor3d(randomArray(rng, length * batch * 4 * width), [length, batch, 4 * width]);
  const wh = tf.tensor2d(
    randomArray(rng, width * 4 * width, (v) => 0.5 * v),
    [width, 4 * width],
  );
  const upstream = tf.tensor3d(randomArray(rng, length * batch * width), [length, batch, width]);
  // The textbook recurrence, differentiated by tfjs itself.
  const plain = (p: tf.Tensor3D, w: tf.Tensor2D): tf.Tensor3D => {
    let h: tf.Tensor2D = tf.zeros([batch, width]);
    let c: tf.Tensor2D = tf.zeros([batch, width]);
    const hs: tf.Tensor2D[] = [];
    for (const step of tf.unstack(p) as tf.Tensor2D[]) {
      const [i, f, g, o] = tf.split(tf.add(step, tf.matMul(h, w)), 4, 1) as tf.Tensor2D[];
      c = tf.add(tf.mul(tf.sigmoid(f!), c), tf.mul(tf.sigmoid(i!), tf.tanh(g!)));
      h = tf.mul(tf.sigmoid(o!), tf.tanh(c));
      hs.push(h);
    }
    return tf.stack(hs) as tf.Tensor3D;
  };
  const lossOf = (f: typeof plain) => (p: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(f(p as tf.Tensor3D, w as tf.Tensor2D), upstream));
  const want = tf.grads(lossOf(plain))([projected, wh]);
  const got = tf.grads(lossOf(lstmRecurrence))([projected, wh]);
  assert.ok(tf.max(tf.abs(tf.sub(lstmRecurrence(projected, wh), plain(projected, wh)))).dataSync()[0]! < 1e-6, 'same outputs');
  for (let k = 0; k < 2; k++) {
    const worst = tf.max(tf.abs(tf.sub(got[k]!, want[k]!))).dataSync()[0]!;
    assert.ok(worst < 1e-5, `${k === 0 ? 'projected' : 'W_h'} gradient differs by ${worst}`);
  }
});

test('wasm: batchMatMul loops large items through 2-D matMuls with the same values and gradients', async () => {
  await initBackend('wasm');
  const rng = new Rng(4);
  const a = tf.tensor3d(randomArray(rng, 2 * 512 * 64), [2, 512, 64]);
  const b = tf.tensor3d(randomArray(rng, 2 * 64 * 64), [2, 64, 64]); // 512·64·64 = 2^21 multiply-adds per item
  const w = tf.tensor3d(randomArray(rng, 2 * 512 * 64), [2, 512, 64]);
  const loss = (f: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor3D) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor3D, y as tf.Tensor3D), w));
  const want = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
  const got = tf.grads(loss(batchMatMul))([a, b]);
  assert.ok(tf.max(tf.abs(tf.sub(batchMatMul(a, b), tf.matMul(a, b)))).dataSync()[0]! < 1e-4);
  for (let k = 0; k < 2; k++) assert.ok(tf.max(tf.abs(tf.sub(got[k]!, want[k]!))).dataSync()[0]! < 1e-3);
});

test('the seeded Rng: reproducible, resumable from its saved state, standard normals', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  assert.deepEqual([a.uniform(), a.normal(), a.uniform()], [b.uniform(), b.normal(), b.uniform()]);
  assert.notEqual(new Rng(1).uniform(), new Rng(2).uniform());
  a.normal(); // leaves a cached second normal in the state
  const resumed = Rng.fromState(JSON.parse(JSON.stringify(a.state())) as number[]);
  const next = Float32Array.from({ length: 5 }, () => a.normal());
  const again = new Float32Array(5);
  resumed.fillNormal(again);
  assert.deepEqual(again, next);
  const values = new Float32Array(100_000);
  new Rng(7).fillNormal(values);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
  assert.ok(Math.abs(mean) < 0.01 && Math.abs(variance - 1) < 0.02, `mean ${mean}, variance ${variance}`);
  assert.throws(() => Rng.fromState([-1]), RangeError);
  const drawn = new Rng(3).sampleWithoutReplacement(10, 10);
  assert.deepEqual(
    [...drawn].sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});
