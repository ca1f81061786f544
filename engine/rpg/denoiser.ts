// The diffusion model shared by all tokens (RPG.md "Diffusion model"): each token is denoised as
// a 1-channel 1-D signal of length tokenSize by a stack of conv1d (kernel 7, stride 1, same
// padding) + norm + ELU, channels 1 → …hidden → 1 with skip connections where a width repeats on
// the way down (e.g. 1→32→64→128→64→32→1: skips at 64 and 32). Every conv sees (h + cond)·time,
// where cond = Linear(prototype) and time = MLP(sinusoidal(t)), both one value per position.
//
// The two dense layers of the reference (prototype D→tokenSize, time tokenSize→tokenSize) dominate
// its size at large token sizes; `conditionRank` and `timeHidden` put a low-rank bottleneck there.
import { tf } from '../tf.js';
import type { Rng } from './random.js';
import { timestepFeatures } from './schedule.js';

export interface DenoiserConfig {
  tokenSize: number;
  /** prototype width D (the recurrent model's width) */
  prototypeWidth: number;
  /** hidden channels, e.g. [32, 64, 128, 64, 32] */
  channels: number[];
  kernelSize: number;
  timeFeatures: number;
  /** hidden width of the time MLP; 0 = tokenSize */
  timeHidden: number;
  /** rank of the prototype projection; 0 = full D×tokenSize */
  conditionRank: number;
  /**
   * 'batch': BatchNorm1d as in the reference — each channel normalised over tokens × positions with
   * the batch's statistics while training, with running statistics when sampling;
   * 'channel': LayerNorm over the channels at each position; 'none': only the learned scale and shift.
   */
  norm: DenoiserNorm;
}

export type DenoiserNorm = 'batch' | 'channel' | 'none';

/** torch.nn.BatchNorm1d's defaults. */
const BATCH_NORM_MOMENTUM = 0.1;
const NORM_EPSILON = 1e-5;

/** PyTorch's default init: U(−1/√fanIn, 1/√fanIn), drawn from the seeded Rng. */
function uniformVariable(rng: Rng, shape: number[], fanIn: number): tf.Variable {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const bound = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < values.length; i++) values[i] = (2 * rng.uniform() - 1) * bound;
  return tf.tidy(() => tf.variable(tf.tensor(values, shape)));
}

function constantVariable(shape: number[], value: number, trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(tf.fill(shape, value), trainable));
}

interface ConvLayer {
  kernel: tf.Variable; // [k, in, out]
  bias: tf.Variable; // [out]
  gain?: tf.Variable; // norm scale [out]; absent on the output layer
  shift?: tf.Variable;
  /** BatchNorm's running statistics [out] (not trained: updated from each training batch) */
  runningMean?: tf.Variable;
  runningVar?: tf.Variable;
  /** index of the encoder output added after this layer, or -1 */
  skipFrom: number;
}

/** How forward normalises with 'batch' norm: batch statistics (training) or running ones (sampling). */
export type DenoiserMode = 'train' | 'sample';

export class Denoiser {
  /**
   * The fast forms of a normalised layer: folded into one fused conv when sampling (foldedLayer), a
   * hand-written BatchNorm gradient when training (trainingBatchNorm). Off only to check them
   * against the plain form, which autodiff differentiates op by op.
   */
  static fastLayers = true;
  /** parameters by stable name, in creation order (the save order) */
  readonly params = new Map<string, tf.Variable>();
  /** non-trained state saved with the parameters (BatchNorm running statistics), by stable name */
  readonly buffers = new Map<string, tf.Variable>();
  private readonly layers: ConvLayer[] = [];
  /** batch statistics of the last training forward, per normed layer, applied by commitBatchStatistics */
  private pendingStatistics: { layer: ConvLayer; mean: tf.Tensor; variance: tf.Tensor; count: number }[] = [];

