// PyTorch torch.save files: the zip format (PyTorch ≥ 1.6: `<top>/data.pkl` + one record per
// storage under `<top>/data/`) and the legacy format (back-to-back pickles, then raw storages).
// The pickle is read by an allow-listed VM; tensors become (storage, offset, shape, stride) views
// whose bytes are read lazily by position and returned C-contiguous.
import { crc32 } from 'node:zlib';
import { EngineError } from '../errors.js';
import type { DType } from '../protocol.js';
import { HashingFileWriter, writeFileAtomic } from '../fsutil.js';
import { DTYPE_SIZE, elementCount, type TensorData } from '../tensors.js';
import { DTYPE_TO_STORAGE_CLASS, STORAGE_CLASS_TO_DTYPE, TORCH_DTYPE_TO_DTYPE, swapByteOrder } from './dtypes.js';
import { BASE_CALLABLES, PickleError, PyGlobal, unpickle, type AllowedCallable, type Buildable } from './pickle.js';
import { ByteBudget, budgetFor, limitsOf, ReadLimitError, type ReadLimits, type ReadOptions } from './limits.js';
import { RandomAccessFile } from './random-access.js';
import { isInMemory, tensorSlices, validateTensors } from './tensor-input.js';
import { unwrapTorchObject } from './timm.js';
import type { FormatModule, OpenedCheckpoint, TensorEntry, TensorInput, WrittenFile } from './types.js';
import { ZipReader, ZipWriter, type ZipEntry } from './zip.js';

export class TorchFormatError extends EngineError {
  constructor(file: string, problem: string, hint = 'save the weights with torch.save(model.state_dict(), path) and try again') {
    super('torch_checkpoint_invalid', `${file}: ${problem}`, { file, hint });
  }
}

/** The pickle's data.pkl (or legacy object pickle) may not be larger than this: it describes tensors, it does not hold them. */
const MAX_PICKLE_BYTES = 512 * 1024 * 1024;
/** legacy format magic number 0x1950a86a20f9469cfc6c, as the LONG1 of a protocol-2 pickle */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const LEGACY_PROTOCOL_VERSION = 1001;
/** the largest expanded (stride-0) view materialised beyond its storage's own size */
const MAX_EXPANDED_BYTES = 256 * 1024 * 1024;
/** Attribute of the saved OrderedDict that carries ParamZoo's string metadata (load_state_dict ignores it). */
export const METADATA_ATTRIBUTE = '_paramzoo_metadata';

/** A storage as the pickle names it: `numel` elements of `dtype`, `elementOffset` into its root (legacy views). */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    readonly elementOffset = 0,
  ) {}
}

/** A tensor as torch rebuilds it: a strided view of a storage. */
export class TorchTensor {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

function isLegacy(head: Uint8Array): boolean {
  return head.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((byte, i) => head[i] === byte);
}

export function match(head: Uint8Array): boolean {
  return isZip(head) || isLegacy(head);
}

function intList(value: unknown, what: string, source: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw new PickleError(source, `a tensor's ${what} is not a list of non-negative integers`);
  }
  return value as number[];
}

function dtypeOfStorageType(type: unknown): DType | undefined {
  if (!(type instanceof PyGlobal)) return undefined;
  if (type.name === 'UntypedStorage') return 'U8';
  // own properties only: a storage class named "constructor" or "__proto__" is no dtype
  if (Object.hasOwn(STORAGE_CLASS_TO_DTYPE, type.name)) return STORAGE_CLASS_TO_DTYPE[type.name];
  return type.module === 'torch' && Object.hasOwn(TORCH_DTYPE_TO_DTYPE, type.name) ? TORCH_DTYPE_TO_DTYPE[type.name] : undefined;
}

