// RPG tokenization (RPG.md "Tokenization"): each generated tensor is normalised with one scalar
// mean and std (averaged over the zoo), flattened and cut into tokens of `tokenSize` values; the
// last token of a tensor is padded (mask 0). A token never spans two tensors; the order is the
// signature's (state_dict) order. Integer and `num_batches_tracked` tensors are not generated: they
// are copied verbatim from the zoo's first checkpoint on reassembly. A one-element float tensor (a
// single-output head's bias: it sets the decision threshold) is generated, normalised by its spread
// across the checkpoints; generators trained before it was (their statistics lack it) still copy it.
//
// Everything works one checkpoint at a time, so a zoo larger than memory can be streamed.
import type { DType, TensorSignature } from '../protocol.js';
import { elementCount, fromFloat32Array, toFloat32Array, type TensorData } from '../tensors.js';
import { EngineError } from '../errors.js';

export class TokenizerError extends EngineError {
  constructor(message: string, hint = 'every checkpoint of a zoo must have the zoo signature; re-import the checkpoint or start a new zoo') {
    super('tokenizer', message, { hint });
  }
}

export type TokenTransform = 'none' | 'logvar';

/** Per-tensor normalisation constants, float64, averaged over the zoo's checkpoints. */
export interface TensorStats {
  mean: number;
  std: number;
  /** logvar transform scale: 0.95 · mean(running_var) over the zoo */
  p?: number;
}

/** JSON-safe; stored with a generator run so generation de-normalises exactly as training normalised. */
export interface ZooStats {
  checkpoints: number;
  tensors: Record<string, TensorStats>;
}

export interface TokenTensor {
  name: string;
  dtype: DType;
  shape: number[];
  numel: number;
  /** index of the tensor's first token (for a skipped tensor: where it would start; it has none) */
  firstToken: number;
  tokenCount: number;
  generated: boolean;
  transform: TokenTransform;
  mean: number;
  std: number;
  p?: number;
}

export interface TokenLayout {
  tokenSize: number;
  tensors: TokenTensor[];
  tokenCount: number;
}

/** Position of every token for the position embedding. */
export interface TokenPositions {
  /** ordinal of the token's tensor among the generated tensors */
  tensorIndexOfToken: Int32Array;
  /** index of the token inside its tensor (0 for its first token) */
  indexInTensorOfToken: Int32Array;
}

// Shifts BN running variances away from zero before the log (RPG reference constants).
const LOGVAR_SHIFT = 0.05;
const LOGVAR_FLOOR = 0.001;
const LOGVAR_P_FACTOR = 0.95;
// Float32Array and tfjs tensors index with 32-bit integers.
const MAX_TOKEN_VALUES = 2 ** 31 - 1;

const INTEGER_DTYPES: ReadonlySet<DType> = new Set(['I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']);

function numelOf(signature: TensorSignature): number {
  const numel = elementCount(signature.shape);
  if (numel === null) throw new TokenizerError(`tensor '${signature.name}' has an impossible shape [${signature.shape.join(', ')}]`);
  return numel;
}

/** Whether RPG generates this tensor (otherwise it is copied from the first checkpoint). */
export function isGenerated(signature: TensorSignature): boolean {
  if (INTEGER_DTYPES.has(signature.dtype)) return false;
  if (signature.name.endsWith('num_batches_tracked')) return false;
  return numelOf(signature) > 0;
}

function isRunningVar(name: string): boolean {
  return name.endsWith('running_var');
}

/** float64 mean and population std of one tensor's values. */
function momentsOf(values: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i]! - mean;
    squares += d * d;
  }
  return { mean, std: Math.sqrt(squares / values.length) };
}

function logvarForward(v: number, p: number): number {
  return Math.log(v / p + LOGVAR_SHIFT);
}

/** Variances below 0.001·p come back as 0.001·p; others within a few float32 ulps of (v + 0.05·p). */
function logvarInverse(x: number, p: number): number {
  return Math.max(Math.exp(x) - LOGVAR_SHIFT, LOGVAR_FLOOR) * p;
}

