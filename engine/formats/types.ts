import type { CheckpointFormat, CheckpointLayout, DType } from '../protocol.js';
import type { TensorData } from '../tensors.js';
import type { ReadOptions } from './limits.js';

/** A tensor in memory; defined with the dtypes in engine/tensors.ts (the tokenizer and the tasks pass it too). */
export type { TensorData };

/** One tensor of an opened checkpoint. Bytes are read only when asked. */
export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** numel × dtype size, validated against the file before anything is allocated */
  byteLength: number;
  /** raw little-endian bytes in row-major (C-contiguous) order; a fresh copy each call */
  read(): Promise<Uint8Array>;
  /**
   * The same bytes in order, in slices of at most `maxBytes` (each a fresh copy), so a writer
   * streams a tensor bigger than it should hold; absent where a reader can only give it whole.
   */
  readSlices?(maxBytes: number): AsyncIterable<Uint8Array>;
}

/**
 * What a writer takes: tensors in memory, or an opened checkpoint's entries, which writers read
 * one at a time (in slices where the reader can) as they write them, never all at once.
 */
export type TensorInput = TensorData | TensorEntry;

/** A file a writer wrote, with the sha256 of its bytes, hashed as they were written. */
export interface WrittenFile {
  path: string;
  sha256: string;
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

/** One module per on-disk format, Netron style: sniff, read, and (where possible) write. */
export interface FormatModule {
  name: string;
  /** file name endings this format uses (".safetensors"): when no format's bytes match, the reader for the file's extension explains what is wrong */
  extensions?: readonly string[];
  /** true when these first bytes (at least 64 when the file is that long) look like this format */
  match(head: Uint8Array): boolean;
  read(path: string, options?: ReadOptions): Promise<OpenedCheckpoint>;
  /** writes the file atomically */
  write?(path: string, tensors: readonly TensorInput[], metadata: Record<string, string>): Promise<WrittenFile>;
}

/**
 * A checkpoint that is a folder (a PEFT adapter, a timm hub folder): recognised by the names of
 * the files inside it, read as one checkpoint, written back as the same folder. Its config file
 * travels verbatim in the metadata, so a written-back folder holds it byte for byte.
 */
export interface FolderFormatModule {
  name: string;
  /** the layout read() reports for a folder of this kind */
  layout: CheckpointLayout;
  /** true when `folder` holds this format's files (read() then says what is wrong with them, if anything) */
  match(folder: string): Promise<boolean>;
  /** the folder to open instead when `file` is one of this format's files inside a folder of this kind */
  folderOf?(file: string): Promise<string | undefined>;
  read(folder: string, options?: ReadOptions): Promise<OpenedCheckpoint>;
  /** true when a checkpoint of `layout` exported as `format` is written as a folder of this kind */
  writes(format: CheckpointFormat, layout: CheckpointLayout): boolean;
  /** writes the folder (each file atomically); returns the weights file inside it */
  write(folder: string, format: CheckpointFormat, tensors: readonly TensorInput[], metadata: Record<string, string>): Promise<WrittenFile>;
}
