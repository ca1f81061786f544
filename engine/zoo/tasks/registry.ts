import { TaskError } from '../errors.js';
import { digitsBinaryTask } from './binary.js';
import { classifierTask } from './classifier.js';
import { cnnArchitecture } from './cnn.js';
import { mlpArchitecture } from './mlp.js';
import type { BuiltinTask } from './types.js';

// Defaults are small but honest settings for a 2-core machine (see bench/zoo-collect.ts).
const builders: Record<string, () => BuiltinTask> = {
  'digits-mlp': () => classifierTask(mlpArchitecture('digits-mlp', 'digits', 64, 64, { seeds: 3, checkpointsPerSeed: 10, epochs: 30, batchSize: 32, lr: 3e-3 })),
  'mnist-mlp': () => classifierTask(mlpArchitecture('mnist-mlp', 'mnist', 784, 32, { seeds: 3, checkpointsPerSeed: 10, epochs: 4, batchSize: 64, lr: 1e-3 })),
  'digits-cnn': () => classifierTask(cnnArchitecture('digits-cnn', 'digits', 8, [8, 16], { seeds: 3, checkpointsPerSeed: 10, epochs: 20, batchSize: 32, lr: 3e-3 })),
  'mnist-cnn': () => classifierTask(cnnArchitecture('mnist-cnn', 'mnist', 28, [8, 16], { seeds: 3, checkpointsPerSeed: 10, epochs: 1, batchSize: 64, lr: 3e-3 })),
  'fashion-cnn': () => classifierTask(cnnArchitecture('fashion-cnn', 'fashion-mnist', 28, [8, 16], { seeds: 3, checkpointsPerSeed: 10, epochs: 1, batchSize: 64, lr: 3e-3 })),
  'digits-binary': digitsBinaryTask,
};

const cache = new Map<string, BuiltinTask>();

export function listTaskIds(): string[] {
  return Object.keys(builders);
}

/** A built-in task by id; an unknown id is a user error listing the known ones. */
export function getTask(id: string): BuiltinTask {
  const cached = cache.get(id);
  if (cached) return cached;
  const build = builders[id];
  if (!build) throw new TaskError('unknown_task', `there is no built-in task '${id}'`, { hint: `use one of: ${listTaskIds().join(', ')}` });
  const task = build();
  cache.set(id, task);
  return task;
}
