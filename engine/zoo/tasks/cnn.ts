// A small CNN with BatchNorm: [conv3×3 → BN → ReLU → maxpool 2] × 2 → flatten (C, H, W) → fc.
// Convs have no bias (BatchNorm follows), as in timm/torchvision.
import { tf } from '../../tf.js';
import type { DatasetName } from '../datasets/types.js';
import type { Architecture } from './classifier.js';
import { batchNorm, conv2d, flattenLikeTorch, linear, sig } from './layers.js';
import type { CollectDefaults } from './types.js';

export function cnnArchitecture(id: string, dataset: DatasetName, size: number, channels: [number, number], defaults: CollectDefaults): Architecture {
  const [c1, c2] = channels;
  const pooled = Math.floor(size / 4);
  const signature = [...sig.conv2d('conv1', 1, c1, 3), ...sig.batchNorm('bn1', c1), ...sig.conv2d('conv2', c1, c2, 3), ...sig.batchNorm('bn2', c2), ...sig.linear('fc', c2 * pooled * pooled, 10)];
  const parameters = signature.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  return {
    id,
    dataset,
    description: `CNN conv${c1}-BN-pool-conv${c2}-BN-pool-fc on ${dataset} (${size}×${size}), ${parameters} values`,
    defaults,
    signature,
    forward(x, weights, ctx) {
      let h = tf.reshape(x, [x.shape[0], size, size, 1]) as tf.Tensor4D;
      h = tf.maxPool(tf.relu(batchNorm(conv2d(h, weights, 'conv1'), weights, 'bn1', ctx)) as tf.Tensor4D, 2, 2, 'valid');
      h = tf.maxPool(tf.relu(batchNorm(conv2d(h, weights, 'conv2'), weights, 'bn2', ctx)) as tf.Tensor4D, 2, 2, 'valid');
      return linear(flattenLikeTorch(h), weights, 'fc');
    },
  };
}
