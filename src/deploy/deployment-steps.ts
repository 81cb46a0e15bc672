import { errorToJSON } from '../errors.js';
import type { ControlStore } from './control-store.js';
import type {
  BeginData,
  DeploymentEvent,
  DeploymentEventBody,
  DeploymentRecord,
  DeploymentSummary,
  EndData,
  FinishInfo,
  InfoData,
  StepError,
  StepName,
  TerminalStatus,
} from './deployment.js';

/** An error as a step records it. */
export function stepError(err: unknown): StepError {
  const e = errorToJSON(err);
  return { code: e.code ?? null, message: e.message, ...(e.retryable === undefined ? {} : { retryable: e.retryable }) };
}

/**
 * Steps of one deployment, recorded in the control store before they are acted on (`begin`) and
 * when done (`end`, with their outcome), so a restarted controller knows where each deployment was.
 * Typed by step: what a step records is what the deployment model says it records.
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
  ended<S extends StepName>(step: S): EndData<S> | undefined {
    for (let i = this.#events.length - 1; i >= 0; i--) {
      const e = this.#events[i] as DeploymentEvent;
      if (e.step === step && e.kind === 'end') return e.data as EndData<S>;
    }
    return undefined;
  }

  /** The data of the last `info` event recorded for `step`, or undefined if none was. */
  lastInfo<S extends StepName>(step: S): InfoData<S> | undefined {
    for (let i = this.#events.length - 1; i >= 0; i--) {
      const e = this.#events[i] as DeploymentEvent;
      if (e.step === step && e.kind === 'info') return e.data as InfoData<S>;
    }
    return undefined;
  }

  /** Whether `step` began (was recorded as begun), whatever came of it. */
  began(step: StepName): boolean {
    return this.#events.some((e) => e.step === step && e.kind === 'begin');
  }

  async #append(body: DeploymentEventBody): Promise<void> {
    const event = await this.#store.appendEvent(this.#record.id, body);
    this.#events.push(event);
    this.#onEvent(event);
  }

  /** Runs a step: records `begin`, acts, records `end` with what `fn` returned (or `error`, and rethrows). */
  async run<S extends StepName>(step: S, fn: () => Promise<EndData<S>>, begin?: BeginData<S>): Promise<EndData<S>> {
    this.#record = await this.#store.updateDeployment(this.#record.id, { step });
    await this.#append({ step, kind: 'begin', data: begin ?? {} } as DeploymentEventBody);
    try {
      const result = await fn();
      await this.#append({ step, kind: 'end', data: result } as DeploymentEventBody);
      return result;
    } catch (err) {
      await this.#append({ step, kind: 'error', data: stepError(err) } as DeploymentEventBody);
      throw err;
    }
  }

  async info<S extends StepName>(step: S, data: InfoData<S>): Promise<void> {
    await this.#append({ step, kind: 'info', data } as DeploymentEventBody);
  }

  async summarize(patch: Partial<DeploymentSummary>): Promise<void> {
    this.#record = await this.#store.updateDeployment(this.#record.id, {
      summary: { ...this.#record.summary, ...patch },
    });
  }

  async finish(status: TerminalStatus, patch: FinishInfo = {}): Promise<DeploymentRecord> {
    this.#record = await this.#store.updateDeployment(this.#record.id, {
      status,
      step: status,
      summary: { ...this.#record.summary, ...patch, finishedAt: Date.now() },
    });
    await this.#append({ step: status, kind: 'info', data: patch });
    return this.#record;
  }
}
