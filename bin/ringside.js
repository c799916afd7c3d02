#!/usr/bin/env node
// Command-line entry: the bundled headless runner.
require('../dist/cli.js');
