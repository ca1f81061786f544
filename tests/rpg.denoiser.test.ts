// The shared 1-D conv denoiser: shapes, skip connections, the low-rank option, gradients, BatchNorm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.js';
import { Denoiser, type DenoiserConfig } from '../engine/rpg/denoiser.js';
import { Rng } from '../engine/rpg/random.js';

const base: DenoiserConfig = { tokenSize: 64, prototypeWidth: 48, channels: [32, 64, 128, 64, 32], kernelSize: 7, timeFeatures: 256, timeHidden: 0, conditionRank: 0, norm: 'channel' };

function inputs(n: number, config: DenoiserConfig) {
  const rng = new Rng(1);
  const xt = new Float32Array(n * config.tokenSize);
  const proto = new Float32Array(n * config.prototypeWidth);
  rng.fillNormal(xt);
  rng.fillNormal(proto);
  return { xt: tf.tensor2d(xt, [n, config.tokenSize]), proto: tf.tensor2d(proto, [n, config.prototypeWidth]), t: Array.from({ length: n }, (_, i) => i * 97) };
}

test('the default denoiser maps [N, tokenSize] to [N, tokenSize] with skips at the 64 and 32 levels', async () => {
  await initBackend('wasm');
  const denoiser = new Denoiser(base, new Rng(0));
  assert.deepEqual(denoiser.skipWidths(), [64, 32]);
  const { xt, proto, t } = inputs(5, base);
  const out = denoiser.forward(xt, denoiser.timeInput(t), proto);
  assert.deepEqual(out.shape, [5, 64]);
  assert.ok((out.dataSync() as Float32Array).every(Number.isFinite));
  // conv kernels 7·(1·32+32·64+64·128+128·64+64·32+32·1) + biases + norms, time MLP 256→64→64, cond 48→64
  const convs = 7 * (32 + 2048 + 8192 + 8192 + 2048 + 32) + (32 + 64 + 128 + 64 + 32 + 1) + 2 * (32 + 64 + 128 + 64 + 32);
  assert.equal(denoiser.parameterCount(), convs + (256 * 64 + 64) + (64 * 64 + 64) + (48 * 64 + 64));
  tf.dispose([xt, proto, out]);
  denoiser.dispose();
});

test('the slim large-token form (1→64→96→64→1, low-rank dense layers) is much smaller at tokenSize 4096', async () => {
  await initBackend('wasm');
  const big = { ...base, tokenSize: 4096, prototypeWidth: 512, channels: [64, 96, 64] };
  const full = new Denoiser(big, new Rng(0));
  const slim = new Denoiser({ ...big, timeHidden: 256, conditionRank: 256 }, new Rng(0));
  assert.deepEqual(slim.skipWidths(), [64]);
  assert.ok(full.parameterCount() > 18_000_000, `full form ${full.parameterCount()}`);
  assert.ok(slim.parameterCount() < 3_500_000, `low-rank form ${slim.parameterCount()}`);
  const { xt, proto, t } = inputs(2, big);
  const out = slim.forward(xt, slim.timeInput(t), proto);
  assert.deepEqual(out.shape, [2, 4096]);
  tf.dispose([xt, proto, out]);
  full.dispose();
  slim.dispose();
});

test('every denoiser parameter gets a gradient, and the same seed builds the same weights', async () => {
  await initBackend('wasm');
  const config = { ...base, tokenSize: 32, prototypeWidth: 16, channels: [8, 16, 8] };
  const a = new Denoiser(config, new Rng(7));
  const b = new Denoiser(config, new Rng(7));
  for (const [name, v] of a.params) assert.deepEqual(v.dataSync(), b.params.get(name)!.dataSync(), name);
  const { xt, proto, t } = inputs(4, config);
  const time = a.timeInput(t);
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(a.forward(xt, time, proto))) as tf.Scalar, a.variables);
  for (const [name, v] of a.params) {
    const g = grads[v.name];
    assert.ok(g, `no gradient for ${name}`);
    assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!) > 0, `zero gradient for ${name}`);
  }
  tf.dispose([xt, proto, time, value, ...Object.values(grads)]);
  a.dispose();
  b.dispose();
});

