import { type Dataset, type Log, partitionFor } from 'slipway';
import { orders } from '../../examples/orders/datasets.js';
import { type LogConfig, openLog } from '../../src/log/open-log.js';
import { makeOrder } from './orders.js';

/** A steady stream of orders into the log from its own connection, until stopped. */
export class OrderLoad {
  #log: Log | undefined;
  #sent = 0;
  #started = 0;
  #loop: Promise<void> | undefined;
  #stop = false;

  /** `log`: an embedded log file, or any log config (Kafka); `dataset`: where to (default the example's orders). */
  constructor(
    readonly log: string | LogConfig,
    readonly ratePerSec: number,
    readonly customers = 200,
    readonly dataset: Dataset = orders,
  ) {}

  get sent(): number {
    return this.#sent;
  }

  async start(): Promise<void> {
    this.#log = await openLog(typeof this.log === 'string' ? { engine: 'embedded', path: this.log } : this.log);
    await this.#log.createTopic(this.dataset.topic, { partitions: this.dataset.partitions });
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
            partition: partitionFor(value.customerId, this.dataset.partitions),
            key: value.customerId,
            value: JSON.stringify(value),
          });
        }
        await log.append(this.dataset.topic, records);
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
