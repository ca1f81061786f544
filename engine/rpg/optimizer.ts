// AdamW with decoupled weight decay (w ← w·(1 − lr·wd), then the Adam step), global-norm gradient
// clipping and a cosine learning-rate schedule with linear warmup. TensorFlow.js has no AdamW.
import { tf } from '../tf.js';
import type { TensorData } from '../tensors.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay: number;
  clipNorm: number;
}

/** lr at `step` (0-based): linear warmup to `peak`, then cosine decay to 0 at `total`. */
export function cosineLearningRate(step: number, total: number, peak: number, warmup: number): number {
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup);
  const progress = Math.min(1, Math.max(0, (step - warmup) / span));
  return 0.5 * peak * (1 + Math.cos(Math.PI * progress));
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  /** Adam steps taken (for bias correction) */
  iterations = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    private readonly params: readonly tf.Variable[],
    options: AdamWOptions,
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay;
    this.clipNorm = options.clipNorm;
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  /**
   * Clips `grads` (same order as the params) to the global norm and applies one AdamW step at
   * `lr`. Returns the global norm before clipping, as a scalar tensor the caller disposes.
   */
  step(grads: readonly tf.Tensor[], lr: number): tf.Scalar {
    this.iterations++;
    const t = this.iterations;
    return tf.tidy(() => {
      const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
      // scale = clip / max(norm, clip): 1 below the threshold, no host round trip.
      const scale = tf.div(this.clipNorm, tf.maximum(norm, this.clipNorm));
      const correction1 = 1 - this.beta1 ** t;
      const correction2 = 1 - this.beta2 ** t;
      const stepSize = lr / correction1;
      const decay = 1 - lr * this.weightDecay;
      for (let i = 0; i < this.params.length; i++) {
        const g = tf.mul(grads[i]!, scale);
        const m = tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        const denom = tf.add(tf.sqrt(tf.div(v, correction2)), this.epsilon);
        const p = this.params[i]!;
        p.assign(tf.sub(tf.mul(p, decay), tf.mul(tf.div(m, denom), stepSize)));
      }
      return tf.keep(norm);
    });
  }

  /** Moments as named float32 tensors (`<prefix>m.<i>`, `<prefix>v.<i>`) for a saved state. */
  async stateTensors(prefix = 'optimizer.'): Promise<TensorData[]> {
    const out: TensorData[] = [];
    for (const [kind, list] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      for (const [i, variable] of list.entries()) {
        const values = (await variable.data()) as Float32Array;
        out.push({ name: `${prefix}${kind}.${i}`, dtype: 'F32', shape: variable.shape.slice(), data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) });
      }
    }
    return out;
  }

  /** Restores moments saved by stateTensors; `find` returns the tensor of a name or undefined. */
  loadState(find: (name: string) => Float32Array | undefined, iterations: number, prefix = 'optimizer.'): void {
    for (const [kind, list] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      list.forEach((variable, i) => {
        const values = find(`${prefix}${kind}.${i}`);
        if (!values || values.length !== variable.size) throw new Error(`saved optimizer state lacks ${prefix}${kind}.${i} of ${variable.size} values`);
        tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
      });
    }
    this.iterations = iterations;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
