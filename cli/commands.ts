// Every command of the CLI, in the order --help lists them: the one place that knows every job.
// The parser (src/cli.ts) is handed this list, so nothing in src/ imports a job.

import type { CommandFactory } from '../src/command.js';
import { completionCommand } from '../jobs/completion/command.js';
import { demoCommand } from '../jobs/demo/command.js';
import { doctorCommand } from '../jobs/doctor/command.js';
import { localApiServerCommand } from '../jobs/local-apiserver/command.js';
import { metricsCommand } from '../jobs/metrics/command.js';
import { repairCommand } from '../jobs/repair/command.js';
import { restoreCommand } from '../jobs/restore/command.js';
import { schemaCommand } from '../jobs/schema/command.js';
import { snapshotCommand } from '../jobs/snapshot/command.js';
import { stateCommand } from '../jobs/state/command.js';
import { sweepCommand } from '../jobs/sweep/command.js';
import { verifyCommand } from '../jobs/verify/command.js';

export const commands: CommandFactory[] = [
  sweepCommand,
  repairCommand,
  metricsCommand,
  snapshotCommand,
  restoreCommand,
  verifyCommand,
  stateCommand,
  schemaCommand,
  doctorCommand,
  localApiServerCommand,
  demoCommand,
  completionCommand,
];
