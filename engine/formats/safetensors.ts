// safetensors (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the data section. Read lazily: the header is parsed at open, each tensor read on demand.
import { EngineError } from '../errors.js';
import type { DType } from '../protocol.js';
import { HashingFileWriter, writeFileAtomic, type ByteSink } from '../fsutil.js';
import { byteLengthOf, isDType, type TensorData } from '../tensors.js';
import { CancelledError } from '../errors.js';
import { limitsOf, ReadLimitError, type ReadOptions } from './limits.js';
import { RandomAccessFile } from './random-access.js';
import { byteLengthOfInput, tensorSlices, validateTensors, type TensorDescription } from './tensor-input.js';
import type { FormatModule, OpenedCheckpoint, TensorEntry, TensorInput, WrittenFile } from './types.js';

export class SafetensorsError extends EngineError {
  constructor(file: string, problem: string, hint = 'the file is not a valid safetensors file; re-export it from its source') {
    super('safetensors_invalid', `${file}: ${problem}`, { file, hint });
  }
}

/** The spec's limit on the header, which also bounds what a hostile file can make us allocate. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsHeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** offset of the first byte inside the data section */
  begin: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  tensors: SafetensorsHeaderEntry[];
  metadata: Record<string, string>;
  /** file offset where the data section starts (8 + N) */
  dataStart: number;
}

export function match(head: Uint8Array): boolean {
  if (head.length < 9) return false;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const length = view.getBigUint64(0, true);
  return length > 1n && length <= BigInt(MAX_HEADER_BYTES) && head[8] === 0x7b; // '{'
}

