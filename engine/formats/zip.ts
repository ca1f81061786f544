// A small zip reader and writer for torch.save archives. Hand-written because a checkpoint may be
// larger than the heap: the reader finds entries through the central directory with positional
// reads and hands out stored entries by offset; npm zip libraries stream whole archives instead.
import { crc32, inflateRawSync } from 'node:zlib';
import type { ByteSink } from '../fsutil.js';
import type { ByteBudget } from './limits.js';
import type { RandomAccessFile } from './random-access.js';

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA = 0x0001;
const STORED = 0;
const DEFLATED = 8;
const U32_MAX = 0xffffffff;
/** A central directory bigger than this is not a checkpoint's: refuse before allocating it. */
const MAX_CENTRAL_DIRECTORY = 256 * 1024 * 1024;

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** `fail(problem)` builds the calling format's error, so messages say which reader refused what. */
export type Fail = (problem: string) => Error;

export class ZipReader {
  private readonly dataStarts = new Map<string, number>();
  /** deflated records, inflated once (budgeted) and kept until release(): never again per tensor */
  private readonly inflated = new Map<string, Uint8Array>();
  /** how many times a record was inflated, process-wide (tests prove the cache) */
  static inflations = 0;

  private constructor(
    readonly file: RandomAccessFile,
    readonly entries: Map<string, ZipEntry>,
    private readonly fail: Fail,
    private readonly decoded?: ByteBudget,
  ) {}

  /** `decoded`, when given, is charged for every record inflated or loaded whole, before it is. */
  static async open(file: RandomAccessFile, fail: Fail, decoded?: ByteBudget): Promise<ZipReader> {
    const tailLength = Math.min(file.size, 22 + 0xffff);
    const tail = await file.read(file.size - tailLength, tailLength, () => fail('the file ends before its zip directory'));
    const tailView = new DataView(tail.buffer);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tailView.getUint32(i, true) === END_OF_CENTRAL_DIRECTORY) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw fail('no zip end-of-central-directory record: the file is truncated or not a zip archive');
    let count = tailView.getUint16(eocd + 10, true);
    let directorySize = tailView.getUint32(eocd + 12, true);
    let directoryOffset = tailView.getUint32(eocd + 16, true);
    const eocdFileOffset = file.size - tailLength + eocd;

