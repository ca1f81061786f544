// A stack of LSTM layers over the token sequence. By default stacked as torch.nn.LSTM is (each
// layer's hidden states feed the next; the last layer's are the prototypes), which is what the RPG
// reference and the PyTorch twin (bench/rpg-twin.py) use. `residual` keeps the earlier form,
// pre-norm residual blocks x ← x + LSTM(LayerNorm(x)) with a final LayerNorm: on the digits zoo it
// learned markedly slower at equal steps (loss 0.209 vs 0.156 over steps 400–500, generated models
// far below the originals at 1000 steps), and it is kept only so saved generators load.
// The input projections of all tokens are one matMul per layer; only h·W_h runs step by step. The
// recurrence has a hand-written backward pass (BPTT): autodiff would transpose W_h at every step,
// and on wasm each fresh transposed weight is re-packed by XNNPACK (measured: 80% of an LSTM step at
// 21 tokens, and out of memory at 1024 tokens).
import { tf } from '../../tf.js';
import { Rng } from '../random.js';
import { ParameterFactory, applyNorm, createLayerNorm, type Norm, type RecurrentModel } from './layers.js';

interface LstmLayer {
  /** residual form only */
  norm: Norm | null;
  wx: tf.Variable; // [D, 4D], gate order i, f, g, o (torch's)
  wh: tf.Variable; // [D, 4D]
  b: tf.Variable; // [4D]
}

/** [4H] gate scales: the g gate's tanh(x) is computed as 2·σ(2x) − 1, so one sigmoid serves all four gates. */
function gateScale(width: number): tf.Tensor1D {
  const s = new Float32Array(4 * width).fill(1);
  s.fill(2, 2 * width, 3 * width);
  return tf.tensor1d(s);
}

/**
 * projected [L, B, 4H] (time-major input projections, bias included), wh [H, 4H] → h [L, B, H].
 * Forward keeps, per step, what the backward pass needs: gate activations, cell states.
 */
function recurrenceWithGradient(projected: tf.Tensor3D, wh: tf.Tensor2D, save: tf.GradSaveFunc) {
  const [length, batch, gates] = projected.shape;
  const width = gates / 4;
  const scale = gateScale(width);
  const offset = tf.sub(scale, 1);
  const steps = tf.unstack(projected) as tf.Tensor2D[];
  let h: tf.Tensor2D = tf.zeros([batch, width]);
  let c: tf.Tensor2D = tf.zeros([batch, width]);
  const hs: tf.Tensor2D[] = [];
  const cs: tf.Tensor2D[] = [];
  const acts: tf.Tensor2D[] = [];
  for (const step of steps) {
    const act = tf.sub(tf.mul(tf.sigmoid(tf.mul(tf.add(step, tf.matMul(h, wh)), scale)), scale), offset) as tf.Tensor2D;
    const [i, f, g, o] = tf.split(act, 4, 1) as tf.Tensor2D[];
    c = tf.add(tf.mul(f!, c), tf.mul(i!, g!));
    h = tf.mul(o!, tf.tanh(c));
    hs.push(h);
    cs.push(c);
    acts.push(act);
  }
  const hAll = tf.stack(hs) as tf.Tensor3D; // [L, B, H]
  save([hAll, tf.stack(cs), tf.stack(acts), wh]);
  return {
    value: hAll,
    gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
      const [hSaved, cSaved, actSaved, whSaved] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor2D];
      const [i, f, g, o] = tf.split(actSaved, 4, 2) as tf.Tensor3D[];
      const cPrev = tf.concat([tf.zeros([1, batch, width]), tf.slice(cSaved, [0, 0, 0], [length - 1, batch, width])], 0);
      const hPrev = tf.concat([tf.zeros([1, batch, width]), tf.slice(hSaved, [0, 0, 0], [length - 1, batch, width])], 0);
      const tanhC = tf.tanh(cSaved);
      // Everything that does not depend on the incoming gradient, vectorised over all steps:
      // dc_t = dh_t·o·(1 − tanh²c) + dc_{t+1};  d(pre-activation) = [dc, dc, dc, dh] ⊙ weights_t
      const dcFromDh = tf.unstack(tf.mul(o!, tf.sub(1, tf.square(tanhC)))) as tf.Tensor2D[];
      const weights = tf.unstack(
        tf.concat(
          [
            tf.mul(g!, tf.mul(i!, tf.sub(1, i!))), // di = dc·g, through σ'
            tf.mul(cPrev, tf.mul(f!, tf.sub(1, f!))), // df = dc·c_{t−1}
            tf.mul(i!, tf.sub(1, tf.square(g!))), // dg = dc·i, through tanh'
            tf.mul(tanhC, tf.mul(o!, tf.sub(1, o!))), // do = dh·tanh c
          ],
          2,
        ),
      ) as tf.Tensor2D[];
      const forget = tf.unstack(f!) as tf.Tensor2D[];
      const dys = tf.unstack(dy) as tf.Tensor2D[];
      const whT = tf.transpose(whSaved); // once, not once per step
      let dhNext: tf.Tensor2D = tf.zeros([batch, width]);
      let dcNext: tf.Tensor2D = tf.zeros([batch, width]);
      const dPre: tf.Tensor2D[] = new Array(length);
      for (let t = length - 1; t >= 0; t--) {
        const dh = tf.add(dys[t]!, dhNext);
        const dc = tf.add(tf.mul(dh, dcFromDh[t]!), dcNext);
        const d = tf.mul(tf.concat([dc, dc, dc, dh], 1), weights[t]!) as tf.Tensor2D;
        dPre[t] = d;
        dhNext = tf.matMul(d, whT);
        dcNext = tf.mul(dc, forget[t]!);
      }
      const dProjected = tf.stack(dPre) as tf.Tensor3D; // [L, B, 4H]
      const dWh = tf.matMul(tf.transpose(tf.reshape(hPrev, [length * batch, width])), tf.reshape(dProjected, [length * batch, gates]));
      return [dProjected, dWh];
    },
  };
}