/** Parses and validates the header of an open file against the spec; allocates only the header. */
export async function readHeader(file: RandomAccessFile, options: ReadOptions = {}): Promise<SafetensorsHeader> {
  const fail = (problem: string, hint?: string) => new SafetensorsError(file.path, problem, hint);
  const limits = limitsOf(options);
  if (file.size < 8) throw fail(`the file is ${file.size} bytes, shorter than the 8-byte header length`);
  const lengthBytes = await file.read(0, 8, () => fail('the file ends inside the header length'));
  const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw fail(`the header claims ${headerLength} bytes, more than the 100 MB the safetensors spec allows`);
  }
  if (headerLength > BigInt(limits.headerBytes)) {
    throw new ReadLimitError(file.path, 'headerBytes', `the header claims ${headerLength} bytes, more than ${limits.headerBytes}`);
  }
  const n = Number(headerLength);
  if (8 + n > file.size) {
    throw fail(`the header claims ${n} bytes but the file has only ${file.size - 8} after the length (truncated?)`, 'the file is truncated or not safetensors; copy it again from its source');
  }
  const headerBytes = await file.read(8, n, () => fail('the file ends inside the header'));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw fail('the header is not valid UTF-8');
  }
  // Count the tensors before JSON.parse builds them (1.5 M empty tensors would take GBs and tens of seconds).
  const keys = topLevelKeys(text, limits.tensorCount + 1, options.signal);
  if (keys === null) throw fail('the header is not a JSON object');
  if (keys.length > limits.tensorCount + 1 || (keys.length === limits.tensorCount + 1 && !keys.includes('__metadata__'))) {
    throw new ReadLimitError(file.path, 'tensorCount', `the header describes more than ${limits.tensorCount} tensors`);
  }
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw fail(`the header names "${key}" twice`);
    seen.add(key);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw fail(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw fail('the header is not a JSON object');
  const header = parsed as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  const rawMetadata = header.__metadata__;
  if (rawMetadata !== undefined) {
    if (typeof rawMetadata !== 'object' || rawMetadata === null || Array.isArray(rawMetadata)) throw fail('"__metadata__" is not an object');
    for (const [key, value] of Object.entries(rawMetadata)) {
      if (typeof value !== 'string') throw fail(`"__metadata__" entry "${key}" is not a string`);
      metadata[key] = value;
    }
  }

  const dataLength = file.size - 8 - n;
  const tensors: SafetensorsHeaderEntry[] = [];
  const parsedKeys = Object.keys(header);
  const ordered = parsedKeys.length === keys.length && parsedKeys.every((key) => seen.has(key)) ? keys : parsedKeys;
  for (const name of ordered) {
    if (name === '__metadata__') continue;
    const info = header[name];
    if (typeof info !== 'object' || info === null) throw fail(`tensor "${name}" has no description object`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (!isDType(dtype)) {
      throw fail(`tensor "${name}" has dtype ${JSON.stringify(dtype)}, which ParamZoo does not read`, 'supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL; convert the tensor first');
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const byteLength = byteLengthOf(dtype, shape as number[]);
    if (byteLength === null) {
      throw fail(`tensor "${name}" has shape [${(shape as number[]).join(', ')}], more elements than any file can hold`);
    }
    if (byteLength !== end - begin) {
      throw fail(`tensor "${name}" has shape [${(shape as number[]).join(', ')}] × ${dtype} = ${byteLength} bytes but data_offsets span ${end - begin}`);
    }
    if (end > dataLength) {
      throw fail(`tensor "${name}" ends at byte ${end} of a ${dataLength}-byte data section (truncated?)`, 'the file is truncated; copy it again from its source');
    }
    tensors.push({ name, dtype, shape: shape as number[], begin, byteLength });
  }

  // The spec: tensors cover the data section exactly, contiguous, without overlap.
  const byOffset = [...tensors].sort((a, b) => a.begin - b.begin || a.byteLength - b.byteLength);
  let cursor = 0;
  for (const tensor of byOffset) {
    if (tensor.begin < cursor) throw fail(`tensor "${tensor.name}" overlaps another tensor at byte ${tensor.begin} of the data section`);
    if (tensor.begin > cursor) throw fail(`the data section has a gap at bytes ${cursor}–${tensor.begin} before tensor "${tensor.name}"`);
    cursor = tensor.begin + tensor.byteLength;
  }
  if (cursor !== dataLength) {
    throw fail(`the tensors cover ${cursor} bytes but the data section holds ${dataLength}`, 'the file is truncated or has trailing bytes; copy it again from its source');
  }
  return { tensors, metadata, dataStart: 8 + n };
}

/**
 * The header's top-level keys in file order, scanning the text once without building anything but
 * the keys; stops after `max` keys. JSON.parse puts integer-like keys ("0", "1") first, which would
 * reorder a state_dict whose names are indices; this scan keeps the file's order. null when the
 * text is not an object.
 */
function topLevelKeys(text: string, max: number, signal?: AbortSignal): string[] | null {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  let sawObject = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        try {
          keys.push(JSON.parse(text.slice(i, j + 1)) as string);
        } catch {
          return keys; // JSON.parse of the whole header reports the error
        }
        if (keys.length >= max) return keys;
        if ((keys.length & 0xffff) === 0 && signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError('reading a safetensors header');
      }
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      if (depth === 0) {
        if (c !== '{') return null;
        sawObject = true;
      }
      depth++;
      expectKey = depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return sawObject ? keys : null;
}

export async function read(path: string, options: ReadOptions = {}): Promise<OpenedCheckpoint> {
  const file = await RandomAccessFile.open(path);
  try {
    const header = await readHeader(file, options);
    const tensors: TensorEntry[] = header.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      byteLength: t.byteLength,
      read: () => file.read(header.dataStart + t.begin, t.byteLength, () => new SafetensorsError(path, `tensor "${t.name}" lies outside the file`)),
      readSlices: (maxBytes) => file.slices(header.dataStart + t.begin, t.byteLength, maxBytes, () => new SafetensorsError(path, `tensor "${t.name}" lies outside the file`)),
    }));
    return { format: 'safetensors', layout: 'state_dict', path, tensors, metadata: header.metadata, close: () => file.close() };
  } catch (error) {
    await file.close();
    throw error;
  }
}

export { validateTensors };

/** What the header says of a tensor: everything but its bytes. */
export type HeaderTensor = Pick<TensorData, 'name' | 'dtype' | 'shape'> & { byteLength: number };

