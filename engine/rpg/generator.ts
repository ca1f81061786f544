// The RPG generator (RPG.md): ConditionEmbedding (position + permutation state [+ task]) →
// recurrent model → prototypes [B, L, D] → the shared 1-D conv denoiser, one token at a time.
// Its whole state (variables, optimizer moments, step, RNG, loss curve) saves as named tensors +
// JSON metadata, which the caller stores as one safetensors blob.
import { tf } from '../tf.js';
import type { TensorData } from '../tensors.js';
import { EngineError } from '../errors.js';
import { validateConfig, type RpgConfig } from './config.js';
import { Denoiser } from './denoiser.js';
import { ConditionEmbedding } from './embeddings.js';
import { Rng } from './random.js';
import { createRecurrent, type RecurrentModel } from './recurrent/index.js';

/** Where each token sits, and which conditions exist: fixed by the zoo. */
export interface GeneratorShape {
  tokenCount: number;
  tensorIndexOfToken: Int32Array;
  indexInTensorOfToken: Int32Array;
  permutationStates: number;
  /** 0 = not conditioned on a task */
  taskBits: number;
}

export interface ConditionModel {
  forward(permState: tf.Tensor1D, task: tf.Tensor2D | null): tf.Tensor3D;
  variables: tf.Variable[];
  /** frees the variables and any constant tensors (e.g. the position table) */
  dispose?(): void;
}

/** Replaces parts of the generator (tests, experiments); absent parts are built from the config. */
export interface GeneratorParts {
  condition?: ConditionModel;
  recurrent?: RecurrentModel;
}

export class GeneratorStateError extends EngineError {
  constructor(problem: string) {
    super('generator_state', `saved generator state is unusable: ${problem}`, { hint: 'the run blob is damaged or from another version; train the generator again' });
  }
}

export const STATE_METADATA_KEY = 'paramzoo.rpg';

/** JSON kept in the blob's metadata under STATE_METADATA_KEY. */
export interface StateMetadata {
  version: 1;
  config: RpgConfig;
  shape: { tokenCount: number; permutationStates: number; taskBits: number };
  step: number;
  rng: number[];
  optimizerIterations: number;
  variableCount: number;
  valueRange: number;
}

export interface GeneratorState {
  tensors: TensorData[];
  metadata: Record<string, string>;
}

export class RpgGenerator {
  readonly condition: ConditionModel;
  readonly recurrent: RecurrentModel;
  readonly denoiser: Denoiser;
  /** largest |value| of the (normalised) training tokens seen so far; 0 = unknown */
  valueRange = 0;

  constructor(
    readonly config: RpgConfig,
    readonly shape: GeneratorShape,
    parts: GeneratorParts = {},
  ) {
    const { tokenCount, tensorIndexOfToken, indexInTensorOfToken, permutationStates, taskBits } = shape;
    if (tensorIndexOfToken.length !== tokenCount || indexInTensorOfToken.length !== tokenCount) {
      throw new GeneratorStateError(`token positions cover ${tensorIndexOfToken.length} tokens, the layout has ${tokenCount}`);
    }
    this.condition =
      parts.condition ??
      new ConditionEmbedding({ width: config.recurrentWidth, tokenCount, tensorIndexOfToken, indexInTensorOfToken, permutationStates, taskBits, taskTokens: config.taskTokens }, config.seed * 4 + 1);
    this.recurrent =
      parts.recurrent ??
      createRecurrent(config.recurrent, { width: config.recurrentWidth, layers: config.recurrentLayers, dState: config.dState, lstmResidual: config.lstmResidual }, config.seed * 4 + 2);
    this.denoiser = new Denoiser(
      {
        tokenSize: config.tokenSize,
        prototypeWidth: config.recurrentWidth,
        channels: config.denoiserChannels,
        kernelSize: config.kernelSize,
        timeFeatures: config.timeFeatures,
        timeHidden: config.timeHidden,
        conditionRank: config.conditionRank,
        norm: config.denoiserNorm,
      },
      new Rng(config.seed * 4 + 3),
    );
  }

  /** Every trainable variable with a stable name, in save order. */
  namedVariables(): [string, tf.Variable][] {
    return [
      ...this.condition.variables.map((v, i): [string, tf.Variable] => [`condition.${i}`, v]),
      ...this.recurrent.variables.map((v, i): [string, tf.Variable] => [`recurrent.${i}`, v]),
      ...[...this.denoiser.params].map(([name, v]): [string, tf.Variable] => [`denoiser.${name}`, v]),
    ];
  }

  get variables(): tf.Variable[] {
    return this.namedVariables().map(([, v]) => v);
  }

  /** State that is saved but not trained (the denoiser's BatchNorm running statistics). */
  namedBuffers(): [string, tf.Variable][] {
    return [...this.denoiser.buffers].map(([name, v]): [string, tf.Variable] => [`denoiser.${name}`, v]);
  }

  parameterCounts(): { condition: number; recurrent: number; denoiser: number } {
    const count = (vs: tf.Variable[]) => vs.reduce((n, v) => n + v.size, 0);
    return { condition: count(this.condition.variables), recurrent: count(this.recurrent.variables), denoiser: this.denoiser.parameterCount() };
  }

  /** Prototypes [B, L, D] for B (permutation state, task) pairs; task is [B·taskBits] or null. */
  prototypes(permutationStates: Int32Array, tasks: Float32Array | null): tf.Tensor3D {
    return tf.tidy(() => {
      const b = permutationStates.length;
      const task = tasks && this.shape.taskBits > 0 ? tf.tensor2d(tasks, [b, this.shape.taskBits]) : null;
      const inputs = this.condition.forward(tf.tensor1d(permutationStates, 'int32'), task);
      return this.recurrent.forward(inputs);
    });
  }

