// The generator's parts compute what the RPG reference's PyTorch layers compute, given the same
// weights: the recurrent model is torch.nn.LSTM, and the denoiser is the reference's conv stack with
// BatchNorm1d (batch statistics in training, running statistics when sampling). Two deviations from
// these once made ParamZoo's generator learn slower and sample broken models at an equal training
// loss (a per-position LayerNorm in the denoiser, pre-norm residual LSTM blocks): each would fail here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.js';
import { Denoiser, type DenoiserConfig } from '../engine/rpg/denoiser.js';
import { createRecurrent } from '../engine/rpg/recurrent/index.js';
import { Rng } from '../engine/rpg/random.js';
import { runTorch, skipWithoutTorch } from './helpers/torch.js';

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const worstDifference = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

function randomTensor(rng: Rng, shape: number[]): tf.Tensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  rng.fillNormal(data);
  return tf.tensor(data, shape);
}

test('the LSTM is torch.nn.LSTM (2 layers, batch_first) with the same weights', { skip: skipWithoutTorch() }, async () => {
  await initBackend('wasm');
  const [batch, length, width] = [2, 7, 8];
  const model = createRecurrent('lstm', { width, layers: 2 }, 3);
  const x = randomTensor(new Rng(1), [batch, length, width]);
  const ours = values(model.forward(x as tf.Tensor3D));
  // Our weights are [in, 4·hidden] in torch's gate order (i, f, g, o): torch's weight_ih is the transpose.
  const weights = model.variables.map((v) => ({ shape: v.shape, values: values(v) }));
  const theirs = runTorch<number[]>(
    `
import json, sys, torch
inp = json.load(sys.stdin)
w = [torch.tensor(t['values']).reshape(t['shape']) for t in inp['weights']]
lstm = torch.nn.LSTM(${width}, ${width}, num_layers=2, batch_first=True)
with torch.no_grad():
    for layer in range(2):
        wx, wh, b = w[3 * layer: 3 * layer + 3]
        getattr(lstm, f'weight_ih_l{layer}').copy_(wx.t())
        getattr(lstm, f'weight_hh_l{layer}').copy_(wh.t())
        getattr(lstm, f'bias_ih_l{layer}').copy_(b)
        getattr(lstm, f'bias_hh_l{layer}').zero_()
    out, _ = lstm(torch.tensor(inp['x']).reshape(${batch}, ${length}, ${width}))
print(json.dumps(out.flatten().tolist()))
`,
    { weights, x: values(x) },
  );
  assert.equal(weights.length, 6, 'three tensors per layer, no norms');
  const worst = worstDifference(ours, theirs);
  assert.ok(worst < 1e-5, `largest difference from torch.nn.LSTM: ${worst}`);
  tf.dispose([x, ...model.variables]);
});

test("the denoiser is the reference's conv stack with BatchNorm1d, in training and sampling mode", { skip: skipWithoutTorch() }, async () => {
  await initBackend('wasm');
  const config: DenoiserConfig = { tokenSize: 24, prototypeWidth: 12, channels: [4, 8, 4], kernelSize: 7, timeFeatures: 16, timeHidden: 0, conditionRank: 0, norm: 'batch' };
  const denoiser = new Denoiser(config, new Rng(2));
  const rng = new Rng(4);
  const n = 5;
  const xt = randomTensor(rng, [n, 24]) as tf.Tensor2D;
  const proto = randomTensor(rng, [n, 12]) as tf.Tensor2D;
  const t = [3, 250, 999, 500, 41];
  const time = denoiser.timeInput(t);
  const train = values(denoiser.forward(xt, time, proto, 'train'));
  denoiser.commitBatchStatistics();
  const sample = values(denoiser.forward(xt, time, proto, 'sample')); // running statistics after one update
  const params = Object.fromEntries([...denoiser.params].map(([name, v]) => [name, { shape: v.shape, values: values(v) }]));
  const theirs = runTorch<{ train: number[]; sample: number[] }>(
    `
import json, math, sys, torch
import torch.nn as nn, torch.nn.functional as F
inp = json.load(sys.stdin)
P = {k: torch.tensor(v['values']).reshape(v['shape']) for k, v in inp['params'].items()}
chain = [1, 4, 8, 4, 1]
convs = [nn.Conv1d(a, b, 7, padding=3) for a, b in zip(chain[:-1], chain[1:])]
norms = [nn.BatchNorm1d(c) for c in chain[1:-1]]
with torch.no_grad():
    for i, conv in enumerate(convs):
        conv.weight.copy_(P[f'conv{i}.kernel'].permute(2, 1, 0))  # ours [k, in, out] -> torch [out, in, k]
        conv.bias.copy_(P[f'conv{i}.bias'])
    for i, norm in enumerate(norms):
        norm.weight.copy_(P[f'conv{i}.norm.gain'])
        norm.bias.copy_(P[f'conv{i}.norm.shift'])
t = torch.tensor(inp['t'], dtype=torch.float32)
half = 8
freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
features = torch.cat([torch.sin(t[:, None] * freqs), torch.cos(t[:, None] * freqs)], 1)
def forward(x, proto):
    time = (F.silu(features @ P['time.w1'] + P['time.b1']) @ P['time.w2'] + P['time.b2'])[:, None, :]
    cond = (proto @ P['cond.w'] + P['cond.b'])[:, None, :]
    h, outs = x[:, None, :], []
    for i, conv in enumerate(convs):
        h = conv((h + cond) * time)
        if i < len(norms):
            h = F.elu(norms[i](h))
        if i == 2:
            h = h + outs[0]  # skip at the 4-channel level (reference: the decoder adds the encoder output)
        outs.append(h)
    return h[:, 0, :]
x = torch.tensor(inp['x']).reshape(${n}, 24)
proto = torch.tensor(inp['proto']).reshape(${n}, 12)
for m in norms: m.train()
with torch.no_grad():
    train = forward(x, proto)
    for m in norms: m.eval()
    sample = forward(x, proto)
print(json.dumps({'train': train.flatten().tolist(), 'sample': sample.flatten().tolist()}))
`,
    { params, x: values(xt), proto: values(proto), t },
  );
  assert.deepEqual(denoiser.skipWidths(), [4]);
  const trainDifference = worstDifference(train, theirs.train);
  const sampleDifference = worstDifference(sample, theirs.sample);
  assert.ok(trainDifference < 1e-4, `training mode: largest difference from PyTorch ${trainDifference}`);
  assert.ok(sampleDifference < 1e-4, `sampling mode: largest difference from PyTorch ${sampleDifference}`);
  tf.dispose([xt, proto, time]);
  denoiser.dispose();
});
