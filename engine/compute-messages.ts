// What crosses between the engine's thread and the compute worker (engine/compute.ts and
// engine/compute-worker.ts): ids, params, progress, results and errors — never tensors.
import type { BackendInfo, EngineErrorCode, Id } from './protocol.js';
import type { ProgressUpdate } from './jobs.js';
import type { ComputeKind } from './pipeline/compute-jobs.js';
import { CancelledError, EngineError } from './errors.js';

export interface BackendChoice {
  preferred?: string;
  threads?: number;
}

export type ToWorker =
  | { type: 'run'; id: Id; kind: ComputeKind; params: unknown }
  | { type: 'cancel'; id: Id }
  /** init: choose the backend now (with `choice`) if no job chose it yet; else only report it */
  | { type: 'backend'; ask: number; init: boolean; choice: BackendChoice }
  | { type: 'close' };

export type FromWorker =
  | { type: 'progress'; id: Id; update: ProgressUpdate }
  | { type: 'done'; id: Id; result: unknown; backend: BackendInfo | null }
  | { type: 'failed'; id: Id; error: SentError; backend: BackendInfo | null }
  | { type: 'backend'; ask: number; info: BackendInfo | null; error?: SentError }
  | { type: 'closed' };

/** An error as a structured-clone-safe object: an EngineError keeps code, message, hint, file and fields; a bug its class name and stack. */
export type SentError =
  | { kind: 'cancelled'; message: string }
  | { kind: 'engine'; code: EngineErrorCode; message: string; hint?: string; file?: string; fields?: string[]; stack?: string }
  | { kind: 'bug'; name: string; message: string; stack?: string };

export function sendError(error: unknown): SentError {
  if (error instanceof CancelledError) return { kind: 'cancelled', message: error.message };
  if (error instanceof EngineError) {
    return { kind: 'engine', code: error.code, message: error.message, ...pick(error), ...(error.stack ? { stack: error.stack } : {}) };
  }
  if (error instanceof Error) return { kind: 'bug', name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { kind: 'bug', name: 'Error', message: String(error) };
}

function pick(error: EngineError): { hint?: string; file?: string; fields?: string[] } {
  return {
    ...(error.hint !== undefined ? { hint: error.hint } : {}),
    ...(error.file !== undefined ? { file: error.file } : {}),
    ...(error.fields !== undefined ? { fields: [...error.fields] } : {}),
  };
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = { Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError };

/** The error the worker sent, as the engine's thread would have caught it had the job run there. */
export function receiveError(sent: SentError, jobId: Id): Error {
  if (sent.kind === 'cancelled') return new CancelledError(`job ${jobId}`);
  if (sent.kind === 'engine') {
    const error = new EngineError(sent.code, sent.message, {
      ...(sent.hint !== undefined ? { hint: sent.hint } : {}),
      ...(sent.file !== undefined ? { file: sent.file } : {}),
      ...(sent.fields ? { fields: sent.fields } : {}),
    });
    if (sent.stack) error.stack = sent.stack;
    return error;
  }
  const error = new (BUILTIN_ERRORS[sent.name] ?? Error)(sent.message);
  if (!BUILTIN_ERRORS[sent.name]) error.name = sent.name;
  if (sent.stack) error.stack = sent.stack;
  return error;
}
