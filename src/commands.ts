// Every command of the CLI, in the order --help lists them.

import type { CommandFactory } from './command.js';
import { demoCommand } from '../jobs/demo/command.js';
import { localApiServerCommand } from '../jobs/local-apiserver/command.js';
import { metricsCommand } from '../jobs/metrics/command.js';
import { schemaCommand } from '../jobs/schema/command.js';
import { stateCommand } from '../jobs/state/command.js';
import { sweepCommand } from '../jobs/sweep/command.js';

export const commands: CommandFactory[] = [sweepCommand, metricsCommand, stateCommand, schemaCommand, localApiServerCommand, demoCommand];
