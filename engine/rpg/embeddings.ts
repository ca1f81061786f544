// Conditions of the recurrent model (RPG.md "Conditions and positions"): the input at token i is
// position embedding + permutation embedding (+ task embedding). Parameter values are never fed in.
import { tf } from '../tf.js';
import { EngineError } from '../errors.js';
import { Rng } from './random.js';

export interface ConditionEmbeddingConfig {
  /** channels; a multiple of 4 (two sinusoidal halves of sin/cos pairs) */
  width: number;
  tokenCount: number;
  /** per token: ordinal of its tensor among the generated tensors */
  tensorIndexOfToken: Int32Array;
  /** per token: its index inside its tensor */
  indexInTensorOfToken: Int32Array;
  /** number of permutation states (checkpoints, or runs) the generator can be asked for */
  permutationStates: number;
  /** length of the task vector; 0 = no task conditioning */
  taskBits: number;
  /** the task reaches only the last this many tokens; 0 (default) = every token */
  taskTokens?: number;
}

export class ConditionError extends EngineError {
  constructor(message: string, hint: string) {
    super('condition', message, { hint, fields: ['condition'] });
  }
}

/**
 * 2-D sinusoidal position embedding [tokenCount, width]: channels [0, width/2) encode the token's
 * index inside its tensor, [width/2, width) its tensor's index; each half interleaves
 * sin/cos pairs at frequencies exp(−2k·ln(10000)/(width/2)).
 */
export function positionEmbedding(width: number, tensorIndexOfToken: Int32Array, indexInTensorOfToken: Int32Array): Float32Array {
  if (width % 4 !== 0 || width <= 0) throw new RangeError(`position embedding width must be a positive multiple of 4, got ${width}`);
  const tokens = tensorIndexOfToken.length;
  const half = width / 2;
  const out = new Float32Array(tokens * width);
  const frequencies = Float64Array.from({ length: half / 2 }, (_, k) => Math.exp((-2 * k * Math.log(10000)) / half));
  for (let i = 0; i < tokens; i++) {
    const row = i * width;
    const inside = indexInTensorOfToken[i]!;
    const tensor = tensorIndexOfToken[i]!;
    for (let k = 0; k < half / 2; k++) {
      out[row + 2 * k] = Math.sin(inside * frequencies[k]!);
      out[row + 2 * k + 1] = Math.cos(inside * frequencies[k]!);
      out[row + half + 2 * k] = Math.sin(tensor * frequencies[k]!);
      out[row + half + 2 * k + 1] = Math.cos(tensor * frequencies[k]!);
    }
  }
  return out;
}

function randomVariable(rng: Rng, shape: number[], std: number, name: string): tf.Variable {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  rng.fillNormal(values);
  for (let i = 0; i < values.length; i++) values[i]! *= std;
  return variableFrom(tf.tensor(values, shape), name);
}

/** A variable holding `initial`'s values; `initial` is freed (the variable keeps its own reference). */
function variableFrom(initial: tf.Tensor, name: string): tf.Variable {
  const variable = tf.variable(initial, true, name);
  initial.dispose();
  return variable;
}

/**
 * One-hot rows [B, depth] of int32 states. tf.oneHot refuses depth 1 ("depth must be ≥2"), which a
 * zoo of a single checkpoint has; comparing against 0…depth−1 gives the same 0/1 values at any depth.
 */
function oneHotRows(states: tf.Tensor1D, depth: number): tf.Tensor2D {
  const columns = tf.range(0, depth, 1, 'int32');
  return tf.cast(tf.equal(tf.reshape(states, [-1, 1]), tf.reshape(columns, [1, depth])), 'float32') as tf.Tensor2D;
}

let instances = 0;

export class ConditionEmbedding {
  readonly cfg: ConditionEmbeddingConfig;
  /** fixed [1, L, width] */
  readonly position: tf.Tensor3D;
  /** learned [permutationStates, width] */
  readonly permutationTable: tf.Variable;
  /** task MLP taskBits → width → width (SiLU between), present when taskBits > 0 */
  readonly task: { w1: tf.Variable; b1: tf.Variable; w2: tf.Variable; b2: tf.Variable } | null;
  readonly variables: tf.Variable[];

