#!/usr/bin/env node
// The `slipway` command. The CLI is compiled to dist/ by `npm install` (the package's prepare script).
import '../dist/cli/entry.js';
