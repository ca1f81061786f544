// Builders for hostile checkpoint files: hand-made pickles, torch zip archives (stored or deflated
// entries, duplicate names, lying sizes) and safetensors headers. Each test builds the exact file
// the hardening issue describes instead of keeping multi-megabyte fixtures in the repository.
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';

/** A pickle assembled opcode by opcode (protocol 2 unless said otherwise). */
export class PickleBuilder {
  private readonly parts: Uint8Array[] = [];
  private memo = 0;

  constructor(protocol = 2) {
    this.op(0x80, protocol);
  }

  op(...bytes: number[]): this {
    this.parts.push(Uint8Array.from(bytes));
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    return this;
  }

  u32(value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    return this.raw(b);
  }

  str(value: string): this {
    const bytes = new TextEncoder().encode(value);
    this.op(0x58).u32(bytes.length);
    return this.raw(bytes);
  }

  int(value: number): this {
    if (value >= 0 && value < 0x100) return this.op(0x4b, value);
    const b = new Uint8Array(5);
    b[0] = 0x4a;
    new DataView(b.buffer).setInt32(1, value, true);
    return this.raw(b);
  }

  global(module: string, name: string): this {
    return this.raw(new TextEncoder().encode(`c${module}\n${name}\n`));
  }

  /** BINPUT/LONG_BINPUT the top of the stack; returns the memo index */
  put(): number {
    const index = this.memo++;
    this.op(0x72).u32(index);
    return index;
  }

  get(index: number): this {
    return this.op(0x6a).u32(index);
  }

  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  reduce(): this {
    return this.op(0x52);
  }
  setitems(): this {
    return this.op(0x75);
  }
  stop(): this {
    return this.op(0x2e);
  }

  /** `_rebuild_tensor_v2(persistent ('storage', torch.<storageClass>, key, 'cpu', numel), offset, shape, stride, False, OrderedDict())` */
  tensor(storageClass: string, key: string, numel: number, offset: number, shape: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.mark();
    this.mark().str('storage').global('torch', storageClass).str(key).str('cpu').int(numel).tuple().op(0x51);
    this.int(offset);
    this.mark();
    for (const d of shape) this.int(d);
    this.tuple();
    this.mark();
    for (const s of stride) this.int(s);
    this.tuple();
    this.op(0x89);
    this.global('collections', 'OrderedDict').emptyTuple().reduce();
    return this.tuple().reduce();
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

/** A state-dict pickle: OrderedDict{name: tensor(...)} */
export function stateDictPickle(tensors: Array<{ name: string; storageClass?: string; key: string; numel: number; offset?: number; shape: number[]; stride: number[] }>): Uint8Array {
  const p = new PickleBuilder();
  p.global('collections', 'OrderedDict').emptyTuple().reduce();
  p.mark();
  for (const t of tensors) {
    p.str(t.name);
    p.tensor(t.storageClass ?? 'FloatStorage', t.key, t.numel, t.offset ?? 0, t.shape, t.stride);
  }
  return p.setitems().stop().bytes();
}

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** deflate this entry (torch itself never does) */
  deflate?: boolean;
  /** pre-compressed raw deflate bytes, with the uncompressed size and crc to claim */
  compressed?: { bytes: Uint8Array; size: number; crc: number };
  /** the directory's uncompressed size, when it should lie */
  claimedSize?: number;
}

/** A minimal zip (no zip64): what torch.load would open, or a deliberately lying variant. */
export function buildZip(entries: ZipInput[]): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    let body: Uint8Array;
    let method = 0;
    let size = entry.data.length;
    let crc = crc32(entry.data) >>> 0;
    if (entry.compressed) {
      body = entry.compressed.bytes;
      method = 8;
      size = entry.compressed.size;
      crc = entry.compressed.crc;
    } else if (entry.deflate) {
      body = deflateRawSync(entry.data, { level: 9 });
      method = 8;
    } else body = entry.data;
    if (entry.claimedSize !== undefined) size = entry.claimedSize;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(20, 4);
    record.writeUInt16LE(20, 6);
    record.writeUInt16LE(method, 10);
    record.writeUInt32LE(crc, 16);
    record.writeUInt32LE(body.length, 20);
    record.writeUInt32LE(size, 24);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt32LE(offset, 42);
    parts.push(local, name, Buffer.from(body));
    central.push(record, name);
    offset += 30 + name.length + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

/** A torch.save-like archive around `pickle` and storage records. */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}, options: { deflatePickle?: boolean; deflateStorages?: boolean } = {}): Uint8Array {
  return buildZip([
    { name: 'archive/data.pkl', data: pickle, deflate: options.deflatePickle },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data, deflate: options.deflateStorages })),
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

/**
 * Raw deflate of `megabytes` MiB of zeros without ever holding them: one MiB compressed with a
 * full flush (byte-aligned, no back-references across it) repeated, then a final empty block.
 */
export function zeroBomb(megabytes: number): { bytes: Uint8Array; size: number; crc: number } {
  const mib = Buffer.alloc(1 << 20);
  const chunk = deflateRawSync(mib, { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const parts: Buffer[] = [];
  let crc = 0;
  for (let i = 0; i < megabytes; i++) {
    parts.push(chunk);
    crc = crc32(mib, crc);
  }
  parts.push(Buffer.from([0x03, 0x00])); // final fixed-Huffman block holding only end-of-block
  return { bytes: Buffer.concat(parts), size: megabytes * (1 << 20), crc: crc >>> 0 };
}

/** A safetensors file from a header text and data bytes (no validation: hostile headers welcome). */
export function safetensorsFile(headerText: string, data: Uint8Array = new Uint8Array()): Uint8Array {
  const header = Buffer.from(headerText, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header, data]);
}

export function writeBytes(path: string, bytes: Uint8Array): string {
  writeFileSync(path, bytes);
  return path;
}
