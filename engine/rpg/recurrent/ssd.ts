// Mamba-2's selective scan with a scalar decay per head, in the chunked "SSD" form:
//   h_t = exp(dt_t·A)·h_{t−1} + dt_t·x_t ⊗ B_t,   y_t = C_t·h_t      (h_t: [N, P] per head)
// computed with cumsum, exp and batched matMuls instead of a step loop. Every exponent is a sum of
// decays over a stretch of time (≤ 0): a plain exp(−cumsum) over the whole sequence would overflow.
// Masked (non-causal) entries are sent to −1e30 before exp, never through exp of a positive number.
import { tf } from '../../tf.js';
import { batchMatMul } from './layers.js';

const MASKED = -1e30;

/** [n, n] lower-triangular 0/1 mask (strict: the diagonal excluded) and the matching exponent bias. */
function triangle(n: number, strict: boolean): { keep: tf.Tensor2D; bias: tf.Tensor2D } {
  const keep = new Float32Array(n * n);
  const bias = new Float32Array(n * n).fill(MASKED);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= (strict ? i - 1 : i); j++) {
      keep[i * n + j] = 1;
      bias[i * n + j] = 0;
    }
  }
  return { keep: tf.tensor2d(keep, [n, n]), bias: tf.tensor2d(bias, [n, n]) };
}

/** exp of (rows − columns) on the kept triangle, 0 elsewhere: [..., n] × [..., n] → [..., n, n] */
function maskedDecay(rows: tf.Tensor, columns: tf.Tensor, mask: { keep: tf.Tensor2D; bias: tf.Tensor2D }): tf.Tensor {
  const difference = tf.sub(tf.expandDims(rows, -1), tf.expandDims(columns, -2));
  return tf.exp(tf.add(tf.mul(difference, mask.keep), mask.bias));
}

/**
 * x [B, L, H, P], dt [B, L, H] (> 0), a [H] (< 0), b [B, L, N], c [B, L, N] → y [B, L, H, P].
 * `chunk` tokens per block; L need not be a multiple (the tail is zero-padded: dt = 0 there).
 */