/** The spec's layout: header padded with spaces to a multiple of 8, tensors contiguous in the given order. */
export function encodeHeader(tensors: readonly HeaderTensor[], metadata: Record<string, string>): Uint8Array {
  const parts: string[] = [];
  if (Object.keys(metadata).length > 0) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const t of tensors) {
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] })}`);
    offset += t.byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return bytes;
}

/**
 * The safetensors writer. Every offset follows from the names, dtypes and shapes, so the header
 * goes first and each tensor's bytes follow in order, streamed to a sink (a file being written, a
 * blob draft) slice by slice: nothing is held but the slice being written. Used for a whole list
 * (writeTo) or tensor by tensor as tensors are made (a generated model).
 */
export class SafetensorsWriter {
  private next = 0;

  private constructor(
    private readonly sink: ByteSink,
    private readonly tensors: readonly HeaderTensor[],
    private readonly path: string,
  ) {}

  /** Checks the tensors and metadata, then writes the header. `path` names the file in errors. */
  static async start(sink: ByteSink, tensors: readonly TensorDescription[], metadata: Record<string, string>, path: string): Promise<SafetensorsWriter> {
    const makeError = (file: string, problem: string, hint?: string) => new SafetensorsError(file, problem, hint ?? 'fix the tensors passed to the writer');
    validateTensors(path, tensors, makeError);
    if (tensors.some((t) => t.name === '__metadata__')) throw makeError(path, 'a tensor is named "__metadata__", which safetensors reserves');
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw makeError(path, `metadata "${key}" is not a string`);
    }
    // validateTensors proved every byte length computable
    const sized = tensors.map((t): HeaderTensor => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: byteLengthOf(t.dtype, t.shape)! }));
    await sink.write(encodeHeader(sized, metadata));
    return new SafetensorsWriter(sink, sized, path);
  }

  /** Writes the next tensor; it must be the one the header names next, with its dtype, shape and byte length. */
  async write(tensor: TensorInput): Promise<void> {
    const expected = this.tensors[this.next];
    if (!expected || expected.name !== tensor.name || expected.dtype !== tensor.dtype || expected.shape.join(',') !== tensor.shape.join(',')) {
      throw new Error(`bug: tensor '${tensor.name}' written where '${expected?.name ?? '(end)'}' was expected`);
    }
    const given = byteLengthOfInput(tensor);
    if (given !== expected.byteLength) {
      throw new SafetensorsError(this.path, `tensor "${tensor.name}" has ${given} bytes where its shape needs ${expected.byteLength}`, 'fix the tensors passed to the writer');
    }
    for await (const slice of tensorSlices(tensor, (problem) => new SafetensorsError(this.path, problem, 'read the checkpoint again'))) {
      await this.sink.write(slice);
    }
    this.next += 1;
  }

  /** true once every tensor of the header was written */
  get complete(): boolean {
    return this.next === this.tensors.length;
  }
}

/** Streams a whole checkpoint to `sink`, one tensor (slice) at a time; `signal` stops it between tensors. */
export async function writeTo(sink: ByteSink, tensors: readonly TensorInput[], metadata: Record<string, string>, path: string, signal?: AbortSignal): Promise<void> {
  const writer = await SafetensorsWriter.start(sink, tensors, metadata, path);
  for (const tensor of tensors) {
    signal?.throwIfAborted();
    await writer.write(tensor);
  }
}

/** Writes a safetensors file atomically; returns its sha256, hashed as it was written. */
export async function write(path: string, tensors: readonly TensorInput[], metadata: Record<string, string>): Promise<WrittenFile> {
  let sha256 = '';
  await writeFileAtomic(path, async (file) => {
    const out = new HashingFileWriter(file);
    await writeTo(out, tensors, metadata, path);
    sha256 = out.sha256();
  });
  return { path, sha256 };
}

export const safetensorsFormat: FormatModule = { name: 'safetensors', extensions: ['.safetensors'], match, read, write };