  constructor(cfg: ConditionEmbeddingConfig, seed: number) {
    const { width, tokenCount, permutationStates, taskBits } = cfg;
    if (cfg.tensorIndexOfToken.length !== tokenCount || cfg.indexInTensorOfToken.length !== tokenCount) {
      throw new RangeError(`token positions cover ${cfg.tensorIndexOfToken.length}/${cfg.indexInTensorOfToken.length} tokens, expected ${tokenCount}`);
    }
    if (width % 4 !== 0 || width <= 0) {
      throw new ConditionError(`the recurrent width must be a positive multiple of 4, got ${width}`, 'set the generator config width to e.g. 256');
    }
    if (!Number.isInteger(permutationStates) || permutationStates < 1) {
      throw new ConditionError(`a generator needs at least one permutation state, got ${permutationStates}`, 'the zoo must hold checkpoints');
    }
    if (!Number.isInteger(taskBits) || taskBits < 0) throw new ConditionError(`task bits must be a non-negative integer, got ${taskBits}`, 'set taskBits to 0 for no task conditioning');
    this.cfg = cfg;
    const id = instances++;
    const rng = new Rng(seed);
    // kept: callers may construct inside tf.tidy
    this.position = tf.keep(tf.tensor3d(positionEmbedding(width, cfg.tensorIndexOfToken, cfg.indexInTensorOfToken), [1, tokenCount, width]));
    // N(0, 1) like torch.nn.Embedding: the same scale as the sinusoids it is added to.
    this.permutationTable = randomVariable(rng, [permutationStates, width], 1, `condition${id}/permutation`);
    this.variables = [this.permutationTable];
    if (taskBits > 0) {
      this.task = {
        w1: randomVariable(rng, [taskBits, width], Math.sqrt(1 / taskBits), `condition${id}/task_w1`),
        b1: variableFrom(tf.zeros([width]), `condition${id}/task_b1`),
        w2: randomVariable(rng, [width, width], Math.sqrt(1 / width), `condition${id}/task_w2`),
        b2: variableFrom(tf.zeros([width]), `condition${id}/task_b2`),
      };
      this.variables.push(this.task.w1, this.task.b1, this.task.w2, this.task.b2);
    } else {
      this.task = null;
    }
  }

  /** Refuses permutation states outside the table (oneHot would silently give a zero vector). */
  checkPermutationStates(states: ArrayLike<number>): void {
    for (let i = 0; i < states.length; i++) {
      const s = states[i]!;
      if (!Number.isInteger(s) || s < 0 || s >= this.cfg.permutationStates) {
        throw new ConditionError(
          `permutation state ${s} does not exist: this generator knows states 0…${this.cfg.permutationStates - 1}`,
          `pick a permutation state between 0 and ${this.cfg.permutationStates - 1}`,
        );
      }
    }
  }

  /** permState int32 [B], task [B, taskBits] or null → recurrent input [B, L, width] */
  forward(permState: tf.Tensor1D, task: tf.Tensor2D | null): tf.Tensor3D {
    const { width, permutationStates, taskBits } = this.cfg;
    if (task !== null && this.task === null) {
      throw new ConditionError('a task vector was given to a generator trained without task conditioning', "generate without 'condition', or train with taskBits > 0");
    }
    if (task === null && this.task !== null) {
      throw new ConditionError(`this generator is conditioned on a task: give a task vector of ${taskBits} bits`, "give 'condition' with one bit per class");
    }
    if (task !== null && (task.shape[1] !== taskBits || task.shape[0] !== permState.shape[0])) {
      throw new ConditionError(`task vectors have shape [${task.shape.join(', ')}], expected [${permState.shape[0]}, ${taskBits}]`, `give ${taskBits} bits per task`);
    }
    return tf.tidy(() => {
      const batch = permState.shape[0];
      // oneHot·matMul instead of gather: wasm has no gradient kernel for gather.
      const permutation: tf.Tensor2D = tf.matMul(oneHotRows(permState, permutationStates), this.permutationTable as tf.Tensor2D);
      const perToken = (rows: tf.Tensor2D) => tf.reshape(rows, [batch, 1, width]);
      if (task === null || this.task === null) return tf.add(this.position, perToken(permutation)) as tf.Tensor3D;
      const { w1, b1, w2, b2 } = this.task;
      const hidden = tf.add(tf.matMul(task, w1 as tf.Tensor2D), b1);
      const silu = tf.mul(hidden, tf.sigmoid(hidden));
      const taskEmbedding = tf.add(tf.matMul(silu as tf.Tensor2D, w2 as tf.Tensor2D), b2) as tf.Tensor2D;
      const { tokenCount, taskTokens = 0 } = this.cfg;
      // ParamZoo's default: the task reaches every token.
      if (taskTokens === 0 || taskTokens >= tokenCount) return tf.add(this.position, perToken(tf.add(permutation, taskEmbedding))) as tf.Tensor3D;
      // The reference's choice: only the last `taskTokens` tokens see the task.
      const onLast = tf.tensor3d(
        Float32Array.from({ length: tokenCount }, (_, i) => (i >= tokenCount - taskTokens ? 1 : 0)),
        [1, tokenCount, 1],
      );
      return tf.add(tf.add(this.position, perToken(permutation)), tf.mul(perToken(taskEmbedding), onLast)) as tf.Tensor3D;
    });
  }

  dispose(): void {
    this.position.dispose();
    for (const v of this.variables) v.dispose();
  }
}