export function ssdChunked(x: tf.Tensor4D, dt: tf.Tensor3D, a: tf.Tensor1D, b: tf.Tensor3D, c: tf.Tensor3D, chunk: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, length, heads, headDim] = x.shape;
    const n = b.shape[2];
    // A sequence shorter than a chunk is one chunk of its own length (no padding work).
    chunk = Math.min(chunk, length);
    const chunks = Math.ceil(length / chunk);
    const padded = chunks * chunk;
    if (padded > length) {
      const tail = padded - length;
      x = tf.pad(x, [
        [0, 0],
        [0, tail],
        [0, 0],
        [0, 0],
      ]);
      dt = tf.pad(dt, [
        [0, 0],
        [0, tail],
        [0, 0],
      ]);
      b = tf.pad(b, [
        [0, 0],
        [0, tail],
        [0, 0],
      ]);
      c = tf.pad(c, [
        [0, 0],
        [0, tail],
        [0, 0],
      ]);
    }
    const xdt = tf.mul(x, tf.expandDims(dt, 3)); // [B, Lp, H, P]
    // log-decays, head-major so the cumsum runs over the last axis: [B, H, nC, Q]
    const logDecay = tf.reshape(tf.transpose(tf.mul(dt, a), [0, 2, 1]), [batch, heads, chunks, chunk]);
    const cum = tf.cumsum(logDecay, 3);
    const total = tf.sum(logDecay, 3); // [B, H, nC]

    const bChunks = tf.reshape(b, [batch * chunks, chunk, n]);
    const bT = tf.transpose(bChunks, [0, 2, 1]); // [B·nC, N, Q]
    const cChunks = tf.reshape(c, [batch * chunks, chunk, n]) as tf.Tensor3D;

    // Each stage in its own tidy: its intermediates (∝ sequence length) are freed before the next
    // stage runs, which bounds the memory of long sequences (a gradient tape keeps its own copies).
    // 1. Within each chunk: y_t += Σ_{s≤t} (C_t·B_s)·exp(cum_t − cum_s)·dt_s·x_s
    const yWithin = tf.tidy(() => {
      const within = maskedDecay(cum, cum, triangle(chunk, false)); // [B, H, nC, Q, Q]
      const cb = tf.reshape(batchMatMul(cChunks, bT as tf.Tensor3D), [batch, 1, chunks, chunk, chunk]);
      const mixing = tf.reshape(tf.mul(within, cb), [batch * heads * chunks, chunk, chunk]) as tf.Tensor3D;
      const xHeads = tf.reshape(tf.transpose(xdt, [0, 2, 1, 3]), [batch * heads * chunks, chunk, headDim]) as tf.Tensor3D;
      return tf.transpose(tf.reshape(batchMatMul(mixing, xHeads), [batch, heads, padded, headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
    });
    if (chunks === 1) return yWithin; // no state crosses a chunk boundary

    const enteringByChunk = tf.tidy(() => {
      // 2. State each chunk leaves behind, starting from zero: Σ_s exp(total − cum_s)·dt_s·x_s ⊗ B_s
      const toEnd = tf.transpose(tf.reshape(tf.exp(tf.sub(tf.expandDims(total, 3), cum)), [batch, heads, padded]), [0, 2, 1]); // [B, Lp, H]
      const xToEnd = tf.reshape(tf.mul(xdt, tf.expandDims(toEnd, 3)), [batch * chunks, chunk, heads * headDim]) as tf.Tensor3D;
      const states = batchMatMul(bT as tf.Tensor3D, xToEnd); // [B·nC, N, H·P]

      // 3. State entering chunk k: Σ_{j<k} exp(T_{k−1} − T_j)·states_j, T = cumsum of chunk totals
      const totals = tf.cumsum(total, 2);
      const exclusive = tf.sub(totals, total); // T_{k−1}
      const across = tf.reshape(maskedDecay(exclusive, totals, triangle(chunks, true)), [batch * heads, chunks, chunks]) as tf.Tensor3D;
      const statesByHead = tf.reshape(tf.transpose(tf.reshape(states, [batch, chunks * n, heads, headDim]), [0, 2, 1, 3]), [batch * heads, chunks, n * headDim]) as tf.Tensor3D;
      const entering = batchMatMul(across, statesByHead); // [B·H, nC, N·P]
      return tf.reshape(tf.transpose(tf.reshape(entering, [batch, heads, chunks * n, headDim]), [0, 2, 1, 3]), [batch * chunks, n, heads * headDim]) as tf.Tensor3D;
    });

    // 4. Its contribution inside the chunk: exp(cum_t)·C_t·state
    const yEntering = tf.tidy(() => {
      const fromStart = tf.transpose(tf.reshape(tf.exp(cum), [batch, heads, padded]), [0, 2, 1]); // [B, Lp, H]
      return tf.mul(tf.reshape(batchMatMul(cChunks, enteringByChunk), [batch, padded, heads, headDim]), tf.expandDims(fromStart, 3));
    });

    const y = tf.add(yWithin, yEntering) as tf.Tensor4D;
    return padded > length ? (tf.slice(y, [0, 0, 0, 0], [batch, length, heads, headDim]) as tf.Tensor4D) : y;
  });
}

/** The same recurrence as a plain loop over time in float64: the reference the chunked form is tested against. */
export function ssdSequential(
  x: Float32Array,
  dt: Float32Array,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  shape: { batch: number; length: number; heads: number; headDim: number; state: number },
): Float64Array {
  const { batch, length, heads, headDim, state } = shape;
  const y = new Float64Array(batch * length * heads * headDim);
  for (let bi = 0; bi < batch; bi++) {
    for (let h = 0; h < heads; h++) {
      const hState = new Float64Array(state * headDim);
      for (let t = 0; t < length; t++) {
        const step = dt[(bi * length + t) * heads + h]!;
        const decay = Math.exp(step * a[h]!);
        const bt = (bi * length + t) * state;
        const xt = ((bi * length + t) * heads + h) * headDim;
        for (let s = 0; s < state; s++) {
          for (let p = 0; p < headDim; p++) {
            hState[s * headDim + p] = decay * hState[s * headDim + p]! + step * b[bt + s]! * x[xt + p]!;
          }
        }
        for (let p = 0; p < headDim; p++) {
          let sum = 0;
          for (let s = 0; s < state; s++) sum += c[bt + s]! * hState[s * headDim + p]!;
          y[xt + p] = sum;
        }
      }
    }
  }
  return y;
}