/** numpy dtype descriptor, built from `numpy.dtype(typestr, align, copy)` + BUILD state; decodes scalars, never calls numpy. */
class NumpyDType implements Buildable {
  littleEndian = true;
  constructor(readonly typestr: string) {}
  setState(state: unknown): void {
    if (Array.isArray(state) && state[1] === '>') this.littleEndian = false;
  }
  decode(bytes: Uint8Array, source: string): number | boolean {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = this.littleEndian;
    const need = (n: number) => {
      if (bytes.length < n) throw new PickleError(source, `a numpy ${this.typestr} scalar has ${bytes.length} bytes`);
    };
    switch (this.typestr) {
      case 'f8':
        need(8);
        return view.getFloat64(0, le);
      case 'f4':
        need(4);
        return view.getFloat32(0, le);
      case 'i8':
        need(8);
        return Number(view.getBigInt64(0, le));
      case 'u8':
        need(8);
        return Number(view.getBigUint64(0, le));
      case 'i4':
        need(4);
        return view.getInt32(0, le);
      case 'u4':
        need(4);
        return view.getUint32(0, le);
      case 'i2':
        need(2);
        return view.getInt16(0, le);
      case 'u2':
        need(2);
        return view.getUint16(0, le);
      case 'i1':
        need(1);
        return view.getInt8(0);
      case 'u1':
        need(1);
        return view.getUint8(0);
      case 'b1':
        need(1);
        return view.getUint8(0) !== 0;
      default:
        throw new PickleError(source, `a numpy scalar of type ${this.typestr} is not supported`);
    }
  }
}

/** The allow-list for torch.save pickles: every entry builds data; nothing named in a file is ever called. */
export function torchCallables(): Map<string, AllowedCallable> {
  const table = new Map<string, AllowedCallable>(BASE_CALLABLES);
  const rebuildTensor: AllowedCallable = (args, source) => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) throw new PickleError(source, 'a tensor is rebuilt from something that is not a storage');
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new PickleError(source, 'a tensor has an invalid storage offset');
    const shape = intList(size, 'shape', source);
    const strides = intList(stride, 'stride', source);
    if (shape.length !== strides.length) throw new PickleError(source, `a tensor has shape [${shape.join(', ')}] but ${strides.length} strides`);
    return new TorchTensor(storage, (offset as number) + storage.elementOffset, shape, strides);
  };
  table.set('torch._utils._rebuild_tensor_v2', rebuildTensor);
  table.set('torch._utils._rebuild_tensor', rebuildTensor);
  table.set('torch._utils._rebuild_parameter', (args) => args[0]);
  table.set('torch._utils._rebuild_parameter_with_state', (args) => args[0]);
  table.set('torch._tensor._rebuild_from_type_v2', (args, source) => {
    const [func, , funcArgs] = args;
    const inner = func instanceof PyGlobal && func.qualifiedName !== 'torch._tensor._rebuild_from_type_v2' ? table.get(func.qualifiedName) : undefined;
    if (!inner || !Array.isArray(funcArgs))
      throw new PickleError(source, `a tensor is rebuilt by ${func instanceof PyGlobal ? func.qualifiedName : 'an unnamed function'}, which ParamZoo does not run`);
    return inner([...funcArgs], source);
  });
  table.set('torch.Size', (args) => (Array.isArray(args[0]) ? [...args[0]] : []));
  table.set('torch.device', (args) => String(args[0]));
  const numpyDtype: AllowedCallable = (args, source) => {
    if (typeof args[0] !== 'string') throw new PickleError(source, 'numpy.dtype without a type string');
    return new NumpyDType(args[0]);
  };
  const numpyScalar: AllowedCallable = (args, source) => {
    const [dtype, bytes] = args;
    if (!(dtype instanceof NumpyDType) || !(bytes instanceof Uint8Array)) throw new PickleError(source, 'a numpy scalar without a dtype and bytes');
    return dtype.decode(bytes, source);
  };
  for (const module of ['numpy', 'numpy.core.multiarray', 'numpy._core.multiarray']) {
    table.set(`${module}.dtype`, numpyDtype);
    table.set(`${module}.scalar`, numpyScalar);
  }
  return table;
}

type ReadStorage = (storage: StorageRef, byteOffset: number, byteLength: number) => Promise<Uint8Array>;

