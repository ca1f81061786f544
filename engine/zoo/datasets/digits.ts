// UCI 8×8 optical digits (1,797 samples, pixels 0..16), as shipped by scikit-learn
// (sklearn/datasets/data/digits.csv.gz), embedded in assets/datasets/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from '../errors.js';
import type { Dataset, DatasetSplit } from './types.js';
import { verifySha256 } from './verify.js';

/** sha256 of the uncompressed CSV (scikit-learn 1.2.1, Debian python3-sklearn 1.2.1+dfsg-1). */
export const DIGITS_CSV_SHA256 = '6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8';
export const DIGITS_SAMPLES = 1797;
/** Fixed split: the first 1,347 rows train, the last 450 test (41–48 test samples per class). */
export const DIGITS_TRAIN_COUNT = 1347;
const ASSET = join('assets', 'datasets', 'digits.csv.gz');
const HINT = 'restore assets/datasets/digits.csv.gz from the ParamZoo sources (see assets/datasets/README.md)';

/** The embedded CSV: $PARAMZOO_ASSETS_DIR/datasets/digits.csv.gz, else the first assets/ found above this module. */
export function digitsFile(): string {
  const fromEnv = process.env.PARAMZOO_ASSETS_DIR;
  if (fromEnv) return resolve(fromEnv, 'datasets', 'digits.csv.gz');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ASSET);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return resolve(ASSET);
    dir = parent;
  }
}

export function loadDigits(file = digitsFile()): Dataset {
  if (!existsSync(file)) throw new DatasetError(`the embedded digits dataset ${file} is missing`, { file, hint: HINT });
  let csv: Buffer;
  try {
    csv = gunzipSync(readFileSync(file));
  } catch (error) {
    throw new DatasetError(`${file} is not a readable gzip file (${(error as Error).message})`, { file, hint: HINT });
  }
  verifySha256(csv, DIGITS_CSV_SHA256, file, HINT);
  const rows = csv.toString('ascii').trim().split('\n');
  if (rows.length !== DIGITS_SAMPLES) throw new DatasetError(`${file} has ${rows.length} rows, expected ${DIGITS_SAMPLES}`, { file, hint: HINT });
  const pixels = new Uint8Array(DIGITS_SAMPLES * 64);
  const labels = new Uint8Array(DIGITS_SAMPLES);
  rows.forEach((row, r) => {
    const values = row.split(',').map(Number);
    if (values.length !== 65) throw new DatasetError(`${file} row ${r + 1} has ${values.length} columns, expected 65`, { file, hint: HINT });
    for (let j = 0; j < 64; j++) pixels[r * 64 + j] = values[j]!;
    labels[r] = values[64]!;
  });
  const cut = (from: number, to: number): DatasetSplit => ({
    count: to - from,
    pixels: pixels.slice(from * 64, to * 64),
    labels: labels.slice(from, to),
  });
  return {
    name: 'digits',
    height: 8,
    width: 8,
    numClasses: 10,
    pixelMax: 16,
    train: cut(0, DIGITS_TRAIN_COUNT),
    test: cut(DIGITS_TRAIN_COUNT, DIGITS_SAMPLES),
    source: file,
    split: `rows 1–${DIGITS_TRAIN_COUNT} train, rows ${DIGITS_TRAIN_COUNT + 1}–${DIGITS_SAMPLES} test (file order, no shuffle)`,
  };
}
