import { type Log, openEmbeddedLog, partitionFor } from 'slipway';
import { orders } from '../../examples/orders/datasets.js';
import { makeOrder } from './orders.js';

/** A steady stream of orders into the log from its own connection, until stopped. */
export class OrderLoad {
  #log: Log | undefined;
  #sent = 0;
  #started = 0;
  #loop: Promise<void> | undefined;
  #stop = false;

  constructor(
    readonly path: string,
    readonly ratePerSec: number,
    readonly customers = 200,
  ) {}

  get sent(): number {
    return this.#sent;
  }

  async start(): Promise<void> {
    this.#log = await openEmbeddedLog({ path: this.path, commitThread: false });
    await this.#log.createTopic(orders.topic, { partitions: orders.partitions });
    this.#started = performance.now();
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const log = this.#log as Log;
    while (!this.#stop) {
      const due = Math.floor(((performance.now() - this.#started) / 1000) * this.ratePerSec) - this.#sent;
      if (due > 0) {
        const records = [];
        for (let i = this.#sent; i < this.#sent + due; i++) {
          const value = makeOrder(i, this.customers);
          records.push({
            partition: partitionFor(value.customerId, orders.partitions),
            key: value.customerId,
            value: JSON.stringify(value),
          });
        }
        await log.append(orders.topic, records);
        this.#sent += due;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async stop(): Promise<number> {
    this.#stop = true;
    await this.#loop;
    await this.#log?.close();
    return this.#sent;
  }
}
