// Shared by scripts/kafka-broker.mjs and its parts: messages, failures, small helpers.
import fs from 'node:fs';

export const HOST = '127.0.0.1';
export const DEFAULT_PORT = 9092;

export function say(msg) {
  process.stderr.write(`[kafka-broker] ${msg}\n`);
}

export class Fail extends Error {}

export function fail(msg) {
  throw new Fail(msg);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function rmQuiet(p) {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    /* ignore */
  }
}
