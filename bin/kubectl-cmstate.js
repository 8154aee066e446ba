#!/usr/bin/env node
// `kubectl cmstate …`: kubectl runs kubectl-cmstate from PATH with the words after `kubectl cmstate`
// and its own environment. The same CLI as bin/cmstate.js, in a file of its own so that the CLI
// can tell from its file name, also where npm wraps bins in .cmd files, to call itself
// `kubectl cmstate` in its usage lines.
import '../dist/cli/main.js';
