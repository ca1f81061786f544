import type { EngineErrorCode } from '../protocol.js';
import { EngineError } from '../errors.js';

/** A built-in dataset is missing, damaged or unreadable. */
export class DatasetError extends EngineError {
  constructor(message: string, options: { file?: string; hint?: string } = {}) {
    super('dataset', message, options);
  }
}

/** A task id, task option or weight set that a built-in task cannot use. */
export class TaskError extends EngineError {
  constructor(code: EngineErrorCode, message: string, options: { file?: string; hint?: string } = {}) {
    super(code, message, options);
  }
}