interface LoadedPickle {
  root: unknown;
  /** bytes actually present on disk for a storage key */
  storageBytes: (key: string) => number;
  readStorage: ReadStorage;
  bigEndian: boolean;
  /** drops cached inflated records */
  release?: () => void;
}

/** Builds the persistent_load for storage ids; one StorageRef per key, its dtype fixed by the first mention. */
function storageResolver(source: string, onNew: (key: string, dtype: DType, numel: number) => void): (pid: unknown) => StorageRef {
  const known = new Map<string, StorageRef>();
  return (pid) => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new PickleError(source, 'the pickle refers to external data that is not a tensor storage');
    const [, type, rawKey, , numel, viewMetadata] = pid as unknown[];
    const key = String(rawKey);
    const dtype = dtypeOfStorageType(type);
    if (!dtype) {
      const named = type instanceof PyGlobal ? type.qualifiedName : String(type);
      throw new TorchFormatError(
        source,
        `storage ${key} has type ${named}, which ParamZoo does not read`,
        'supported storages hold float64/32/16, bfloat16, int64/32/16/8, uint8 or bool; convert the tensors first',
      );
    }
    if (!Number.isSafeInteger(numel) || (numel as number) < 0) throw new PickleError(source, `storage ${key} has an invalid size`);
    let root = known.get(key);
    if (!root) {
      root = new StorageRef(key, dtype, numel as number);
      known.set(key, root);
      onNew(key, dtype, numel as number);
    } else if (root.dtype !== dtype) {
      // Since torch 1.13 one untyped storage may back tensors of different dtypes; byte offsets would then differ per view.
      throw new TorchFormatError(source, `storage ${key} is used as both ${root.dtype} and ${dtype}`, 'save each tensor with .clone() so it owns its storage');
    }
    if (Array.isArray(viewMetadata)) {
      // legacy view: (view_key, offset, view_size) inside the root storage
      const [, offset, size] = viewMetadata as unknown[];
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size)) throw new PickleError(source, `storage view of ${key} is malformed`);
      return new StorageRef(key, dtype, size as number, offset as number);
    }
    return root;
  };
}

interface ReadContext {
  limits: ReadLimits;
  signal?: AbortSignal;
  /** bytes inflated or loaded whole from this file */
  decoded: ByteBudget;
}

async function loadZip(file: RandomAccessFile, source: string, context: ReadContext): Promise<LoadedPickle> {
  const fail = (problem: string) => new TorchFormatError(source, problem, 'the file is truncated or not a PyTorch checkpoint; copy or save it again');
  const zip = await ZipReader.open(file, fail, context.decoded);
  const pickles = [...zip.entries.keys()].filter((name) => name === 'data.pkl' || name.endsWith('/data.pkl'));
  const pickleName = pickles.sort((a, b) => a.split('/').length - b.split('/').length)[0];
  if (pickleName === undefined) throw fail('is a zip archive without data.pkl, so not a torch.save checkpoint');
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  let bigEndian = false;
  const byteorder = zip.entries.get(`${prefix}byteorder`);
  if (byteorder) {
    const text = new TextDecoder().decode(await zip.readWhole(byteorder, 64)).trim();
    if (text !== 'little' && text !== 'big') throw fail(`its byteorder record says "${text}", neither little nor big`);
    bigEndian = text === 'big';
  }
  const storageEntries = new Map<string, ZipEntry>();
  const resolve = storageResolver(source, (key, dtype, numel) => {
    const entry = zip.entries.get(`${prefix}data/${key}`);
    if (!entry) throw fail(`the pickle refers to storage ${key} but the archive has no ${prefix}data/${key}`);
    const bytes = numel * DTYPE_SIZE[dtype];
    if (!Number.isSafeInteger(bytes) || entry.size < bytes) throw fail(`storage ${key} should hold ${numel} ${dtype} values but its record has ${entry.size} bytes`);
    storageEntries.set(key, entry);
  });
  const data = await zip.readWhole(zip.entries.get(pickleName)!, MAX_PICKLE_BYTES);
  const root = unpickle(data, { source, callables: torchCallables(), persistentLoad: resolve, limits: context.limits, signal: context.signal }).value;
  return {
    root,
    bigEndian,
    storageBytes: (key) => storageEntries.get(key)!.size,
    readStorage: (storage, byteOffset, byteLength) => zip.readRange(storageEntries.get(storage.key)!, byteOffset, byteLength),
    release: () => zip.release(),
  };
}