function checkTensor(name: string, numel: number, values: Float32Array | undefined, where: string): Float32Array {
  if (values === undefined) throw new TokenizerError(`${where} has no tensor '${name}'`);
  if (values.length !== numel) throw new TokenizerError(`${where}: tensor '${name}' has ${values.length} values, the signature says ${numel}`);
  return values;
}

function checkFinite(name: string, values: Float32Array, where: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new TokenizerError(
        `${where}: tensor '${name}' holds a non-finite value (${values[i]}) at index ${i}`,
        'a checkpoint with NaN or infinite weights cannot be learned from; remove it from the zoo',
      );
    }
  }
}

/**
 * Accumulates per-tensor statistics one checkpoint at a time. Only the BN running variances are
 * kept until the end (their logvar transform needs p, a zoo-wide mean, before their std can be
 * taken); they are one value per channel, a small fraction of any model.
 */
export class ZooStatsAccumulator {
  private readonly generated: Array<{ name: string; numel: number; logvar: boolean }>;
  private readonly sums = new Map<string, { mean: number; std: number }>();
  /** one-element tensors: their std within a checkpoint is 0, so their spread is taken across checkpoints */
  private readonly squares = new Map<string, number>();
  private readonly runningVars = new Map<string, Float32Array[]>();
  private count = 0;

  constructor(signature: TensorSignature[]) {
    this.generated = signature.filter(isGenerated).map((s) => ({ name: s.name, numel: numelOf(s), logvar: isRunningVar(s.name) }));
    for (const t of this.generated) {
      if (t.logvar) this.runningVars.set(t.name, []);
      else this.sums.set(t.name, { mean: 0, std: 0 });
    }
  }

  /** Adds one checkpoint: float32 values of (at least) every generated tensor. */
  add(tensors: Map<string, Float32Array>, label = `checkpoint ${this.count + 1}`): void {
    // Validate the whole checkpoint first so a bad one changes nothing.
    for (const t of this.generated) checkFinite(t.name, checkTensor(t.name, t.numel, tensors.get(t.name), label), label);
    for (const t of this.generated) {
      const values = tensors.get(t.name)!;
      if (t.logvar) {
        this.runningVars.get(t.name)!.push(Float32Array.from(values));
      } else {
        const m = momentsOf(values);
        const acc = this.sums.get(t.name)!;
        acc.mean += m.mean;
        acc.std += m.std;
        if (t.numel === 1) this.squares.set(t.name, (this.squares.get(t.name) ?? 0) + m.mean * m.mean);
      }
    }
    this.count++;
  }

  result(): ZooStats {
    if (this.count === 0) throw new TokenizerError('the zoo has no checkpoints: statistics need at least one', 'add checkpoints to the zoo first');
    const tensors: Record<string, TensorStats> = {};
    for (const t of this.generated) {
      if (t.logvar) {
        const copies = this.runningVars.get(t.name)!;
        let meanVar = 0;
        for (const v of copies) meanVar += momentsOf(v).mean;
        const p = (LOGVAR_P_FACTOR * meanVar) / copies.length;
        if (p > 0) {
          let mean = 0;
          let std = 0;
          for (const v of copies) {
            const m = momentsOf(Array.from(v, (x) => logvarForward(x, p)));
            mean += m.mean;
            std += m.std;
          }
          tensors[t.name] = { mean: mean / copies.length, std: usableStd(std / copies.length), p };
        } else {
          // All-zero variances: the log has no scale to work with, normalise plainly.
          const m = copies.map((v) => momentsOf(v));
          tensors[t.name] = {
            mean: m.reduce((a, b) => a + b.mean, 0) / copies.length,
            std: usableStd(m.reduce((a, b) => a + b.std, 0) / copies.length),
          };
        }
      } else {
        const acc = this.sums.get(t.name)!;
        const mean = acc.mean / this.count;
        const std = t.numel === 1 ? Math.sqrt(Math.max(0, this.squares.get(t.name)! / this.count - mean * mean)) : acc.std / this.count;
        tensors[t.name] = { mean, std: usableStd(std) };
      }
    }
    return { checkpoints: this.count, tensors };
  }
}

