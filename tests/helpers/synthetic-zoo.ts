// A small zoo for generator tests, as TrainingInput: `count` checkpoints of `tokens` tokens of
// `size` values, one random base plus noise of 0.1 each (seed 3), two tokens per tensor.
import { Rng } from '../../engine/rpg/random.js';
import type { TrainingInput } from '../../engine/rpg/trainer.js';

export function syntheticZoo(count: number, tokens: number, size: number): TrainingInput {
  const rng = new Rng(3);
  const base = new Float32Array(tokens * size);
  rng.fillNormal(base);
  return {
    shape: {
      tokenCount: tokens,
      tensorIndexOfToken: Int32Array.from({ length: tokens }, (_, i) => i >> 1),
      indexInTensorOfToken: Int32Array.from({ length: tokens }, (_, i) => i & 1),
      permutationStates: count,
      taskBits: 0,
    },
    checkpointCount: count,
    tokens: Array.from({ length: count }, () => base.map((v) => v + 0.1 * rng.normal())),
    mask: new Float32Array(tokens * size).fill(1),
    permutationStates: Array.from({ length: count }, (_, i) => i),
  };
}
