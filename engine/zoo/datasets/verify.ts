import { createHash } from 'node:crypto';
import { DatasetError } from '../errors.js';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Refuses a dataset file whose (uncompressed) bytes are not the ones this code was tested on. */
export function verifySha256(bytes: Uint8Array, expected: string, file: string, hint: string): void {
  const actual = sha256Hex(bytes);
  if (actual !== expected) {
    throw new DatasetError(`${file} has sha256 ${actual} (uncompressed), expected ${expected}: the file is damaged or a different version`, {
      file,
      hint,
    });
  }
}
