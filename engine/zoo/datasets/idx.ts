// The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (0, 0, type 0x08 = ubyte, number of
// dimensions), the dimensions as big-endian uint32, then the data.
import { DatasetError } from '../errors.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, file: string, expectedDims: number): IdxArray {
  const fail = (what: string) => new DatasetError(`${file} is not a valid IDX file: ${what}`, { file, hint: 'reinstall the dataset package' });
  if (bytes.byteLength < 4) throw fail('shorter than its 4-byte header');
  if (bytes[0] !== 0 || bytes[1] !== 0) throw fail('bad magic number');
  if (bytes[2] !== 0x08) throw fail(`element type 0x${bytes[2]!.toString(16)} is not unsigned byte (0x08)`);
  const rank = bytes[3]!;
  if (rank !== expectedDims) throw fail(`${rank} dimensions, expected ${expectedDims}`);
  const headerLength = 4 + 4 * rank;
  if (bytes.byteLength < headerLength) throw fail('truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== headerLength + count) {
    throw fail(`dimensions [${dims.join(',')}] need ${headerLength + count} bytes, the file has ${bytes.byteLength}`);
  }
  return { dims, data: bytes.subarray(headerLength) };
}
