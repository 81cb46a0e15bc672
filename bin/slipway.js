#!/usr/bin/env node
// The `slipway` command. The CLI is compiled to dist/ by `npm install` (the package's prepare script).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
