import type { CheckpointFormat, CheckpointLayout, DType } from '../protocol.js';
import type { ReadOptions } from './limits.js';

/** One tensor of an opened checkpoint. Bytes are read only when asked. */
export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** numel × dtype size, validated against the file before anything is allocated */
  byteLength: number;
  /** raw little-endian bytes in row-major (C-contiguous) order; a fresh copy each call */
  read(): Promise<Uint8Array>;
}

/** A checkpoint as a reader sees it: tensors in the file's order (state_dict order where the format keeps it). */
export interface OpenedCheckpoint {
  format: CheckpointFormat;
  layout: CheckpointLayout;
  /** the file or folder that was opened */
  path: string;
  tensors: TensorEntry[];
  /** string metadata kept with the checkpoint and written back on export */
  metadata: Record<string, string>;
  /** releases file handles; reading a tensor after close fails */
  close(): Promise<void>;
}

/** A tensor held in memory, for writers. */
export interface TensorData {
  name: string;
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/** One module per on-disk format, Netron style: sniff, read, and (where possible) write. */
export interface FormatModule {
  name: string;
  /** file name endings this format uses (".safetensors"): when no format's bytes match, the reader for the file's extension explains what is wrong */
  extensions?: readonly string[];
  /** true when these first bytes (at least 64 when the file is that long) look like this format */
  match(head: Uint8Array): boolean;
  read(path: string, options?: ReadOptions): Promise<OpenedCheckpoint>;
  write?(path: string, tensors: TensorData[], metadata: Record<string, string>): Promise<void>;
}

export const DTYPE_SIZE: Record<DType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};
