import type { EngineErrorCode, EngineErrorInfo } from './protocol.js';

export interface EngineErrorOptions {
  file?: string;
  hint?: string;
  /** request fields the message and hint name as 'field' (EngineErrorInfo.fields) */
  fields?: string[];
  cause?: unknown;
}

/**
 * An error a user can meet: a stable code, a message that names the file or request field and what
 * is wrong, and a hint saying what to do. Messages speak the engine's contract (request fields and
 * values), never one host's words: the CLI maps fields to its flags. Anything else escaping the
 * engine is a bug (CLI exit 2).
 */
export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly file?: string;
  readonly hint?: string;
  readonly fields?: string[];

  constructor(code: EngineErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.file = options.file;
    this.hint = options.hint;
    if (options.fields !== undefined && options.fields.length > 0) this.fields = options.fields;
  }

  toInfo(): EngineErrorInfo {
    const info: EngineErrorInfo = { code: this.code, message: this.message };
    if (this.file !== undefined) info.file = this.file;
    if (this.hint !== undefined) info.hint = this.hint;
    if (this.fields !== undefined) info.fields = [...this.fields];
    return info;
  }
}

/** Thrown when a job is cancelled; the job ends as 'cancelled', not 'failed'. */
export class CancelledError extends EngineError {
  constructor(what = 'the job') {
    super('cancelled', `${what} was cancelled`);
  }
}
