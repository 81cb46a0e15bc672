import type { ControlStore, DeploymentEvent, DeploymentRecord } from '../control/control-store.js';

/**
 * Steps of one deployment, recorded in the control store before they are acted on (`begin`) and
 * when done (`end`, with their outcome), so a restarted controller knows where each deployment was.
 */
export class DeploymentSteps {
  readonly #store: ControlStore;
  #record: DeploymentRecord;
  #events: DeploymentEvent[];
  readonly #onEvent: (event: DeploymentEvent) => void;

  constructor(
    store: ControlStore,
    record: DeploymentRecord,
    events: DeploymentEvent[],
    onEvent: (e: DeploymentEvent) => void,
  ) {
    this.#store = store;
    this.#record = record;
    this.#events = events;
    this.#onEvent = onEvent;
  }

  get record(): DeploymentRecord {
    return this.#record;
  }

  /** The outcome recorded when `step` ended (the last time), or undefined if it never ended. */
  ended(step: string): Record<string, unknown> | undefined {
    for (let i = this.#events.length - 1; i >= 0; i--) {
      const e = this.#events[i] as DeploymentEvent;
      if (e.step === step && e.kind === 'end') return e.data;
    }
    return undefined;
  }

  /** The data of the last `info` event recorded for `step`, or undefined if none was. */
  lastInfo(step: string): Record<string, unknown> | undefined {
    for (let i = this.#events.length - 1; i >= 0; i--) {
      const e = this.#events[i] as DeploymentEvent;
      if (e.step === step && e.kind === 'info') return e.data;
    }
    return undefined;
  }

  /** Whether `step` began (was recorded as begun), whatever came of it. */
  began(step: string): boolean {
    return this.#events.some((e) => e.step === step && e.kind === 'begin');
  }

  async #append(step: string, kind: DeploymentEvent['kind'], data: Record<string, unknown>): Promise<void> {
    const event = await this.#store.appendEvent(this.#record.id, step, kind, data);
    this.#events.push(event);
    this.#onEvent(event);
  }

  /** Runs a step: records `begin`, acts, records `end` with what `fn` returned. */
  async run<T extends Record<string, unknown>>(
    step: string,
    fn: () => Promise<T>,
    begin: Record<string, unknown> = {},
  ): Promise<T> {
    this.#record = await this.#store.updateDeployment(this.#record.id, { step });
    await this.#append(step, 'begin', begin);
    try {
      const result = await fn();
      await this.#append(step, 'end', result);
      return result;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      await this.#append(step, 'error', { code: e?.code ?? null, message: e?.message ?? String(err) });
      throw err;
    }
  }

  async info(step: string, data: Record<string, unknown>): Promise<void> {
    await this.#append(step, 'info', data);
  }

  async summarize(patch: Record<string, unknown>): Promise<void> {
    this.#record = await this.#store.updateDeployment(this.#record.id, {
      summary: { ...this.#record.summary, ...patch },
    });
  }

  async finish(status: DeploymentRecord['status'], patch: Record<string, unknown> = {}): Promise<DeploymentRecord> {
    this.#record = await this.#store.updateDeployment(this.#record.id, {
      status,
      step: status,
      summary: { ...this.#record.summary, ...patch, finishedAt: Date.now() },
    });
    await this.#append(status, 'info', patch);
    return this.#record;
  }
}