test("'batch' norm: training normalises each channel with the batch's statistics, sampling with running ones", async () => {
  await initBackend('wasm');
  const config: DenoiserConfig = { ...base, tokenSize: 32, prototypeWidth: 16, channels: [8, 16, 8], norm: 'batch' };
  const denoiser = new Denoiser(config, new Rng(3));
  assert.equal(denoiser.buffers.size, 6, 'running mean and variance for each of the 3 hidden convs');
  const { xt, proto, t } = inputs(6, config);
  const time = denoiser.timeInput(t);
  const firstRow = (out: tf.Tensor2D) => {
    const row = Array.from(tf.tidy(() => tf.slice(out, [0, 0], [1, 32]).dataSync()));
    out.dispose();
    return row;
  };
  const rowsOf = (n: number) => tf.tidy(() => [tf.slice(xt, [0, 0], [n, 32]), tf.slice(time, [0, 0], [n, 256]), tf.slice(proto, [0, 0], [n, 16])] as const);

  // Sampling: a token's ε̂ does not depend on which other tokens share its chunk (inference modes agree).
  const [x2, time2, proto2] = rowsOf(2);
  const alone = tf.tidy(() => firstRow(denoiser.forward(x2.slice([0, 0], [1, 32]), time2.slice([0, 0], [1, 256]), proto2.slice([0, 0], [1, 16]), 'sample')));
  const together = firstRow(denoiser.forward(xt, time, proto, 'sample'));
  alone.forEach((v, i) => {
    assert.ok(Math.abs(v - together[i]!) < 1e-5, `position ${i}: ${v} alone, ${together[i]} in a chunk`);
  });
  // Training: the batch's statistics normalise, so the same token comes out differently in another batch.
  const trainAll = firstRow(denoiser.forward(xt, time, proto, 'train'));
  denoiser.commitBatchStatistics();
  const trainTwo = firstRow(denoiser.forward(x2, time2, proto2, 'train'));
  denoiser.commitBatchStatistics();
  assert.ok(
    trainAll.some((v, i) => Math.abs(v - trainTwo[i]!) > 1e-3),
    'batch statistics depend on the batch',
  );

  // Running statistics follow the training batches (momentum 0.1): after many steps on one batch,
  // sampling gives what training gives on that batch (up to the unbiased variance, n/(n−1) with n = 6·32).
  for (let i = 0; i < 150; i++) {
    tf.dispose(denoiser.forward(xt, time, proto, 'train'));
    denoiser.commitBatchStatistics();
  }
  const trained = firstRow(denoiser.forward(xt, time, proto, 'train'));
  denoiser.commitBatchStatistics();
  const sampled = firstRow(denoiser.forward(xt, time, proto, 'sample'));
  const worst = Math.max(...trained.map((v, i) => Math.abs(v - sampled[i]!)));
  assert.ok(worst < 0.02, `sampling with running statistics differs from training by up to ${worst}`);
  const before = tf.memory().numTensors;
  tf.dispose(denoiser.forward(xt, time, proto, 'train'));
  denoiser.commitBatchStatistics();
  assert.equal(tf.memory().numTensors, before, 'batch statistics are freed once committed');
  tf.dispose([xt, proto, time, x2, time2, proto2]);
  denoiser.dispose();
});

