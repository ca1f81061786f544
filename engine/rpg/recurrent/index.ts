// The recurrent model of RPG: token conditions [B, L, D] → prototypes [B, L, D], one parallel pass.
import { EngineError } from '../../errors.js';
import { LstmStack } from './lstm.js';
import { MambaStack } from './mamba.js';
import { CausalTransformer } from './transformer.js';
import type { RecurrentModel } from './layers.js';

export type { RecurrentModel };

export type RecurrentKind = 'lstm' | 'mamba' | 'transformer';
export const RECURRENT_KINDS: readonly RecurrentKind[] = ['lstm', 'mamba', 'transformer'];

export interface RecurrentConfig {
  width: number;
  layers: number;
  /** Mamba: state size per head (default 32, the paper's small setting; reference 128) */
  dState?: number;
  /** Mamba: SSD heads (default inner width / 64); transformer: attention heads (default width / 64, at least 1) */
  heads?: number;
  /** Mamba: inner width = expand · width (default 2) */
  expand?: number;
  /** Mamba: causal conv kernel (default 4) */
  dConv?: number;
  /** Mamba: tokens per SSD chunk (default 64) */
  chunk?: number;
  /** LSTM: the older pre-norm residual form instead of a torch.nn.LSTM-style stack (default false) */
  lstmResidual?: boolean;
}

export class RecurrentConfigError extends EngineError {
  constructor(message: string) {
    super('generator_config', message, { hint: 'fix the recurrent settings of the generator config (width, layers, heads, dState, expand, dConv, chunk)' });
  }
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RecurrentConfigError(`${what} must be a positive integer, got ${value}`);
  return value;
}

function divides(heads: number, width: number, what: string): number {
  if (width % heads !== 0) throw new RecurrentConfigError(`${what} width ${width} is not divisible by ${heads} heads`);
  return heads;
}

export function createRecurrent(kind: RecurrentKind, cfg: RecurrentConfig, seed: number): RecurrentModel {
  const width = positiveInteger(cfg.width, 'recurrent width');
  const layers = positiveInteger(cfg.layers, 'recurrent layers');
  switch (kind) {
    case 'lstm':
      return new LstmStack(width, layers, seed, cfg.lstmResidual ?? false);
    case 'transformer':
      return new CausalTransformer(width, layers, divides(positiveInteger(cfg.heads ?? Math.max(1, Math.floor(width / 64)), 'transformer heads'), width, 'transformer'), seed);
    case 'mamba': {
      const expand = positiveInteger(cfg.expand ?? 2, 'Mamba expand');
      return new MambaStack(
        {
          width,
          layers,
          expand,
          dState: positiveInteger(cfg.dState ?? 32, 'Mamba dState'),
          heads: divides(positiveInteger(cfg.heads ?? Math.max(1, Math.floor((expand * width) / 64)), 'Mamba heads'), expand * width, 'Mamba inner'),
          dConv: positiveInteger(cfg.dConv ?? 4, 'Mamba dConv'),
          chunk: positiveInteger(cfg.chunk ?? 64, 'Mamba chunk'),
        },
        seed,
      );
    }
    default:
      throw new RecurrentConfigError(`unknown recurrent model '${String(kind)}': use lstm, mamba or transformer`);
  }
}
