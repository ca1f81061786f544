import type { TensorSignature } from '../protocol.js';

/** The architecture signature: ordered (name, dtype, shape) of every tensor (of an opened checkpoint, say). */
export function signatureOf(tensors: readonly TensorSignature[]): TensorSignature[] {
  return tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape: [...shape] }));
}

function describe(tensor: TensorSignature | undefined): string {
  return tensor ? `'${tensor.name}' ${tensor.dtype} [${tensor.shape.join(', ')}]` : 'nothing';
}

/**
 * The first place where `candidate` differs from `expected`, in words naming both sides
 * (`candidateName`, `expectedName`), or null when they match.
 */
export function firstDifference(expected: TensorSignature[], candidate: TensorSignature[], expectedName: string, candidateName: string): string | null {
  const length = Math.max(expected.length, candidate.length);
  for (let i = 0; i < length; i += 1) {
    const want = expected[i];
    const got = candidate[i];
    const at = `tensor #${i + 1}`;
    if (!want || !got) {
      return `${at} is ${describe(got)} in ${candidateName} but ${describe(want)} in ${expectedName} (${candidate.length} vs ${expected.length} tensors)`;
    }
    if (want.name !== got.name) return `${at} is named '${got.name}' in ${candidateName} but '${want.name}' in ${expectedName}`;
    if (JSON.stringify(want.shape) !== JSON.stringify(got.shape)) {
      return `${at} '${got.name}' has shape [${got.shape.join(', ')}] in ${candidateName} but [${want.shape.join(', ')}] in ${expectedName}`;
    }
    if (want.dtype !== got.dtype) return `${at} '${got.name}' has dtype ${got.dtype} in ${candidateName} but ${want.dtype} in ${expectedName}`;
  }
  return null;
}