  constructor(
    readonly config: DenoiserConfig,
    rng: Rng,
  ) {
    const { tokenSize, prototypeWidth, channels, kernelSize, timeFeatures, timeHidden, conditionRank } = config;
    const add = (name: string, v: tf.Variable) => {
      this.params.set(name, v);
      return v;
    };
    const hidden = timeHidden > 0 ? timeHidden : tokenSize;
    add('time.w1', uniformVariable(rng, [timeFeatures, hidden], timeFeatures));
    add('time.b1', uniformVariable(rng, [hidden], timeFeatures));
    add('time.w2', uniformVariable(rng, [hidden, tokenSize], hidden));
    add('time.b2', uniformVariable(rng, [tokenSize], hidden));
    if (conditionRank > 0) {
      add('cond.w1', uniformVariable(rng, [prototypeWidth, conditionRank], prototypeWidth));
      add('cond.w2', uniformVariable(rng, [conditionRank, tokenSize], conditionRank));
    } else {
      add('cond.w', uniformVariable(rng, [prototypeWidth, tokenSize], prototypeWidth));
    }
    add('cond.b', uniformVariable(rng, [tokenSize], prototypeWidth));

    const chain = [1, ...channels, 1];
    const peak = channels.indexOf(Math.max(...channels));
    const encoderWidths: number[] = []; // outputs of layers before the widest one, by layer index
    for (let i = 0; i + 1 < chain.length; i++) {
      const [cin, cout] = [chain[i]!, chain[i + 1]!];
      const last = i + 2 === chain.length;
      const fanIn = cin * kernelSize;
      const layer: ConvLayer = {
        kernel: add(`conv${i}.kernel`, uniformVariable(rng, [kernelSize, cin, cout], fanIn)),
        bias: add(`conv${i}.bias`, uniformVariable(rng, [cout], fanIn)),
        skipFrom: -1,
      };
      if (!last) {
        layer.gain = add(`conv${i}.norm.gain`, constantVariable([cout], 1));
        layer.shift = add(`conv${i}.norm.shift`, constantVariable([cout], 0));
        if (config.norm === 'batch') {
          layer.runningMean = constantVariable([cout], 0, false);
          layer.runningVar = constantVariable([cout], 1, false);
          this.buffers.set(`conv${i}.norm.running_mean`, layer.runningMean);
          this.buffers.set(`conv${i}.norm.running_var`, layer.runningVar);
        }
      }
      if (i < peak) encoderWidths[i] = cout;
      else if (i > peak && !last) {
        // Decoder layer: take the deepest unused encoder output of the same width (U-Net order).
        const from = encoderWidths.lastIndexOf(cout);
        if (from >= 0) {
          layer.skipFrom = from;
          encoderWidths[from] = -1;
        }
      }
      this.layers.push(layer);
    }
  }

  get variables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Channel widths at which a decoder layer adds an encoder output (the skip connections). */
  skipWidths(): number[] {
    return this.layers.filter((l) => l.skipFrom >= 0).map((l) => l.bias.shape[0]!);
  }

  parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /** Sinusoidal features of integer timesteps, [N, timeFeatures]. */
  timeInput(t: ArrayLike<number>): tf.Tensor2D {
    return tf.tensor2d(timestepFeatures(t, this.config.timeFeatures), [t.length, this.config.timeFeatures]);
  }