    const locatorOffset = eocdFileOffset - 20;
    if (locatorOffset >= 0) {
      const locator = await file.read(locatorOffset, 20, () => fail('the zip64 locator lies outside the file'));
      const locatorView = new DataView(locator.buffer);
      if (locatorView.getUint32(0, true) === ZIP64_LOCATOR) {
        const recordOffset = safeU64(locatorView, 8, fail);
        const record = await file.read(recordOffset, 56, () => fail('the zip64 end-of-central-directory record lies outside the file (truncated?)'));
        const recordView = new DataView(record.buffer);
        if (recordView.getUint32(0, true) !== ZIP64_END_OF_CENTRAL_DIRECTORY) throw fail('the zip64 locator points at no zip64 directory record');
        count = safeU64(recordView, 32, fail);
        directorySize = safeU64(recordView, 40, fail);
        directoryOffset = safeU64(recordView, 48, fail);
      }
    }
    if (directorySize > MAX_CENTRAL_DIRECTORY) throw fail(`the zip directory claims ${directorySize} bytes, too large for a checkpoint`);
    if (!file.contains(directoryOffset, directorySize) || directoryOffset + directorySize > eocdFileOffset) {
      throw fail('the zip directory lies outside the file: the file is truncated');
    }
    const directory = await file.read(directoryOffset, directorySize, () => fail('the zip directory lies outside the file'));
    const view = new DataView(directory.buffer);
    const decoder = new TextDecoder();
    const entries = new Map<string, ZipEntry>();
    let at = 0;
    for (let index = 0; index < count; index++) {
      if (at + 46 > directory.length || view.getUint32(at, true) !== CENTRAL_HEADER) throw fail(`zip directory entry ${index} is damaged`);
      const flags = view.getUint16(at + 8, true);
      const method = view.getUint16(at + 10, true);
      const crc = view.getUint32(at + 16, true);
      let compressedSize = view.getUint32(at + 20, true);
      let size = view.getUint32(at + 24, true);
      const nameLength = view.getUint16(at + 28, true);
      const extraLength = view.getUint16(at + 30, true);
      const commentLength = view.getUint16(at + 32, true);
      let localHeaderOffset = view.getUint32(at + 42, true);
      const end = at + 46 + nameLength + extraLength + commentLength;
      if (end > directory.length) throw fail(`zip directory entry ${index} runs past the directory`);
      const name = decoder.decode(directory.subarray(at + 46, at + 46 + nameLength));
      if (flags & 1) throw fail(`zip entry ${name} is encrypted`);
      // zip64: the fields saturated at 0xFFFFFFFF are in the 0x0001 extra field, in this order.
      let extra = at + 46 + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = view.getUint16(extra, true);
        const length = view.getUint16(extra + 2, true);
        if (id === ZIP64_EXTRA) {
          let field = extra + 4;
          const fieldEnd = Math.min(field + length, extraEnd);
          const next = (): number => {
            if (field + 8 > fieldEnd) throw fail(`zip entry ${name} has a short zip64 extra field`);
            const value = safeU64(view, field, fail);
            field += 8;
            return value;
          };
          if (size === U32_MAX) size = next();
          if (compressedSize === U32_MAX) compressedSize = next();
          if (localHeaderOffset === U32_MAX) localHeaderOffset = next();
        }
        extra += 4 + length;
      }
      if (!file.contains(localHeaderOffset, 30 + compressedSize)) throw fail(`zip entry ${name} lies outside the file: the file is truncated`);
      // As PyTorch's reader does: a stored record holds exactly its bytes, and every name is unique.
      if (method === STORED && size !== compressedSize) throw fail(`zip entry ${name} is stored (uncompressed) with ${compressedSize} bytes but claims ${size}`);
      if (entries.has(name)) throw fail(`the zip archive holds two entries named ${name}`);
      entries.set(name, { name, method, crc, compressedSize, size, localHeaderOffset });
      at = end;
    }
    return new ZipReader(file, entries, fail, decoded);
  }

  /** File offset of an entry's first data byte (read from its local header, whose extra field may differ from the directory's). */
  async dataStart(entry: ZipEntry): Promise<number> {
    const known = this.dataStarts.get(entry.name);
    if (known !== undefined) return known;
    const header = await this.file.read(entry.localHeaderOffset, 30, () => this.fail(`zip entry ${entry.name} lies outside the file (truncated)`));
    const view = new DataView(header.buffer);
    if (view.getUint32(0, true) !== LOCAL_HEADER) throw this.fail(`zip entry ${entry.name} has a damaged local header`);
    const start = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (!this.file.contains(start, entry.compressedSize)) throw this.fail(`zip entry ${entry.name} runs past the end of the file: the file is truncated`);
    this.dataStarts.set(entry.name, start);
    return start;
  }

  /** A whole entry, decompressed and CRC-checked: for small records (data.pkl, version) only. */
  async readWhole(entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
    this.decoded?.charge(entry.size, `zip entry ${entry.name}`);
    if (entry.size > maxBytes || entry.compressedSize > maxBytes) throw this.fail(`zip entry ${entry.name} is ${entry.size} bytes, more than the ${maxBytes} allowed for it`);
    const start = await this.dataStart(entry);
    const raw = await this.file.read(start, entry.compressedSize, () => this.fail(`zip entry ${entry.name} runs past the end of the file: the file is truncated`));
    let data: Uint8Array;
    if (entry.method === STORED) data = raw;
    else if (entry.method === DEFLATED) {
      try {
        ZipReader.inflations += 1;
        data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
      } catch (error) {
        throw this.fail(`zip entry ${entry.name} does not inflate (${(error as Error).message})`);
      }
    } else throw this.fail(`zip entry ${entry.name} uses compression method ${entry.method}; only stored and deflated entries are read`);
    if (data.length !== entry.size) throw this.fail(`zip entry ${entry.name} holds ${data.length} bytes, not the ${entry.size} its directory says`);
    if (crc32(data) >>> 0 !== entry.crc) throw this.fail(`zip entry ${entry.name} fails its CRC check: the file is damaged`);
    return data;
  }

  /** Forgets inflated records (the checkpoint is closed). */
  release(): void {
    this.inflated.clear();
  }

  /** `length` bytes at `offset` inside a stored entry, read lazily by position. */
  async readRange(entry: ZipEntry, offset: number, length: number): Promise<Uint8Array> {
    if (entry.method !== STORED) {
      // torch stores tensor records uncompressed; a deflated one (rare, rewritten archives) is inflated whole, once.
      let whole = this.inflated.get(entry.name);
      if (!whole) {
        whole = await this.readWhole(entry, 1 << 30);
        this.inflated.set(entry.name, whole);
      }
      if (offset < 0 || offset + length > whole.length) throw this.fail(`a read of bytes ${offset}–${offset + length} leaves zip entry ${entry.name} (${whole.length} bytes)`);
      return whole.slice(offset, offset + length);
    }
    if (offset < 0 || offset + length > entry.size) throw this.fail(`a read of bytes ${offset}–${offset + length} leaves zip entry ${entry.name} (${entry.size} bytes)`);
    const start = await this.dataStart(entry);
    return this.file.read(start + offset, length, () => this.fail(`zip entry ${entry.name} runs past the end of the file: the file is truncated`));
  }
}