/**
 * Unpickles one pickle of a legacy file starting at `offset`, reading a growing window of the
 * file: the pickles are small, the storages after them may be larger than memory.
 */
async function unpickleAt(file: RandomAccessFile, offset: number, options: Parameters<typeof unpickle>[1]): Promise<{ value: unknown; end: number }> {
  let window = Math.min(file.size - offset, 1 << 20);
  for (;;) {
    const bytes = await file.read(offset, window, () => new TorchFormatError(options.source, 'the file ends inside a pickle (truncated)'));
    try {
      const { value, end } = unpickle(bytes, options);
      return { value, end: offset + end };
    } catch (error) {
      const more = error instanceof PickleError && error.truncated && offset + window < file.size && window < MAX_PICKLE_BYTES;
      if (!more) throw error;
      window = Math.min(file.size - offset, window * 8, MAX_PICKLE_BYTES);
    }
  }
}

async function loadLegacy(file: RandomAccessFile, source: string, context: ReadContext): Promise<LoadedPickle> {
  const fail = (problem: string) => new TorchFormatError(source, problem, 'the file is truncated or damaged; copy or save it again');
  const base = { source, callables: torchCallables(), limits: context.limits, signal: context.signal };
  const magic = await unpickleAt(file, 0, base);
  const protocol = await unpickleAt(file, magic.end, base);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) throw fail(`uses legacy protocol version ${String(protocol.value)}; only ${LEGACY_PROTOCOL_VERSION} is known`);
  const sysInfo = await unpickleAt(file, protocol.end, base);
  const bigEndian = sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false;
  const dtypes = new Map<string, DType>();
  const resolve = storageResolver(source, (key, dtype) => dtypes.set(key, dtype));
  const object = await unpickleAt(file, sysInfo.end, { ...base, persistentLoad: resolve });
  const keys = await unpickleAt(file, object.end, base);
  if (!Array.isArray(keys.value)) throw fail('the storage key list is missing');

  // Each storage: int64 element count, then the raw elements.
  const storages = new Map<string, { dataOffset: number; numel: number }>();
  let at = keys.end;
  for (const rawKey of keys.value) {
    const key = String(rawKey);
    const dtype = dtypes.get(key);
    if (!dtype) throw fail(`storage ${key} is stored but no tensor describes its type`);
    const header = await file.read(at, 8, () => fail(`the file ends before storage ${key} (truncated)`));
    const numel = new DataView(header.buffer).getBigInt64(0, !bigEndian);
    const bytes = numel * BigInt(DTYPE_SIZE[dtype]);
    if (numel < 0n || at + 8 + Number(bytes) > file.size) throw fail(`storage ${key} claims ${numel} values, past the end of the file (truncated)`);
    storages.set(key, { dataOffset: at + 8, numel: Number(numel) });
    at += 8 + Number(bytes);
  }
  return {
    root: object.value,
    bigEndian,
    storageBytes: (key) => {
      const storage = storages.get(key);
      if (!storage) throw fail(`a tensor refers to storage ${key}, which the file does not hold`);
      return storage.numel * DTYPE_SIZE[dtypes.get(key)!];
    },
    readStorage: (storage, byteOffset, byteLength) => file.read(storages.get(storage.key)!.dataOffset + byteOffset, byteLength, () => fail(`storage ${storage.key} runs past the end of the file`)),
  };
}

