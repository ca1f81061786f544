// BatchMatMul gradient without transposed-operand matmuls (on wasm those run ~10× slower than an
// explicit transpose + plain matmul) and with correctly shaped gradients for broadcast batch
// dimensions (the stock gradient returns [B,D,E] for the [D,E] side of matMul([B,L,D],[D,E])).
import { tf } from '../tf.js';

function swapLastTwo(x: tf.Tensor): tf.Tensor {
  const rank = x.rank;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return tf.transpose(x, perm);
}

/** Sums over the batch axes that were broadcast, back to the input's own shape. */
function unbroadcast(grad: tf.Tensor, shape: number[]): tf.Tensor {
  if (tf.util.arraysEqual(grad.shape, shape)) return grad;
  const batchShape = shape.slice(0, -2);
  const gradBatch = grad.shape.slice(0, -2);
  const axes = tf.backend_util.getReductionAxes(batchShape, gradBatch);
  const summed = axes.length > 0 ? tf.sum(grad, axes) : grad;
  return tf.reshape(summed, shape);
}

/**
 * Gradient of C = op(A)·op(B) for one side. `sameBatch` cases use plain batched matmuls; a rank-2
 * (or batch-1) weight against a batched input folds the batch into rows: one big 2-D matmul.
 */
function gradients(dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean) {
  // Effective operands: A' = op(a) [.., M, K], B' = op(b) [.., K, N]; dA' = dy·B'ᵀ, dB' = A'ᵀ·dy.
  const aBatch = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const bBatch = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const gradA = (): tf.Tensor => {
    const bEffT = transposeB ? b : swapLastTwo(b); // B'ᵀ [.., N, K]
    let dAeff: tf.Tensor; // [.., M, K]
    if (bBatch === 1 && aBatch > 1) {
      const n = dy.shape[dy.rank - 1]!;
      const bT2 = tf.reshape(bEffT, bEffT.shape.slice(-2));
      dAeff = tf.reshape(tf.matMul(tf.reshape(dy, [-1, n]), bT2), [...dy.shape.slice(0, -1), bT2.shape[1]!]);
    } else {
      dAeff = tf.matMul(dy, bEffT);
    }
    const dA = transposeA ? swapLastTwo(dAeff) : dAeff;
    return unbroadcast(dA, a.shape);
  };
  const gradB = (): tf.Tensor => {
    if (!(bBatch === 1 && aBatch > 1)) {
      const aEffT = transposeA ? a : swapLastTwo(a); // A'ᵀ [.., K, M]
      const dBeff = tf.matMul(aEffT, dy); // [.., K, N]
      return unbroadcast(transposeB ? swapLastTwo(dBeff) : dBeff, b.shape);
    }
    // b shared across a's batch: dB' = Σ_i A'_iᵀ dy_i = (A' as [B·M, K])ᵀ · (dy as [B·M, N]).
    const aEff = transposeA ? swapLastTwo(a) : a;
    const k = aEff.shape[aEff.rank - 1]!;
    const n = dy.shape[dy.rank - 1]!;
    const dBeff = tf.matMul(tf.transpose(tf.reshape(aEff, [-1, k])), tf.reshape(dy, [-1, n])); // [K, N]
    return tf.reshape(transposeB ? tf.transpose(dBeff) : dBeff, b.shape);
  };
  return { a: gradA, b: gradB };
}

export const matMulGradient: tf.GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    return gradients(dy as tf.Tensor, a, b, transposeA, transposeB);
  },
};
