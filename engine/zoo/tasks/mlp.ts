// Multi-layer perceptrons: fc1 → ReLU → fc2, as `nn.Sequential`-free PyTorch modules would name them.
import { tf } from '../../tf.js';
import type { DatasetName } from '../datasets/types.js';
import type { Architecture } from './classifier.js';
import { linear, sig } from './layers.js';
import type { CollectDefaults } from './types.js';

export function mlpArchitecture(id: string, dataset: DatasetName, inputs: number, hidden: number, defaults: CollectDefaults): Architecture {
  const signature = [...sig.linear('fc1', inputs, hidden), ...sig.linear('fc2', hidden, 10)];
  const parameters = signature.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  return {
    id,
    dataset,
    description: `MLP ${inputs}→${hidden}→10 (ReLU) on ${dataset}, ${parameters} parameters`,
    defaults,
    signature,
    forward: (x, weights) => linear(tf.relu(linear(x, weights, 'fc1')), weights, 'fc2'),
  };
}