/** Copies a strided view out of `span` (which starts at the view's first element) into C order. */
function gather(span: Uint8Array, shape: number[], stride: number[], elementSize: number, count: number): Uint8Array {
  const out = new Uint8Array(count * elementSize);
  const dims = shape.length;
  const rowLength = shape[dims - 1]!;
  const rowStride = stride[dims - 1]!;
  const index = new Array<number>(Math.max(dims - 1, 0)).fill(0);
  const rows = count / rowLength;
  let outAt = 0;
  for (let row = 0; row < rows; row++) {
    let base = 0;
    for (let d = 0; d < dims - 1; d++) base += index[d]! * stride[d]!;
    if (rowStride === 1) {
      out.set(span.subarray(base * elementSize, (base + rowLength) * elementSize), outAt);
      outAt += rowLength * elementSize;
    } else {
      for (let j = 0; j < rowLength; j++) {
        const from = (base + j * rowStride) * elementSize;
        for (let b = 0; b < elementSize; b++) out[outAt++] = span[from + b]!;
      }
    }
    for (let d = dims - 2; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

function tensorEntry(name: string, tensor: TorchTensor, loaded: LoadedPickle, source: string, materialised: ByteBudget): TensorEntry {
  const { storage, offset, shape, stride } = tensor;
  const { dtype } = storage;
  const elementSize = DTYPE_SIZE[dtype];
  const count = elementCount(shape);
  if (count === null) throw new TorchFormatError(source, `tensor "${name}" has an absurd shape [${shape.join(', ')}]`);
  const byteLength = count * elementSize;
  let last = offset;
  for (let d = 0; d < shape.length; d++) if (shape[d]! > 0) last += (shape[d]! - 1) * stride[d]!;
  const storageBytes = loaded.storageBytes(storage.key);
  if (count > 0 && (!Number.isSafeInteger(last) || (last + 1) * elementSize > storageBytes)) {
    throw new TorchFormatError(
      source,
      `tensor "${name}" reaches element ${last} of storage ${storage.key}, which holds ${Math.floor(storageBytes / elementSize)}`,
      'the file is damaged; save it again',
    );
  }
  // Zero strides (expand) make a tensor larger than its storage; cap what a tiny hostile file can make us allocate.
  if (byteLength > Math.max(storageBytes, MAX_EXPANDED_BYTES)) {
    throw new TorchFormatError(source, `tensor "${name}" is a ${byteLength}-byte view of a ${storageBytes}-byte storage`, 'save it with tensor.contiguous() (or .clone()) so it owns its data');
  }
  // Every tensor is materialised in full (shared views and expansions included): the file's total is capped relative to its size.
  materialised.charge(byteLength, `tensor "${name}", ${byteLength} bytes`);
  let expected = 1;
  let contiguous = true;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) contiguous = false;
    expected *= shape[d]!;
  }
  const entry: TensorEntry = {
    name,
    dtype,
    shape,
    byteLength,
    read: async () => {
      if (count === 0) return new Uint8Array(0);
      let bytes: Uint8Array;
      if (contiguous) bytes = await loaded.readStorage(storage, offset * elementSize, byteLength);
      else {
        const span = await loaded.readStorage(storage, offset * elementSize, (last - offset + 1) * elementSize);
        bytes = gather(span, shape, stride, elementSize, count);
      }
      if (loaded.bigEndian) swapByteOrder(bytes, elementSize);
      return bytes;
    },
  };
  // A contiguous tensor is one range of its storage: it can be read a slice (of whole elements) at a time.
  if (contiguous && count > 0) {
    entry.readSlices = async function* (maxBytes: number) {
      const step = Math.max(elementSize, Math.floor(maxBytes / elementSize) * elementSize);
      for (let done = 0; done < byteLength; done += step) {
        const bytes = await loaded.readStorage(storage, offset * elementSize + done, Math.min(step, byteLength - done));
        if (loaded.bigEndian) swapByteOrder(bytes, elementSize);
        yield bytes;
      }
    };
  }
  return entry;
}

export async function read(path: string, options: ReadOptions = {}): Promise<OpenedCheckpoint> {
  const source = path;
  const limits = limitsOf(options);
  const file = await RandomAccessFile.open(path);
  try {
    const head = await file.read(0, Math.min(file.size, 64), () => new TorchFormatError(source, 'the file is empty'));
    const context: ReadContext = {
      limits,
      signal: options.signal,
      decoded: new ByteBudget(source, 'decodedRatio', budgetFor(file.size, limits.decodedRatio, limits.decodedFloor), 'decompressed data'),
    };
    let loaded: LoadedPickle;
    if (isZip(head)) loaded = await loadZip(file, source, context);
    else if (isLegacy(head)) loaded = await loadLegacy(file, source, context);
    else throw new TorchFormatError(source, 'is neither a zip-format nor a legacy torch.save file');
    const unwrapped = unwrapTorchObject(
      loaded.root,
      (value): value is TorchTensor => value instanceof TorchTensor,
      (problem, hint) => new TorchFormatError(source, problem, hint),
      METADATA_ATTRIBUTE,
    );
    if (unwrapped.tensors.length > limits.tensorCount) {
      throw new ReadLimitError(source, 'tensorCount', `holds ${unwrapped.tensors.length} tensors, more than the ${limits.tensorCount} a checkpoint may have`);
    }
    const materialised = new ByteBudget(source, 'tensorRatio', budgetFor(file.size, limits.tensorRatio, limits.tensorFloor), 'the tensors materialised from this file');
    const tensors = unwrapped.tensors.map(([name, tensor]) => tensorEntry(name, tensor, loaded, source, materialised));
    return {
      format: 'pth',
      layout: unwrapped.layout,
      path,
      tensors,
      metadata: unwrapped.metadata,
      close: async () => {
        loaded.release?.();
        await file.close();
      },
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** A protocol-2 pickle of OrderedDict{name: _rebuild_tensor_v2(storage i, 0, shape, stride, False, OrderedDict())}, as torch.save writes it. */
export function encodeStateDictPickle(tensors: ReadonlyArray<Pick<TensorData, 'name' | 'dtype' | 'shape'>>, metadata: Record<string, string>): Uint8Array {
  const out: number[] = [];
  const encoder = new TextEncoder();
  const memo = new Map<string, number>();
  const byte = (...values: number[]) => out.push(...values);
  const u32 = (value: number) => byte(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
  const int = (value: number) => {
    if (value >= 0 && value < 0x100)
      byte(0x4b, value); // BININT1
    else if (value >= 0 && value < 0x10000)
      byte(0x4d, value & 0xff, value >>> 8); // BININT2
    else if (value >= -0x80000000 && value < 0x80000000) {
      byte(0x4a);
      u32(value >>> 0);
    } // BININT
    else {
      // LONG1: minimal little-endian two's complement
      let big = BigInt(value);
      const bytes: number[] = [];
      do {
        bytes.push(Number(big & 0xffn));
        big >>= 8n;
      } while (!(big === 0n && (bytes[bytes.length - 1]! & 0x80) === 0) && !(big === -1n && (bytes[bytes.length - 1]! & 0x80) !== 0));
      byte(0x8a, bytes.length, ...bytes);
    }
  };
  const string = (value: string) => {
    const bytes = encoder.encode(value);
    byte(0x58);
    u32(bytes.length);
    for (const b of bytes) out.push(b);
  };
  const put = () => {
    const index = memo.size;
    if (index < 0x100) byte(0x71, index);
    else {
      byte(0x72);
      u32(index);
    }
    return index;
  };
  const get = (index: number) => {
    if (index < 0x100) byte(0x68, index);
    else {
      byte(0x6a);
      u32(index);
    }
  };
  const global = (module: string, name: string) => {
    const key = `${module}.${name}`;
    const known = memo.get(key);
    if (known !== undefined) return get(known);
    for (const b of encoder.encode(`c${module}\n${name}\n`)) out.push(b);
    memo.set(key, put());
  };
  const tuple = (values: number[]) => {
    if (values.length === 0) return byte(0x29);
    byte(0x28);
    values.forEach(int);
    byte(0x74);
  };

  byte(0x80, 0x02);
  global('collections', 'OrderedDict');
  byte(0x29, 0x52); // () REDUCE
  memo.set('#root', put());
  if (tensors.length > 0) {
    byte(0x28); // MARK
    tensors.forEach((tensor, index) => {
      const count = elementCount(tensor.shape) ?? 0;
      const stride: number[] = [];
      let step = 1;
      for (let d = tensor.shape.length - 1; d >= 0; d--) {
        stride[d] = step;
        step *= tensor.shape[d]!;
      }
      string(tensor.name);
      global('torch._utils', '_rebuild_tensor_v2');
      byte(0x28, 0x28); // MARK MARK
      string('storage');
      global('torch', DTYPE_TO_STORAGE_CLASS[tensor.dtype]);
      string(String(index));
      string('cpu');
      int(count);
      byte(0x74, 0x51); // TUPLE BINPERSID
      int(0);
      tuple(tensor.shape);
      tuple(stride);
      byte(0x89); // NEWFALSE (requires_grad)
      global('collections', 'OrderedDict');
      byte(0x29, 0x52); // backward hooks: OrderedDict()
      byte(0x74, 0x52); // TUPLE REDUCE
    });
    byte(0x75); // SETITEMS
  }
  const entries = Object.entries(metadata);
  if (entries.length > 0) {
    // BUILD sets the OrderedDict's __dict__, the way torch keeps state_dict._metadata.
    byte(0x7d, 0x28);
    string(METADATA_ATTRIBUTE);
    byte(0x7d, 0x28);
    for (const [key, value] of entries) {
      string(key);
      string(value);
    }
    byte(0x75, 0x75, 0x62); // SETITEMS SETITEMS BUILD
  }
  byte(0x2e); // STOP
  return Uint8Array.from(out);
}

export interface PthWriteOptions {
  /** write zip64 records even when the file is small (tests of the zip64 path) */
  forceZip64?: boolean;
  /** folder name inside the archive; torch.load accepts any */
  archiveName?: string;
}

/**
 * Writes a zip-format .pth that `torch.load(path, weights_only=True)` accepts: an OrderedDict of
 * name → tensor. Tensors are streamed one at a time; a record's CRC comes before its bytes, so an
 * entry read in slices is read twice (once for the CRC, once to write), never held whole.
 * Returns the file's sha256, hashed as it was written.
 */
export async function write(path: string, tensors: readonly TensorInput[], metadata: Record<string, string>, options: PthWriteOptions = {}): Promise<WrittenFile> {
  validateTensors(path, tensors, (file, problem, hint) => new TorchFormatError(file, problem, hint ?? 'fix the tensors passed to the writer'));
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new TorchFormatError(path, `metadata "${key}" is not a string`, 'pass string metadata');
  }
  const pickle = encodeStateDictPickle(tensors, metadata);
  const top = options.archiveName ?? 'archive';
  const encoder = new TextEncoder();
  const fail = (problem: string) => new TorchFormatError(path, problem, 'read the checkpoint again');
  let sha256 = '';
  await writeFileAtomic(path, async (file) => {
    const out = new HashingFileWriter(file);
    const zip = new ZipWriter(out, { forceZip64: options.forceZip64 });
    await zip.add(`${top}/data.pkl`, pickle);
    await zip.add(`${top}/byteorder`, encoder.encode('little'));
    for (const [index, tensor] of tensors.entries()) {
      const name = `${top}/data/${index}`;
      if (isInMemory(tensor) || !tensor.readSlices) {
        await zip.add(name, isInMemory(tensor) ? tensor.data : await tensor.read());
        continue;
      }
      let crc = 0;
      for await (const slice of tensorSlices(tensor, fail)) crc = crc32(slice, crc);
      await zip.addSlices(name, tensor.byteLength, crc >>> 0, tensorSlices(tensor, fail));
    }
    await zip.add(`${top}/version`, encoder.encode('3\n'));
    await zip.finish();
    sha256 = out.sha256();
  });
  return { path, sha256 };
}

export const torchFormat: FormatModule = {
  name: 'pth',
  extensions: ['.pth', '.pt', '.bin', '.tar', '.ckpt'],
  match,
  read: (path, options) => read(path, options),
  write: (path, tensors, metadata) => write(path, tensors, metadata),
};
