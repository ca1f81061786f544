import type { TensorSignature } from '../engine/protocol.js';

/** The signature of an MLP with these layer widths, PyTorch-style names (`layers.i.weight` [out, in]). */
export function mlp(widths: number[]): TensorSignature[] {
  const out: TensorSignature[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    out.push({ name: `layers.${i}.weight`, dtype: 'F32', shape: [widths[i + 1]!, widths[i]!] });
    out.push({ name: `layers.${i}.bias`, dtype: 'F32', shape: [widths[i + 1]!] });
  }
  return out;
}