function safeU64(view: DataView, offset: number, fail: Fail): number {
  const value = view.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`a zip64 field holds ${value}, beyond any real file size`);
  return Number(value);
}

interface WrittenEntry {
  name: Uint8Array;
  crc: number;
  size: number;
  offset: number;
  zip64: boolean;
}

/**
 * Writes a stored (uncompressed) zip the way PyTorch's writer does: each record's data starts on a
 * 64-byte boundary (padding in the local header's extra field, id "FB"), zip64 where sizes or
 * offsets pass 4 GiB. `forceZip64` writes zip64 structures even for small files (tests).
 */
export class ZipWriter {
  private position = 0;
  private readonly written: WrittenEntry[] = [];

  constructor(
    private readonly sink: ByteSink,
    private readonly options: { alignment?: number; forceZip64?: boolean } = {},
  ) {}

  async add(name: string, data: Uint8Array): Promise<void> {
    await this.addSlices(name, data.byteLength, crc32(data) >>> 0, [data]);
  }

  /** A record whose `size` bytes arrive in slices; its CRC, which its header carries, is known beforehand. */
  async addSlices(name: string, size: number, crc: number, slices: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    const nameBytes = new TextEncoder().encode(name);
    const zip64 = this.options.forceZip64 === true || size >= U32_MAX || this.position >= U32_MAX;
    const zip64Extra = zip64 ? 20 : 0;
    const alignment = this.options.alignment ?? 64;
    const unpadded = this.position + 30 + nameBytes.length + zip64Extra + 4;
    const padding = (alignment - (unpadded % alignment)) % alignment;
    const extraLength = zip64Extra + 4 + padding;

    const header = new Uint8Array(30 + nameBytes.length + extraLength);
    const view = new DataView(header.buffer);
    view.setUint32(0, LOCAL_HEADER, true);
    view.setUint16(4, zip64 ? 45 : 20, true);
    view.setUint16(6, 0x0800, true); // names are UTF-8
    view.setUint16(8, STORED, true);
    view.setUint32(14, crc, true);
    view.setUint32(18, zip64 ? U32_MAX : size, true);
    view.setUint32(22, zip64 ? U32_MAX : size, true);
    view.setUint16(26, nameBytes.length, true);
    view.setUint16(28, extraLength, true);
    header.set(nameBytes, 30);
    let at = 30 + nameBytes.length;
    if (zip64) {
      view.setUint16(at, ZIP64_EXTRA, true);
      view.setUint16(at + 2, 16, true);
      view.setBigUint64(at + 4, BigInt(size), true);
      view.setBigUint64(at + 12, BigInt(size), true);
      at += 20;
    }
    view.setUint16(at, 0x4246, true); // "FB", PyTorch's padding record
    view.setUint16(at + 2, padding, true);

    this.written.push({ name: nameBytes, crc, size, offset: this.position, zip64: zip64 || this.position >= U32_MAX });
    await this.put(header);
    let remaining = size;
    for await (const slice of slices) {
      remaining -= slice.byteLength;
      if (remaining < 0) break;
      await this.put(slice);
    }
    if (remaining !== 0) throw new Error(`bug: zip record ${name} got ${size - remaining} bytes where ${size} were announced`);
  }

