// Building blocks shared by the recurrent models: parameters drawn from a seeded Rng, 3-D linear
// layers done as 2-D matMuls, norms and SiLU written from ops whose gradients exist on every backend.
import { tf } from '../../tf.js';
import type { Rng } from '../random.js';

/** A recurrent model of RPG (LSTM, Mamba, transformer): token conditions [B, L, D] → prototypes [B, L, D]. */
export interface RecurrentModel {
  forward(x: tf.Tensor3D): tf.Tensor3D;
  variables: tf.Variable[];
}

let modelCount = 0;

/** Creates uniquely named variables (tfjs refuses two variables with one name) from a seeded Rng. */
export class ParameterFactory {
  readonly variables: tf.Variable[] = [];
  private readonly prefix: string;

  constructor(
    readonly rng: Rng,
    kind: string,
  ) {
    this.prefix = `${kind}${modelCount++}`;
  }

  private add(values: Float32Array, shape: number[], name: string): tf.Variable {
    // The variable takes its own reference to the data: the initial tensor is freed here, so
    // building a model leaves nothing behind but its variables, inside tf.tidy or not.
    const initial = tf.tensor(values, shape);
    const variable = tf.variable(initial, true, `${this.prefix}/${name}`);
    initial.dispose();
    this.variables.push(variable);
    return variable;
  }

  /** uniform(−bound, bound), torch's default for Linear/LSTM with bound 1/√fan_in */
  uniform(shape: number[], bound: number, name: string): tf.Variable {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = (2 * this.rng.uniform() - 1) * bound;
    return this.add(values, shape, name);
  }

  constant(shape: number[], value: number, name: string): tf.Variable {
    return this.add(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape, name);
  }

  fromValues(values: Float32Array, shape: number[], name: string): tf.Variable {
    return this.add(values, shape, name);
  }
}

export interface Linear {
  w: tf.Variable; // [in, out]
  b: tf.Variable | null; // [out]
}

export function createLinear(params: ParameterFactory, inputs: number, outputs: number, name: string, bias = true): Linear {
  const bound = 1 / Math.sqrt(inputs);
  return {
    w: params.uniform([inputs, outputs], bound, `${name}/w`),
    b: bias ? params.uniform([outputs], bound, `${name}/b`) : null,
  };
}

/** [B, L, in] → [B, L, out] as one 2-D matMul (the broadcast 3-D matMul gradient is wrongly shaped in tfjs 4.22). */
export function linear3d(x: tf.Tensor3D, layer: Linear): tf.Tensor3D {
  const [batch, length, inputs] = x.shape;
  let y: tf.Tensor2D = tf.matMul(tf.reshape(x, [batch * length, inputs]) as tf.Tensor2D, layer.w as tf.Tensor2D);
  if (layer.b) y = tf.add(y, layer.b);
  return tf.reshape(y, [batch, length, layer.w.shape[1]!]) as tf.Tensor3D;
}

export interface Norm {
  gamma: tf.Variable;
  beta: tf.Variable | null;
}

export function createLayerNorm(params: ParameterFactory, width: number, name: string): Norm {
  return { gamma: params.constant([width], 1, `${name}/gamma`), beta: params.constant([width], 0, `${name}/beta`) };
}

export function createRmsNorm(params: ParameterFactory, width: number, name: string): Norm {
  return { gamma: params.constant([width], 1, `${name}/gamma`), beta: null };
}

const NORM_EPSILON = 1e-5;

/** LayerNorm over the last axis (or RMSNorm when the norm has no beta). */
export function applyNorm<T extends tf.Tensor>(x: T, norm: Norm): T {
  const axis = x.rank - 1;
  if (norm.beta === null) {
    const meanSquare = tf.mean(tf.square(x), axis, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, NORM_EPSILON))), norm.gamma) as T;
  }
  const centred = tf.sub(x, tf.mean(x, axis, true));
  const variance = tf.mean(tf.square(centred), axis, true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, NORM_EPSILON))), norm.gamma), norm.beta) as T;
}

export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x)) as T;
}

/**
 * [N, M, K] × [N, K, P] → [N, M, P]. On wasm, engine/backend/batch-matmul.ts runs large items on
 * XNNPACK's 2-D path inside the kernel (stock wasm 4.22 runs any batch > 1 at ~1.5 GFLOP/s), which
 * replaces the unstack/matMul/stack loop that used to live here.
 */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return tf.matMul(a, b);
}