/** A tensor constant in every checkpoint (std 0) is normalised by 1: its values become x − mean. */
function usableStd(std: number): number {
  return std > 0 && Number.isFinite(std) ? std : 1;
}

/** Statistics over a zoo streamed checkpoint by checkpoint. */
export async function computeZooStats(signature: TensorSignature[], checkpoints: AsyncIterable<Map<string, Float32Array>> | Iterable<Map<string, Float32Array>>): Promise<ZooStats> {
  const acc = new ZooStatsAccumulator(signature);
  for await (const tensors of checkpoints) acc.add(tensors);
  return acc.result();
}

export function buildLayout(signature: TensorSignature[], stats: ZooStats, tokenSize: number): TokenLayout {
  if (!Number.isSafeInteger(tokenSize) || tokenSize < 1) {
    throw new TokenizerError(`token size must be a positive integer, got ${tokenSize}`, 'set the generator config tokenSize to e.g. 256');
  }
  const seen = new Set<string>();
  const tensors: TokenTensor[] = [];
  let tokenCount = 0;
  for (const s of signature) {
    if (seen.has(s.name)) throw new TokenizerError(`the signature names tensor '${s.name}' twice`);
    seen.add(s.name);
    const numel = numelOf(s);
    const base = { name: s.name, dtype: s.dtype, shape: [...s.shape], numel, firstToken: tokenCount };
    const st = stats.tensors[s.name];
    // Statistics without a one-element tensor: a generator from before those were generated.
    if (!isGenerated(s) || (numel === 1 && st === undefined)) {
      tensors.push({ ...base, tokenCount: 0, generated: false, transform: 'none', mean: 0, std: 1 });
      continue;
    }
    if (st === undefined || !Number.isFinite(st.mean) || !(st.std > 0)) {
      throw new TokenizerError(`the zoo statistics have no usable mean/std for tensor '${s.name}'`, 'recompute the statistics from the zoo (they must come from the same signature)');
    }
    const count = Math.ceil(numel / tokenSize);
    const entry: TokenTensor = { ...base, tokenCount: count, generated: true, transform: st.p === undefined ? 'none' : 'logvar', mean: st.mean, std: st.std };
    if (st.p !== undefined) entry.p = st.p;
    tensors.push(entry);
    tokenCount += count;
  }
  if (tokenCount * tokenSize > MAX_TOKEN_VALUES) {
    throw new TokenizerError(
      `${tokenCount} tokens of ${tokenSize} values exceed the 2^31 values a token sequence can hold`,
      'use fewer parameters per zoo (e.g. generate LoRA/DoRA adapters) or a smaller model',
    );
  }
  return { tokenSize, tensors, tokenCount };
}

export function tokenPositions(layout: TokenLayout): TokenPositions {
  const tensorIndexOfToken = new Int32Array(layout.tokenCount);
  const indexInTensorOfToken = new Int32Array(layout.tokenCount);
  let ordinal = 0;
  for (const t of layout.tensors) {
    if (!t.generated) continue;
    for (let k = 0; k < t.tokenCount; k++) {
      tensorIndexOfToken[t.firstToken + k] = ordinal;
      indexInTensorOfToken[t.firstToken + k] = k;
    }
    ordinal++;
  }
  return { tensorIndexOfToken, indexInTensorOfToken };
}

/** Normalised value of one raw value (float64; the caller rounds to float32). */
function normalise(t: TokenTensor, x: number): number {
  const y = t.transform === 'logvar' ? logvarForward(x, t.p!) : x;
  return (y - t.mean) / t.std;
}

function denormalise(t: TokenTensor, z: number): number {
  const y = z * t.std + t.mean;
  return t.transform === 'logvar' ? logvarInverse(y, t.p!) : y;
}

/**
 * One checkpoint → tokens [tokenCount × tokenSize] and mask (1 on values, 0 on padding).
 * `tensors` holds the float32 values of every generated tensor (extra entries are ignored).
 *
 * Exactness: the mean and std are float64 and the arithmetic is float64, but a token is float32,
 * so a value x comes back (detokenize) within 2^-24·(|x − mean| + |x|) (≤ 1 ulp of the larger of
 * the two); it comes back bit-identical whenever |x − mean| < |x|/2, i.e. for every value not
 * close to the mean relative to its own size. Transformed (logvar) values: see logvarInverse.
 */
