import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runControlStoreContract } from '../deploy/control-store-contract.js';
import { openSqliteControlStore } from './sqlite-control-store.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-control-store-'));

runControlStoreContract('sqlite', {
  open: () => openSqliteControlStore({ path: join(dir, 'control.db') }),
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});