  /** ε̂ for noisy tokens [N, S] at integer times t, given their prototypes [N, D]. */
  predictNoise(xt: tf.Tensor2D, t: ArrayLike<number>, prototypes: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.denoiser.forward(xt, this.denoiser.timeInput(t), prototypes));
  }

  dispose(): void {
    const parts = [this.condition, this.recurrent] as Array<{ dispose?(): void; variables: tf.Variable[] }>;
    for (const part of parts) {
      if (part.dispose) part.dispose();
      else tf.dispose(part.variables);
    }
    this.denoiser.dispose();
  }
}

export function float32Data(name: string, values: Float32Array, shape: number[]): TensorData {
  return { name, dtype: 'F32', shape, data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
}

function int32Data(name: string, values: Int32Array): TensorData {
  return { name, dtype: 'I32', shape: [values.length], data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
}

/** Copies a TensorData's bytes into an aligned typed array. */
function readFloat32(tensor: TensorData): Float32Array {
  const copy = tensor.data.slice();
  return new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4);
}

function readInt32(tensor: TensorData): Int32Array {
  const copy = tensor.data.slice();
  return new Int32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4);
}

/** The generator's variables + `extra` tensors, with the metadata JSON. */
export async function saveGeneratorState(generator: RpgGenerator, training: { step: number; rng: number[]; optimizerIterations: number; extraTensors: TensorData[] }): Promise<GeneratorState> {
  const named = generator.namedVariables();
  const tensors: TensorData[] = [];
  for (const [name, v] of [...named, ...generator.namedBuffers()]) tensors.push(float32Data(`generator.${name}`, (await v.data()) as Float32Array, v.shape.slice()));
  tensors.push(int32Data('layout.tensor_index_of_token', generator.shape.tensorIndexOfToken));
  tensors.push(int32Data('layout.index_in_tensor_of_token', generator.shape.indexInTensorOfToken));
  tensors.push(...training.extraTensors);
  const meta: StateMetadata = {
    version: 1,
    config: generator.config,
    shape: { tokenCount: generator.shape.tokenCount, permutationStates: generator.shape.permutationStates, taskBits: generator.shape.taskBits },
    step: training.step,
    rng: training.rng,
    optimizerIterations: training.optimizerIterations,
    variableCount: named.length,
    valueRange: generator.valueRange,
  };
  return { tensors, metadata: { [STATE_METADATA_KEY]: JSON.stringify(meta) } };
}

export interface LoadedGenerator {
  generator: RpgGenerator;
  meta: StateMetadata;
  /** float32 values of any saved tensor by name (optimizer moments, loss curve) */
  find(name: string): Float32Array | undefined;
}

/** Rebuilds a generator from a saved state, checking every variable's presence and shape. */
/** `overrides`: training settings changed on resume (e.g. more `steps` to continue a finished run). */
export function loadGeneratorState(state: GeneratorState, parts: GeneratorParts = {}, overrides: Partial<RpgConfig> = {}): LoadedGenerator {
  const raw = state.metadata[STATE_METADATA_KEY];
  if (raw === undefined) throw new GeneratorStateError(`metadata key '${STATE_METADATA_KEY}' is missing`);
  let meta: StateMetadata;
  try {
    meta = JSON.parse(raw) as StateMetadata;
  } catch {
    throw new GeneratorStateError(`metadata '${STATE_METADATA_KEY}' is not JSON`);
  }
  if (meta.version !== 1) throw new GeneratorStateError(`version ${String(meta.version)} is not supported`);
  // Generators saved before `lstmResidual` existed used the residual LSTM form.
  const config = validateConfig({ ...meta.config, lstmResidual: meta.config.lstmResidual ?? true, ...overrides });
  const byName = new Map(state.tensors.map((t) => [t.name, t]));
  const positionsA = byName.get('layout.tensor_index_of_token');
  const positionsB = byName.get('layout.index_in_tensor_of_token');
  if (!positionsA || !positionsB) throw new GeneratorStateError('token positions are missing');
  const generator = new RpgGenerator(
    config,
    {
      ...meta.shape,
      tensorIndexOfToken: readInt32(positionsA),
      indexInTensorOfToken: readInt32(positionsB),
    },
    parts,
  );
  try {
    const named = generator.namedVariables();
    if (named.length !== meta.variableCount) throw new GeneratorStateError(`${meta.variableCount} variables saved, this build has ${named.length}`);
    for (const [name, variable] of [...named, ...generator.namedBuffers()]) {
      const saved = byName.get(`generator.${name}`);
      if (saved?.dtype !== 'F32' || !tf.util.arraysEqual(saved.shape, variable.shape)) {
        throw new GeneratorStateError(`variable '${name}' [${variable.shape.join(', ')}] is missing or has another shape`);
      }
      tf.tidy(() => variable.assign(tf.tensor(readFloat32(saved), variable.shape)));
    }
  } catch (error) {
    generator.dispose();
    throw error;
  }
  generator.valueRange = Number.isFinite(meta.valueRange) ? meta.valueRange : 0;
  const find = (name: string) => {
    const t = byName.get(name);
    return t && t.dtype === 'F32' ? readFloat32(t) : undefined;
  };
  return { generator, meta, find };
}