export function tokenize(layout: TokenLayout, tensors: Map<string, Float32Array>, label = 'the checkpoint'): { tokens: Float32Array; mask: Float32Array } {
  const { tokenSize } = layout;
  for (const t of layout.tensors) if (t.generated) checkTensor(t.name, t.numel, tensors.get(t.name), label);
  const tokens = new Float32Array(layout.tokenCount * tokenSize);
  const mask = new Float32Array(layout.tokenCount * tokenSize);
  for (const t of layout.tensors) {
    if (!t.generated) continue;
    const values = tensors.get(t.name)!;
    const offset = t.firstToken * tokenSize;
    for (let i = 0; i < t.numel; i++) {
      const z = normalise(t, values[i]!);
      if (!Number.isFinite(z)) {
        throw new TokenizerError(
          `${label}: tensor '${t.name}' value ${values[i]} at index ${i} cannot be normalised${t.transform === 'logvar' ? ' (a BN running variance must not be negative)' : ''}`,
          'a checkpoint with NaN, infinite or negative-variance values cannot be learned from; remove it from the zoo',
        );
      }
      tokens[offset + i] = z;
    }
    mask.fill(1, offset, offset + t.numel);
  }
  return { tokens, mask };
}

/** The padding mask alone (identical for every checkpoint of a zoo). */
export function tokenMask(layout: TokenLayout): Float32Array {
  const mask = new Float32Array(layout.tokenCount * layout.tokenSize);
  for (const t of layout.tensors) if (t.generated) mask.fill(1, t.firstToken * layout.tokenSize, t.firstToken * layout.tokenSize + t.numel);
  return mask;
}

/** De-normalised float32 values of one generated tensor from its tokens (padding dropped). */
function tensorValues(t: TokenTensor, tokens: Float32Array, tokenOffset: number, tokenSize: number): Float32Array {
  const out = new Float32Array(t.numel);
  const base = (t.firstToken - tokenOffset) * tokenSize;
  for (let i = 0; i < t.numel; i++) out[i] = denormalise(t, tokens[base + i]!);
  return out;
}

function checkSkipped(t: TokenTensor, skipped: Map<string, TensorData>): TensorData {
  const data = skipped.get(t.name);
  if (data === undefined) throw new TokenizerError(`tensor '${t.name}' is not generated and was not given to copy from the first checkpoint`);
  if (data.dtype !== t.dtype || data.shape.length !== t.shape.length || data.shape.some((d, i) => d !== t.shape[i])) {
    throw new TokenizerError(`tensor '${t.name}' to copy is ${data.dtype}[${data.shape.join(', ')}], the signature says ${t.dtype}[${t.shape.join(', ')}]`);
  }
  return { name: t.name, dtype: t.dtype, shape: [...t.shape], data: data.data };
}

function generatedTensor(t: TokenTensor, values: Float32Array): TensorData {
  return { name: t.name, dtype: t.dtype, shape: [...t.shape], data: fromFloat32Array(t.dtype, values) };
}

/** Whole sequence of tokens → every tensor of the signature, in order, with names, shapes and dtypes. */
export function detokenize(layout: TokenLayout, tokens: Float32Array, skipped: Map<string, TensorData>): TensorData[] {
  if (tokens.length !== layout.tokenCount * layout.tokenSize) {
    throw new TokenizerError(`got ${tokens.length} token values, the layout needs ${layout.tokenCount} tokens of ${layout.tokenSize}`);
  }
  const stream = new Detokenizer(layout, skipped);
  const out = stream.push(tokens);
  stream.finish();
  return out;
}

/**
 * Streaming reassembly: push whole tokens in order (any number per chunk); each call returns the
 * tensors completed by that chunk (skipped tensors come out at their place in the order).
 * Holds at most one tensor's tokens beyond the chunk being pushed.
 */
