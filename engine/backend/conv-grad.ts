// Conv2D gradient whose input side runs as a plain convolution with the flipped, transposed
// kernel when stride and dilation are 1: wasm's Conv2DBackpropInput took 950 ms where the forward
// convolution took 89 ms ([64,1,256,128] * [1,7,128,128], measured on the 2-core dev machine).
import { tf } from '../tf.js';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

function inputGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filter: tf.Tensor4D, strides: number | [number, number], pad: Pad, dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  if (info.strideHeight !== 1 || info.strideWidth !== 1) {
    return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides, pad, dataFormat: 'NHWC', dimRoundingMode, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [fh, fw, out, in]
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  const bottom = info.filterHeight - 1 - info.padInfo.bottom;
  const right = info.filterWidth - 1 - info.padInfo.right;
  const padding: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
  return tf.conv2d(dy, flipped, 1, padding);
}

export const conv2DGradient: tf.GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const dy4 = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor4D;
    const { dilations, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
      dilations: number | [number, number];
      strides: number | [number, number];
      pad: Pad;
      dataFormat: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const dilated = Array.isArray(dilations) ? dilations.some((d) => d !== 1) : dilations !== 1;
    if (dilated || dataFormat === 'NCHW') {
      throw new Error(`conv2d gradient: dilation ${String(dilations)} / ${dataFormat} are not supported (use dilation 1, NHWC)`);
    }
    const grads: Record<string, () => tf.Tensor> = {
      x: () => inputGradient(x, dy4, filter, strides, pad, dimRoundingMode),
      filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy4 }, { strides, pad, dataFormat, dimRoundingMode, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
    };
    return grads;
  },
};
