import { readFileSync } from 'node:fs';
import { SlipwayError } from '../errors.js';

/** `--config '{"a":1}'` or `--config @file.json`. */
export function parseConfigOption(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  const text = value.startsWith('@') ? readConfigFile(value.slice(1)) : value;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SlipwayError(
      'SLIPWAY_PARSE',
      `--config is not valid JSON (${(err as Error).message}). Pass JSON or @file.json.`,
    );
  }
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new SlipwayError('SLIPWAY_FILE_NOT_FOUND', `Config file ${path} cannot be read.`);
  }
}