export class Detokenizer {
  private next = 0; // index into layout.tensors of the next tensor to emit
  private pending: Float32Array[] = []; // tokens of the current, incomplete tensor
  private pendingTokens = 0;
  private received = 0;

  constructor(
    private readonly layout: TokenLayout,
    private readonly skipped: Map<string, TensorData>,
  ) {
    for (const t of layout.tensors) if (!t.generated) checkSkipped(t, skipped);
  }

  push(chunk: Float32Array): TensorData[] {
    const { tokenSize, tokenCount } = this.layout;
    if (chunk.length % tokenSize !== 0) throw new TokenizerError(`a chunk of ${chunk.length} values is not a whole number of ${tokenSize}-value tokens`);
    const count = chunk.length / tokenSize;
    if (this.received + count > tokenCount) throw new TokenizerError(`got ${this.received + count} tokens, the layout has ${tokenCount}`);
    this.received += count;
    if (count > 0) {
      this.pending.push(chunk);
      this.pendingTokens += count;
    }
    return this.emitReady();
  }

  /** Checks that every token arrived; returns the trailing skipped tensors, if any. */
  finish(): TensorData[] {
    if (this.received !== this.layout.tokenCount) {
      throw new TokenizerError(`got ${this.received} tokens, the layout has ${this.layout.tokenCount}`);
    }
    return this.emitReady();
  }

  private emitReady(): TensorData[] {
    const { tensors, tokenSize } = this.layout;
    const out: TensorData[] = [];
    while (this.next < tensors.length) {
      const t = tensors[this.next]!;
      if (!t.generated) {
        out.push(checkSkipped(t, this.skipped));
        this.next++;
        continue;
      }
      if (this.pendingTokens < t.tokenCount) break;
      const joined = this.pending.length === 1 ? this.pending[0]! : concat(this.pending, this.pendingTokens * tokenSize);
      // joined starts at token t.firstToken
      out.push(generatedTensor(t, tensorValues(t, joined, t.firstToken, tokenSize)));
      const rest = this.pendingTokens - t.tokenCount;
      this.pending = rest > 0 ? [joined.subarray(t.tokenCount * tokenSize)] : [];
      this.pendingTokens = rest;
      this.next++;
    }
    return out;
  }
}

function concat(parts: Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * One checkpoint as the tokenizer needs it: float32 values of the generated tensors and the raw
 * bytes of the skipped ones (to copy on reassembly), checked against the zoo signature
 * (`layout.tensors` serves as one); tensors the signature does not name are ignored. `tensors` may
 * be an async iterable that reads one tensor at a time, so no more than one tensor's bytes are
 * held beside the float32 values. `label` names the checkpoint in errors.
 */
export async function tokenizerInput(
  signature: readonly TensorSignature[],
  tensors: Iterable<TensorData> | AsyncIterable<TensorData>,
  label = 'the checkpoint',
): Promise<{ generated: Map<string, Float32Array>; skipped: Map<string, TensorData> }> {
  const wanted = new Map(signature.map((t) => [t.name, t]));
  const generated = new Map<string, Float32Array>();
  const skipped = new Map<string, TensorData>();
  for await (const tensor of tensors) {
    const t = wanted.get(tensor.name);
    if (t === undefined) continue;
    if (tensor.dtype !== t.dtype || tensor.shape.length !== t.shape.length || tensor.shape.some((d, i) => d !== t.shape[i])) {
      throw new TokenizerError(`${label}: tensor '${t.name}' is ${tensor.dtype}[${tensor.shape.join(', ')}], the zoo signature says ${t.dtype}[${t.shape.join(', ')}]`);
    }
    // A layout's own flag first: an older generator's layout copies its one-element tensors.
    if ('generated' in t ? (t as TokenTensor).generated : isGenerated(t)) generated.set(t.name, toFloat32Array(tensor.dtype, tensor.data));
    else skipped.set(t.name, { name: t.name, dtype: tensor.dtype, shape: [...tensor.shape], data: tensor.data });
  }
  for (const t of signature) {
    if (!generated.has(t.name) && !skipped.has(t.name)) throw new TokenizerError(`${label} has no tensor '${t.name}'`);
  }
  return { generated, skipped };
}
