import type { OpenedCheckpoint, TensorData } from '../formats/types.js';
import type { JobContext } from '../jobs.js';

/** Every tensor's bytes, in the checkpoint's order; checks for cancellation between tensors. */
export async function readAllTensors(opened: OpenedCheckpoint, ctx: Pick<JobContext, 'throwIfCancelled'>): Promise<TensorData[]> {
  const tensors: TensorData[] = [];
  for (const entry of opened.tensors) {
    ctx.throwIfCancelled();
    tensors.push({ name: entry.name, dtype: entry.dtype, shape: entry.shape, data: await entry.read() });
  }
  return tensors;
}
