// A causal transformer (the paper's ablation) as pre-norm blocks: x ← x + attention(LN(x)),
// x ← x + MLP(LN(x)). The causal mask adds −1e9 above the diagonal, so softmax gives later
// tokens exactly zero weight (the reference's mask did not mask).
import { tf } from '../../tf.js';
import { Rng } from '../random.js';
import { ParameterFactory, applyNorm, batchMatMul, createLayerNorm, createLinear, linear3d, silu, type Linear, type Norm, type RecurrentModel } from './layers.js';

interface Block {
  attentionNorm: Norm;
  q: Linear;
  k: Linear;
  v: Linear;
  out: Linear;
  mlpNorm: Norm;
  up: Linear;
  down: Linear;
}

const MASKED = -1e9;

/** [L, L]: 0 where key j ≤ query i, −1e9 where j > i */
function causalMask(length: number): Float32Array {
  const mask = new Float32Array(length * length);
  for (let i = 0; i < length; i++) mask.fill(MASKED, i * length + i + 1, (i + 1) * length);
  return mask;
}

export class CausalTransformer implements RecurrentModel {
  readonly variables: tf.Variable[];
  private readonly blocks: Block[] = [];
  private readonly finalNorm: Norm;
  private readonly heads: number;

  constructor(
    readonly width: number,
    layerCount: number,
    heads: number,
    seed: number,
  ) {
    if (width % heads !== 0) throw new RangeError(`transformer width ${width} is not divisible by ${heads} heads`);
    this.heads = heads;
    const params = new ParameterFactory(new Rng(seed), 'transformer');
    for (let l = 0; l < layerCount; l++) {
      this.blocks.push({
        attentionNorm: createLayerNorm(params, width, `block${l}/attention_norm`),
        q: createLinear(params, width, width, `block${l}/q`),
        k: createLinear(params, width, width, `block${l}/k`),
        v: createLinear(params, width, width, `block${l}/v`),
        out: createLinear(params, width, width, `block${l}/out`),
        mlpNorm: createLayerNorm(params, width, `block${l}/mlp_norm`),
        up: createLinear(params, width, 4 * width, `block${l}/up`),
        down: createLinear(params, 4 * width, width, `block${l}/down`),
      });
    }
    this.finalNorm = createLayerNorm(params, width, 'final_norm');
    this.variables = params.variables;
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const length = x.shape[1];
      const mask = tf.tensor2d(causalMask(length), [length, length]);
      let h = x;
      for (const block of this.blocks) {
        h = tf.add(h, this.attention(block, applyNorm(h, block.attentionNorm), mask));
        h = tf.add(h, linear3d(silu(linear3d(applyNorm(h, block.mlpNorm), block.up)), block.down));
      }
      return applyNorm(h, this.finalNorm);
    });
  }

  private attention(block: Block, x: tf.Tensor3D, mask: tf.Tensor): tf.Tensor3D {
    const [batch, length, width] = x.shape;
    const heads = this.heads;
    const headWidth = width / heads;
    // [B, L, D] → [B·H, L, dh]
    const split = (t: tf.Tensor3D, perm: number[]) =>
      tf.reshape(tf.transpose(tf.reshape(t, [batch, length, heads, headWidth]), perm), perm[3] === 1 ? [batch * heads, headWidth, length] : [batch * heads, length, headWidth]) as tf.Tensor3D;
    // Scaling q (not the [L, L] scores) saves one L×L tensor per head.
    const q = split(tf.mul(linear3d(x, block.q), 1 / Math.sqrt(headWidth)) as tf.Tensor3D, [0, 2, 1, 3]);
    const kT = split(linear3d(x, block.k), [0, 2, 3, 1]); // [B·H, dh, L]
    const v = split(linear3d(x, block.v), [0, 2, 1, 3]);
    const scores = tf.add(batchMatMul(q, kT), mask);
    const mixed = batchMatMul(tf.softmax(scores) as tf.Tensor3D, v); // [B·H, L, dh]
    const merged = tf.reshape(tf.transpose(tf.reshape(mixed, [batch, heads, length, headWidth]), [0, 2, 1, 3]), [batch, length, width]) as tf.Tensor3D;
    return linear3d(merged, block.out);
  }
}
