// The command table. Later stages add one module each (train, generate, evaluate, collect,
// demo, serve) and one line here.
import type { Command } from './command.js';
import { exportCommand } from './export.js';
import { gcCommand } from './gc.js';
import { importCommand } from './import.js';
import { infoCommand } from './info.js';
import { inspectCommand } from './inspect.js';
import { serveCommand } from './serve.js';
import { zooCreateCommand, zooListCommand, zooSetEvaluatorCommand, zooShowCommand } from './zoo.js';
import { PIPELINE_COMMANDS } from './commands-pipeline/index.js';

export const COMMANDS: readonly Command[] = [
  infoCommand,
  inspectCommand,
  zooCreateCommand,
  zooListCommand,
  zooShowCommand,
  zooSetEvaluatorCommand,
  importCommand,
  exportCommand,
  serveCommand,
  gcCommand,
  ...PIPELINE_COMMANDS,
];
