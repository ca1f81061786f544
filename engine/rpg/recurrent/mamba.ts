// Mamba-2 blocks (RPG's default recurrent model), each a pre-norm residual block:
// x ← x + out_proj(RMSNorm(SSD(conv(xBC))·SiLU(z))). One B and C shared by all heads (one group),
// a scalar decay A per head, a causal depthwise convolution over time before the scan.
import { tf } from '../../tf.js';
import { Rng } from '../random.js';
import { ParameterFactory, applyNorm, createLinear, createRmsNorm, linear3d, silu, type Linear, type Norm, type RecurrentModel } from './layers.js';
import { ssdChunked } from './ssd.js';

export interface MambaConfig {
  width: number;
  layers: number;
  /** N, the state size per head (reference 128; the paper's small setting 32) */
  dState: number;
  /** inner width = expand · width */
  expand: number;
  heads: number;
  /** causal convolution kernel over time */
  dConv: number;
  /** tokens per SSD chunk */
  chunk: number;
}

interface Block {
  norm: Norm;
  inProj: Linear; // D → z (E), xBC (E + 2N), dt (H)
  convWeight: tf.Variable; // [K, E + 2N]
  convBias: tf.Variable; // [E + 2N]
  dtBias: tf.Variable; // [H]
  aLog: tf.Variable; // [H], A = −exp(aLog)
  dSkip: tf.Variable; // [H]
  gatedNorm: Norm; // [E]
  outProj: Linear; // E → D
}

export class MambaStack implements RecurrentModel {
  readonly variables: tf.Variable[];
  private readonly blocks: Block[] = [];
  private readonly finalNorm: Norm;
  private readonly inner: number;
  private readonly headDim: number;

  constructor(
    readonly cfg: MambaConfig,
    seed: number,
  ) {
    const { width, dState, expand, heads, dConv } = cfg;
    this.inner = expand * width;
    if (this.inner % heads !== 0) throw new RangeError(`Mamba inner width ${this.inner} is not divisible by ${heads} heads`);
    this.headDim = this.inner / heads;
    const rng = new Rng(seed);
    const params = new ParameterFactory(rng, 'mamba');
    const convChannels = this.inner + 2 * dState;
    for (let l = 0; l < cfg.layers; l++) {
      // dt starts log-uniform in [0.001, 0.1] (Mamba's init); the bias is its inverse softplus.
      const dtBias = Float32Array.from({ length: heads }, () => {
        const dt = Math.exp(Math.log(0.001) + rng.uniform() * (Math.log(0.1) - Math.log(0.001)));
        return dt + Math.log(-Math.expm1(-dt));
      });
      const aLog = Float32Array.from({ length: heads }, () => Math.log(1 + 15 * rng.uniform()));
      this.blocks.push({
        norm: createRmsNorm(params, width, `block${l}/norm`),
        inProj: createLinear(params, width, 2 * this.inner + 2 * dState + heads, `block${l}/in_proj`, false),
        convWeight: params.uniform([dConv, convChannels], 1 / Math.sqrt(dConv), `block${l}/conv_w`),
        convBias: params.uniform([convChannels], 1 / Math.sqrt(dConv), `block${l}/conv_b`),
        dtBias: params.fromValues(dtBias, [heads], `block${l}/dt_bias`),
        aLog: params.fromValues(aLog, [heads], `block${l}/a_log`),
        dSkip: params.constant([heads], 1, `block${l}/d`),
        gatedNorm: createRmsNorm(params, this.inner, `block${l}/gated_norm`),
        outProj: createLinear(params, this.inner, width, `block${l}/out_proj`, false),
      });
    }
    this.finalNorm = createRmsNorm(params, width, 'final_norm');
    this.variables = params.variables;
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      let h = x;
      // One tidy per block: its intermediates (∝ sequence length) are freed before the next block;
      // a gradient tape keeps its own copies of what it needs.
      for (const block of this.blocks) {
        const input = h;
        h = tf.tidy(() => tf.add(input, this.mixer(block, applyNorm(input, block.norm))));
      }
      return applyNorm(h, this.finalNorm);
    });
  }

  private mixer(block: Block, u: tf.Tensor3D): tf.Tensor3D {
    const [batch, length] = u.shape;
    const { dState, heads } = this.cfg;
    const inner = this.inner;
    const [z, xbcRaw, dtRaw] = tf.tidy(() => tf.split(linear3d(u, block.inProj), [inner, inner + 2 * dState, heads], 2)) as tf.Tensor3D[];
    const y = tf.tidy(() => {
      const xbc = silu(causalDepthwiseConv(xbcRaw!, block.convWeight, block.convBias));
      const [xs, b, c] = tf.split(xbc, [inner, dState, dState], 2) as tf.Tensor3D[];
      const dt = tf.softplus(tf.add(dtRaw!, block.dtBias)) as tf.Tensor3D;
      const a = tf.neg(tf.exp(block.aLog)) as tf.Tensor1D;
      const xHeads = tf.reshape(xs!, [batch, length, heads, this.headDim]) as tf.Tensor4D;
      const scanned = ssdChunked(xHeads, dt, a, b!, c!, this.cfg.chunk);
      return tf.add(scanned, tf.mul(xHeads, tf.reshape(block.dSkip, [heads, 1])));
    });
    const gated = tf.tidy(() => applyNorm(tf.mul(tf.reshape(y, [batch, length, inner]), silu(z!)) as tf.Tensor3D, block.gatedNorm));
    return linear3d(gated, block.outProj);
  }
}

/** out[t] = bias + Σ_k w[k]·x[t − K + 1 + k] per channel, zeros before the start: [B, L, C] → [B, L, C] */
function causalDepthwiseConv(x: tf.Tensor3D, weight: tf.Variable, bias: tf.Variable): tf.Tensor3D {
  const [batch, length, channels] = x.shape;
  const kernel = weight.shape[0]!;
  // Shifted copies and products: wasm has no gradient kernel for depthwise convolutions.
  const padded = tf.pad(x, [
    [0, 0],
    [kernel - 1, 0],
    [0, 0],
  ]);
  const taps = tf.unstack(weight);
  let out: tf.Tensor = bias;
  for (let k = 0; k < kernel; k++) {
    // Each tap's slice and product are freed at once, and the running sum replaced: at 9,816
    // tokens × 576 channels each of these is 22 MiB (the tape keeps its own copies).
    const previous = out;
    out = tf.tidy(() => tf.add(previous, tf.mul(tf.slice(padded, [0, k, 0], [batch, length, channels]), taps[k]!)));
    if (k > 0) previous.dispose();
  }
  return out as tf.Tensor3D;
}
