import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType } from '../../engine/protocol.js';
import { PROJECT_ROOT } from './cli.js';

/** PyTorch-written checkpoint fixtures kept in the repository (tests/fixtures/checkpoints/README.md). */
export const FIXTURES = join(PROJECT_ROOT, 'tests', 'fixtures', 'checkpoints');

export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  sum: number;
  first: number[];
}

export interface ExpectedFixture {
  kind: string;
  tensors: Record<string, ExpectedTensor>;
}

export function expectedFixtures(): { good: Record<string, ExpectedFixture>; bad: string[] } {
  const { bad, ...good } = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, unknown>;
  return { good: good as Record<string, ExpectedFixture>, bad: Object.keys(bad as Record<string, string>) };
}

/** torch dtype names (expected.json) → the safetensors names ParamZoo reports. */
export const TORCH_TO_DTYPE: Record<string, DType> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16',
  int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

/** |actual − expected| within 1e-6 relative (and 1e-9 absolute, for values at zero). */
export function close(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-6 * Math.abs(expected) + 1e-9;
}
