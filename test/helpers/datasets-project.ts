import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliResult, runCli } from './cli.js';
import { copyExampleProject } from './example-project.js';

/** A copy of examples/orders for the `slipway datasets` tests, with the CLI run in it. */
export interface DatasetsProject {
  dir: string;
  cli(...args: string[]): Promise<CliResult>;
  /**
   * Writes `datasets-v2.ts`: orders 2.0.0 (amount renamed total: a breaking change, so a new major) with an
   * upcast from `v1` (the statements before it must define `v1`; default: the example's orders 1.0.0)
   * and, when asked, a downcast back.
   */
  writeOrdersV2(options?: { v1?: string; closed?: boolean; downcast?: boolean }): void;
  remove(): void;
}

/** The `datasets migrate` arguments for the bridge of `datasets-v2.ts`, and any more (`--down`, `--until-caught-up`). */
export const MIGRATE_V2 = ['datasets', 'migrate', 'orders', '--to', '2', '--datasets', 'datasets-v2.ts'] as const;

export function datasetsProject(prefix: string): DatasetsProject {
  const project = copyExampleProject({ prefix, tsx: true });
  const dir = project.dir;
  return {
    dir,
    cli: (...args) => runCli(args, { cwd: dir }),
    writeOrdersV2(options = {}) {
      writeFileSync(
        join(dir, 'datasets-v2.ts'),
        [
          "import { Type } from '@sinclair/typebox';",
          `import { defineDataset${options.v1 === undefined ? '' : ', type JsonSchema'} } from 'slipway';`,
          "import { orders } from './datasets.js';",
          options.v1 ?? 'const v1 = orders;',
          'type V1 = { orderId: string; customerId: string; amount: number };',
          'type V2 = { orderId: string; customerId: string; total: number };',
          'export const ordersV2 = defineDataset({',
          "  name: 'orders', version: '2.0.0', key: 'customerId', partitions: 4,",
          `  schema: Type.Object({ orderId: Type.String(), customerId: Type.String(), total: Type.Number() }${options.closed ? ', { additionalProperties: false }' : ''}),`,
          '  upcast: { from: v1, map: (o: V1): V2 => ({ orderId: o.orderId, customerId: o.customerId, total: o.amount }) },',
          options.downcast
            ? "  downcast: (o: V2) => ({ orderId: o.orderId, customerId: o.customerId, amount: o.total, currency: 'EUR' as const, items: 1, createdAt: '2026-01-01T00:00:00.000Z' }),"
            : '',
          '});',
          '',
        ].join('\n'),
      );
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