type Recurrence = (projected: tf.Tensor3D, wh: tf.Tensor2D) => tf.Tensor3D;
let recurrence: Recurrence | null = null;

/** The recurrence with its own gradient; made on first use, once TensorFlow.js is loaded (../../tf.ts). */
export function lstmRecurrence(projected: tf.Tensor3D, wh: tf.Tensor2D): tf.Tensor3D {
  recurrence ??= tf.customGrad(recurrenceWithGradient as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as Recurrence;
  return recurrence(projected, wh);
}

export class LstmStack implements RecurrentModel {
  readonly variables: tf.Variable[];
  private readonly layers: LstmLayer[] = [];
  private readonly finalNorm: Norm | null;

  constructor(
    readonly width: number,
    layerCount: number,
    seed: number,
    readonly residual = false,
  ) {
    const params = new ParameterFactory(new Rng(seed), 'lstm');
    const bound = 1 / Math.sqrt(width);
    for (let l = 0; l < layerCount; l++) {
      this.layers.push({
        norm: residual ? createLayerNorm(params, width, `layer${l}/norm`) : null,
        wx: params.uniform([width, 4 * width], bound, `layer${l}/wx`),
        wh: params.uniform([width, 4 * width], bound, `layer${l}/wh`),
        b: params.uniform([4 * width], bound, `layer${l}/b`),
      });
    }
    this.finalNorm = residual ? createLayerNorm(params, width, 'final_norm') : null;
    this.variables = params.variables;
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      let h = x;
      for (const layer of this.layers) h = layer.norm ? tf.add(h, this.runLayer(layer, applyNorm(h, layer.norm))) : this.runLayer(layer, h);
      return this.finalNorm ? applyNorm(h, this.finalNorm) : h;
    });
  }

  /** [B, L, D] → hidden states [B, L, D] */
  private runLayer(layer: LstmLayer, x: tf.Tensor3D): tf.Tensor3D {
    const [batch, length, width] = x.shape;
    const projected = tf.add(tf.matMul(tf.reshape(x, [batch * length, width]) as tf.Tensor2D, layer.wx as tf.Tensor2D), layer.b);
    // Time-major, so that each step's input is one contiguous slice.
    const timeMajor = tf.transpose(tf.reshape(projected, [batch, length, 4 * width]), [1, 0, 2]) as tf.Tensor3D;
    return tf.transpose(lstmRecurrence(timeMajor, layer.wh as tf.Tensor2D), [1, 0, 2]) as tf.Tensor3D;
  }
}
