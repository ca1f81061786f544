// The compute jobs by kind: what the compute worker (engine/compute-worker.ts) runs, or the engine's
// thread where a service runs them inline. Each module is loaded on first use, so a thread that
// never computes never loads TensorFlow.js.
import type { JobKind } from '../protocol.js';
import type { BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';

export type ComputeKind = Extract<JobKind, 'collect' | 'train' | 'generate' | 'evaluate' | 'demo'>;

export const COMPUTE_KINDS: readonly ComputeKind[] = ['collect', 'train', 'generate', 'evaluate', 'demo'];

export async function runComputeJob(kind: ComputeKind, catalog: Catalog, blobs: BlobStore, params: never, ctx: JobContext): Promise<unknown> {
  switch (kind) {
    case 'collect':
      return (await import('./collect.js')).runCollect(catalog, blobs, params, ctx);
    case 'train':
      return (await import('./train.js')).runTrain(catalog, blobs, params, ctx);
    case 'generate':
      return (await import('./generate.js')).runGenerate(catalog, blobs, params, ctx);
    case 'evaluate':
      return (await import('./evaluate.js')).runEvaluate(catalog, blobs, params, ctx);
    case 'demo':
      return (await import('./demo.js')).runDemo(catalog, blobs, params, ctx);
    default:
      throw new Error(`'${String(kind)}' is not a compute job`);
  }
}