test("'batch' norm when sampling: the layers folded into fused convs give the plain layers' output", async () => {
  await initBackend('wasm');
  const config: DenoiserConfig = { ...base, tokenSize: 64, prototypeWidth: 16, channels: [16, 32, 16], norm: 'batch' };
  const denoiser = new Denoiser(config, new Rng(4));
  const rng = new Rng(9);
  // Trained-looking norms: gains, shifts and running statistics away from their initial 1 / 0.
  for (const variable of denoiser.variables.filter((v) => /norm\.(gain|shift)$/.test(v.name))) {
    variable.assign(tf.tensor1d(Array.from({ length: variable.shape[0]! }, () => 0.5 + rng.uniform())));
  }
  for (const [name, buffer] of denoiser.buffers) {
    buffer.assign(tf.tensor1d(Array.from({ length: buffer.shape[0]! }, () => (name.endsWith('running_var') ? 0.2 + rng.uniform() : rng.normal()))));
  }
  const { xt, proto, t } = inputs(12, config);
  const time = denoiser.timeInput(t);
  const folded = denoiser.forward(xt, time, proto, 'sample');
  Denoiser.fastLayers = false;
  try {
    const plain = denoiser.forward(xt, time, proto, 'sample');
    const a = folded.dataSync();
    const b = plain.dataSync();
    const scale = Math.max(...Array.from(b, Math.abs));
    const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
    assert.ok(scale > 0.1, `outputs are not trivially small (${scale})`);
    assert.ok(worst < 1e-5 * Math.max(1, scale), `folded and plain sampling layers differ by up to ${worst} (scale ${scale})`);
    plain.dispose();
  } finally {
    Denoiser.fastLayers = true;
  }
  tf.dispose([xt, proto, time, folded]);
  denoiser.dispose();
});

test("'batch' norm when training: the hand-written gradient gives autodiff's gradients, output and running statistics", async () => {
  await initBackend('wasm');
  const config: DenoiserConfig = { ...base, tokenSize: 64, prototypeWidth: 16, channels: [16, 32, 16], norm: 'batch' };
  const run = (fast: boolean) => {
    Denoiser.fastLayers = fast;
    try {
      const denoiser = new Denoiser(config, new Rng(5));
      for (const variable of denoiser.variables.filter((v) => /norm\.(gain|shift)$/.test(v.name))) {
        variable.assign(tf.tensor1d(Array.from({ length: variable.shape[0]! }, (_, i) => 0.5 + ((i * 37) % 11) / 10)));
      }
      const { xt, proto, t } = inputs(12, config);
      const time = denoiser.timeInput(t);
      const target = tf.tidy(() => tf.mul(xt, 0.5));
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(denoiser.forward(xt, time, proto, 'train'), target))) as tf.Scalar, denoiser.variables);
      denoiser.commitBatchStatistics();
      const result = {
        loss: value.dataSync()[0]!,
        grads: Object.fromEntries([...denoiser.params].map(([name, v]) => [name, Float32Array.from(grads[v.name]!.dataSync())])),
        buffers: Object.fromEntries([...denoiser.buffers].map(([name, b]) => [name, Float32Array.from(b.dataSync())])),
      };
      tf.dispose([value, ...Object.values(grads), xt, proto, time, target]);
      denoiser.dispose();
      return result;
    } finally {
      Denoiser.fastLayers = true;
    }
  };
  const fast = run(true);
  const plain = run(false);
  assert.ok(Math.abs(fast.loss - plain.loss) < 1e-5 * Math.abs(plain.loss), `loss ${fast.loss} vs ${plain.loss}`);
  assert.deepEqual(Object.keys(fast.grads).sort(), Object.keys(plain.grads).sort());
  for (const [name, g] of Object.entries(plain.grads)) {
    const f = fast.grads[name]!;
    const scale = Math.max(1e-8, ...Array.from(g, Math.abs));
    const worst = Math.max(...Array.from(g, (v, i) => Math.abs(v - f[i]!)));
    // The bias before a BatchNorm has a zero gradient in exact arithmetic; both sides give rounding noise there.
    if (/^conv[0-2]\.bias$/.test(name)) assert.ok(Math.max(...Array.from(f, Math.abs)) < 1e-4, `${name} should be ~0`);
    else assert.ok(worst <= 2e-3 * scale, `${name}: gradients differ by up to ${worst} (scale ${scale})`);
  }
  for (const [name, b] of Object.entries(plain.buffers)) {
    const worst = Math.max(...Array.from(b, (v, i) => Math.abs(v - fast.buffers[name]![i]!)));
    assert.ok(worst < 1e-5, `${name} differs by ${worst}`);
  }
});
