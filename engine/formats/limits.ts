// Read budgets: what any one checkpoint file may make a reader do. Each is checked before the
// work or the allocation it bounds (a worker's heap limit does not cap ArrayBuffers, so bounds
// are proven here, not hoped for); exceeding one is a ReadLimitError naming the file and the
// limit. The defaults are far above what any legitimate checkpoint needs (every fixture, every
// torch.save/safetensors/timm/PEFT file of a model up to 100 000 tensors) and far below what
// hurts the engine: a hostile file can make a reader use at most a few hundred MB and seconds.
import { EngineError } from '../errors.js';

export interface ReadLimits {
  /** opcodes one pickle may execute (a torch.save state_dict needs ~40 per tensor) */
  pickleOpcodes: number;
  /** containers nested inside each other, and MARKs open at once */
  pickleDepth: number;
  /** bytes of one pickled integer (LONG4; decimal digits / 2.4 for text INT/LONG): no quadratic big-integer decoding */
  pickleIntBytes: number;
  /** estimated bytes of the values a pickle builds, as a multiple of the pickle's own size, plus pickleHeapFloor */
  pickleHeapRatio: number;
  pickleHeapFloor: number;
  /** bytes decompressed or loaded whole from one file (inflated zip records, data.pkl), as a multiple of the file size, plus decodedFloor */
  decodedRatio: number;
  decodedFloor: number;
  /** bytes of all tensors materialised from one file (shared views and stride-0 expansions counted in full), as a multiple of the file size, plus tensorFloor */
  tensorRatio: number;
  tensorFloor: number;
  /** tensors in one file */
  tensorCount: number;
  /** bytes of a safetensors header (the spec's own limit) */
  headerBytes: number;
  /** bytes of a config file read from a checkpoint folder (config.json, adapter_config.json) */
  configBytes: number;
}

const MiB = 1024 * 1024;

/** The stated defaults; tests/formats.budgets.test.ts checks every fixture reads within them and every hostile file is refused by one. */
export const DEFAULT_LIMITS: Readonly<ReadLimits> = Object.freeze({
  pickleOpcodes: 20_000_000,
  pickleDepth: 500,
  pickleIntBytes: 256,
  pickleHeapRatio: 16,
  pickleHeapFloor: 64 * MiB,
  decodedRatio: 64,
  decodedFloor: 64 * MiB,
  tensorRatio: 4,
  tensorFloor: 64 * MiB,
  tensorCount: 100_000,
  headerBytes: 100_000_000,
  configBytes: 16 * MiB,
});

/** What a reader is given besides the path: budgets (defaults above) and a cancel signal. */
export interface ReadOptions {
  limits?: Partial<ReadLimits>;
  /** long reads (pickles, strided gathers, headers) check it and stop with CancelledError */
  signal?: AbortSignal;
}

export function limitsOf(options: ReadOptions | undefined): ReadLimits {
  return { ...DEFAULT_LIMITS, ...(options?.limits ?? {}) };
}

/** A file that would make a reader exceed one of its budgets. */
export class ReadLimitError extends EngineError {
  readonly limit: keyof ReadLimits;
  constructor(file: string, limit: keyof ReadLimits, problem: string) {
    super('read_limit_exceeded', `${file}: ${problem} (read limit ${limit})`, {
      file,
      hint: 'the file is damaged or hostile; a genuine checkpoint re-saved with torch.save(model.state_dict(), path) or as safetensors reads within the limits',
    });
    this.limit = limit;
  }
}

/** Bytes a file may make us decode or materialise: floor + ratio × the file's size. */
export function budgetFor(fileSize: number, ratio: number, floor: number): number {
  return floor + ratio * fileSize;
}

/** Counts bytes against one budget, refusing before the allocation that would pass it. */
export class ByteBudget {
  private used = 0;
  constructor(
    private readonly file: string,
    private readonly limit: keyof ReadLimits,
    readonly total: number,
    private readonly what: string,
  ) {}

  charge(bytes: number, detail = ''): void {
    if (!Number.isFinite(bytes) || bytes < 0 || this.used + bytes > this.total) {
      throw new ReadLimitError(this.file, this.limit, `${this.what} would reach ${this.used + bytes} bytes${detail ? ` (${detail})` : ''}, more than the ${Math.floor(this.total)} this file may use`);
    }
    this.used += bytes;
  }

  get spent(): number {
    return this.used;
  }
}
