// `node --import ./test/helpers/record-loads.mjs …`: appends the URL of every module the process resolves through
// the ESM loader to the file named by SLIPWAY_RECORD_LOADS (test/cli-startup.test.ts checks what a start loads).
import { register } from 'node:module';

if (process.env.SLIPWAY_RECORD_LOADS)
  register('./record-loads-hooks.mjs', import.meta.url, { data: { file: process.env.SLIPWAY_RECORD_LOADS } });