  /**
   * ε̂ for noisy tokens xt [N, tokenSize] at times given as features [N, timeFeatures], conditioned
   * on prototypes [N, D]. Returns [N, tokenSize]. In 'train' mode a 'batch' norm uses the batch's
   * statistics and keeps them for commitBatchStatistics; in 'sample' mode it uses the running ones.
   */
  forward(xt: tf.Tensor2D, time: tf.Tensor2D, prototypes: tf.Tensor2D, mode: DenoiserMode = 'sample'): tf.Tensor2D {
    if (mode === 'train') this.discardBatchStatistics();
    return tf.tidy(() => {
      const p = this.params;
      const [n, size] = xt.shape;
      const preAct = tf.add(tf.matMul(time, p.get('time.w1')!), p.get('time.b1')!);
      const silu = tf.mul(preAct, tf.sigmoid(preAct)); // SiLU
      const timeScale = tf.reshape(tf.add(tf.matMul(silu, p.get('time.w2')!), p.get('time.b2')!), [n, size, 1]);
      const condLinear = this.config.conditionRank > 0 ? tf.matMul(tf.matMul(prototypes, p.get('cond.w1')!), p.get('cond.w2')!) : tf.matMul(prototypes, p.get('cond.w')!);
      const cond = tf.reshape(tf.add(condLinear, p.get('cond.b')!), [n, size, 1]);

      let h: tf.Tensor3D = tf.reshape(xt, [n, size, 1]);
      const outputs: tf.Tensor3D[] = [];
      for (const layer of this.layers) {
        // One tidy per layer frees its intermediates before the next layer runs (a gradient tape
        // keeps its own copies of what it needs), so peak memory is about one layer's worth:
        // with a 256-token chunk of 1024 values at 64 channels, each intermediate is 64 MiB.
        const input = h;
        h = tf.tidy(() => {
          const x = tf.mul(tf.add(input, cond), timeScale) as tf.Tensor3D;
          if (mode === 'sample' && Denoiser.fastLayers && this.config.norm === 'batch' && layer.gain && layer.shift) {
            const y = this.foldedLayer(x, layer);
            return (layer.skipFrom >= 0 ? tf.add(y, outputs[layer.skipFrom]!) : y) as tf.Tensor3D;
          }
          let y: tf.Tensor = tf.add(tf.conv1d(x, layer.kernel as tf.Tensor3D, 1, 'same'), layer.bias);
          if (layer.gain && layer.shift) {
            if (mode === 'train' && Denoiser.fastLayers && this.config.norm === 'batch') y = this.trainingBatchNorm(y as tf.Tensor3D, layer);
            else {
              if (this.config.norm === 'batch') y = this.batchNorm(y, layer, mode);
              else if (this.config.norm === 'channel') {
                // Norm over the channels at each position (a LayerNorm per position).
                const { mean, variance } = tf.moments(y, -1, true);
                y = tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, NORM_EPSILON)));
              }
              y = tf.add(tf.mul(y, layer.gain), layer.shift);
            }
            y = tf.elu(y);
          }
          if (layer.skipFrom >= 0) y = tf.add(y, outputs[layer.skipFrom]!);
          return y as tf.Tensor3D;
        });
        outputs.push(h);
      }
      return tf.reshape(h, [n, size]) as tf.Tensor2D;
    });
  }

  /**
   * A sampling layer in one kernel: with running statistics, conv + bias → BatchNorm → gain, shift is
   * one affine map per output channel, so it folds into the conv's kernel and bias, and the ELU
   * runs inside the fused conv. Generation spent most of its time in those per-element passes
   * (about ten over every [tokens, positions, channels] activation per layer; now one).
   */
  private foldedLayer(x: tf.Tensor3D, layer: ConvLayer): tf.Tensor3D {
    const [n, size, cin] = x.shape;
    const cout = layer.bias.shape[0]!;
    const scale = tf.div(layer.gain!, tf.sqrt(tf.add(layer.runningVar!, NORM_EPSILON)));
    const bias = tf.add(tf.mul(tf.sub(layer.bias, layer.runningMean!), scale), layer.shift!) as tf.Tensor1D;
    const kernel = tf.reshape(tf.mul(layer.kernel, scale), [1, this.config.kernelSize, cin, cout]) as tf.Tensor4D;
    const y = tf.fused.conv2d({ x: tf.reshape(x, [n, 1, size, cin]) as tf.Tensor4D, filter: kernel, strides: 1, pad: 'same', bias, activation: 'elu' });
    return tf.reshape(y, [n, size, cout]) as tf.Tensor3D;
  }

  /**
   * BatchNorm with the batch's statistics, then gain and shift, differentiated by hand: the textbook
   * gradient needs two channel sums (Σg, Σg·x̂) and a few per-element passes, where autodiff of the
   * plain form takes a reduction for every broadcast (each about as slow as a conv on wasm).
   */
  private trainingBatchNorm(y: tf.Tensor3D, layer: ConvLayer): tf.Tensor3D {
    const rows = y.shape[0] * y.shape[1];
    const normalise = tf.customGrad((...args: unknown[]) => {
      const [x, gain, shift, save] = args as [tf.Tensor3D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
      const mean = tf.mean(x, [0, 1]);
      const centered = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centered), [0, 1]);
      this.pendingStatistics.push({ layer, mean: tf.keep(mean), variance: tf.keep(variance), count: rows });
      const inverseStd = tf.rsqrt(tf.add(variance, NORM_EPSILON));
      const normalised = tf.mul(centered, inverseStd);
      save([normalised, inverseStd, gain]);
      return {
        value: tf.add(tf.mul(normalised, gain), shift) as tf.Tensor3D,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const g = (Array.isArray(dy) ? dy[0]! : dy) as tf.Tensor3D;
          const [xHat, inverse, gainSaved] = saved as [tf.Tensor3D, tf.Tensor1D, tf.Tensor1D];
          const dShift = tf.sum(g, [0, 1]);
          const dGain = tf.sum(tf.mul(g, xHat), [0, 1]);
          // dx = gain·σ⁻¹ · (g − Σg/R − x̂·Σ(g·x̂)/R)
          const inner = tf.sub(tf.sub(g, tf.div(dShift, rows)), tf.mul(xHat, tf.div(dGain, rows)));
          return [tf.mul(inner, tf.mul(gainSaved, inverse)), dGain, dShift];
        },
      };
    });
    return normalise(y, layer.gain!, layer.shift!) as tf.Tensor3D;
  }

  /**
   * Each channel of y [N, L, C] normalised over N × L. Per-position LayerNorm instead erases each
   * position's amplitude after the first conv (one input channel): on the digits zoo it trained to
   * the same loss but sampled 32% models where BatchNorm gave 85% (RPG.md, measured in PyTorch).
   */
  private batchNorm(y: tf.Tensor, layer: ConvLayer, mode: DenoiserMode): tf.Tensor {
    if (mode === 'sample') return tf.div(tf.sub(y, layer.runningMean!), tf.sqrt(tf.add(layer.runningVar!, NORM_EPSILON)));
    const { mean, variance } = tf.moments(y, [0, 1]);
    this.pendingStatistics.push({ layer, mean: tf.keep(mean), variance: tf.keep(variance), count: y.shape[0]! * y.shape[1]! });
    return tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, NORM_EPSILON)));
  }

  /**
   * Moves the running statistics towards those of the last training forward (torch's momentum 0.1,
   * unbiased variance); call once per optimiser step, after the gradients are taken.
   */
  commitBatchStatistics(): void {
    for (const { layer, mean, variance, count } of this.pendingStatistics) {
      tf.tidy(() => {
        const unbiased = tf.mul(variance, count / Math.max(count - 1, 1));
        layer.runningMean!.assign(tf.add(tf.mul(layer.runningMean!, 1 - BATCH_NORM_MOMENTUM), tf.mul(mean, BATCH_NORM_MOMENTUM)));
        layer.runningVar!.assign(tf.add(tf.mul(layer.runningVar!, 1 - BATCH_NORM_MOMENTUM), tf.mul(unbiased, BATCH_NORM_MOMENTUM)));
      });
    }
    this.discardBatchStatistics();
  }

  private discardBatchStatistics(): void {
    for (const { mean, variance } of this.pendingStatistics) tf.dispose([mean, variance]);
    this.pendingStatistics = [];
  }

  dispose(): void {
    this.discardBatchStatistics();
    tf.dispose(this.variables);
    tf.dispose([...this.buffers.values()]);
  }
}
