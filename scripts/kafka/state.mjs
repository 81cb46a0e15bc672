// Where a broker's state lives: one folder per checkout, so two checkouts never share (or stop) a broker.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout (or installed package) these scripts belong to: the folder above scripts/. */
export function checkoutDir() {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/**
 * The default state folder of the broker of a checkout: `<tmp>/slipway-kafka-<folder name>-<hash of its real
 * path>`. It depends on the checkout, so `npm run kafka:start` in one checkout and `npm test` in another
 * neither share a broker nor stop each other's.
 */
export function defaultStateDir(checkout = checkoutDir()) {
  let real = path.resolve(checkout);
  try {
    real = fs.realpathSync(real);
  } catch {
    /* not there (yet): its path as given */
  }
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 12);
  const name = path
    .basename(real)
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .slice(0, 40);
  return path.join(os.tmpdir(), `slipway-kafka-${name}-${hash}`);
}

/** The state folder the scripts use: `$SLIPWAY_KAFKA_STATE`, else the checkout's default. */
export function stateDir(env = process.env) {
  return path.resolve(env.SLIPWAY_KAFKA_STATE || defaultStateDir());
}