  private async put(bytes: Uint8Array): Promise<void> {
    await this.sink.write(bytes);
    this.position += bytes.byteLength;
  }

  async finish(): Promise<void> {
    const directoryOffset = this.position;
    const parts: Uint8Array[] = [];
    for (const entry of this.written) {
      const extraLength = entry.zip64 ? 28 : 0;
      const record = new Uint8Array(46 + entry.name.length + extraLength);
      const view = new DataView(record.buffer);
      view.setUint32(0, CENTRAL_HEADER, true);
      view.setUint16(4, entry.zip64 ? 45 : 20, true);
      view.setUint16(6, entry.zip64 ? 45 : 20, true);
      view.setUint16(8, 0x0800, true);
      view.setUint16(10, STORED, true);
      view.setUint32(16, entry.crc, true);
      view.setUint32(20, entry.zip64 ? U32_MAX : entry.size, true);
      view.setUint32(24, entry.zip64 ? U32_MAX : entry.size, true);
      view.setUint16(28, entry.name.length, true);
      view.setUint16(30, extraLength, true);
      view.setUint32(42, entry.zip64 ? U32_MAX : entry.offset, true);
      record.set(entry.name, 46);
      if (entry.zip64) {
        const at = 46 + entry.name.length;
        view.setUint16(at, ZIP64_EXTRA, true);
        view.setUint16(at + 2, 24, true);
        view.setBigUint64(at + 4, BigInt(entry.size), true);
        view.setBigUint64(at + 12, BigInt(entry.size), true);
        view.setBigUint64(at + 20, BigInt(entry.offset), true);
      }
      parts.push(record);
    }
    for (const part of parts) await this.put(part);
    const directorySize = this.position - directoryOffset;
    const count = this.written.length;
    const zip64 = this.options.forceZip64 === true || count >= 0xffff || directoryOffset >= U32_MAX || directorySize >= U32_MAX;

    if (zip64) {
      const record = new Uint8Array(56 + 20);
      const view = new DataView(record.buffer);
      view.setUint32(0, ZIP64_END_OF_CENTRAL_DIRECTORY, true);
      view.setBigUint64(4, 44n, true);
      view.setUint16(12, 45, true);
      view.setUint16(14, 45, true);
      view.setBigUint64(24, BigInt(count), true);
      view.setBigUint64(32, BigInt(count), true);
      view.setBigUint64(40, BigInt(directorySize), true);
      view.setBigUint64(48, BigInt(directoryOffset), true);
      view.setUint32(56, ZIP64_LOCATOR, true);
      view.setBigUint64(64, BigInt(this.position), true);
      view.setUint32(72, 1, true);
      await this.put(record);
    }
    const end = new Uint8Array(22);
    const view = new DataView(end.buffer);
    view.setUint32(0, END_OF_CENTRAL_DIRECTORY, true);
    view.setUint16(8, zip64 ? 0xffff : count, true);
    view.setUint16(10, zip64 ? 0xffff : count, true);
    view.setUint32(12, zip64 ? U32_MAX : directorySize, true);
    view.setUint32(16, zip64 ? U32_MAX : directoryOffset, true);
    await this.put(end);
  }
}
