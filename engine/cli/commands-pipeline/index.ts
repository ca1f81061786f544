// The pipeline's commands, added to the command table in one line (engine/cli/commands.ts).
import type { Command } from '../command.js';
import { collectCommand } from './collect.js';
import { demoCommand } from './demo.js';
import { evaluateCommand } from './evaluate.js';
import { generateCommand } from './generate.js';
import { trainCommand } from './train.js';

export const PIPELINE_COMMANDS: readonly Command[] = [collectCommand, trainCommand, generateCommand, evaluateCommand, demoCommand];
