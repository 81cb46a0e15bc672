import { Worker } from 'node:worker_threads';
import { SlipwayError } from '../../errors.js';
import type { CommitBatch, CommitResult } from '../log.js';
import type { EmbeddedLogOptions } from './embedded-log.js';
import { packBatch, packedTransferables } from './packed-batch.js';

/** An error as it crosses the thread boundary. */
export interface PlainError {
  code?: string;
  message: string;
  retryable?: boolean;
  details?: Record<string, unknown>;
}

export function toPlainError(err: unknown): PlainError {
  const e = err as { code?: unknown; message?: unknown; retryable?: unknown; details?: unknown };
  return {
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.retryable === 'boolean' ? { retryable: e.retryable } : {}),
    ...(typeof e?.details === 'object' && e.details !== null ? { details: e.details as Record<string, unknown> } : {}),
  };
}

function fromPlainError(plain: PlainError): Error {
  if (plain.code?.startsWith('SLIPWAY_')) {
    return new SlipwayError(plain.code as SlipwayError['code'], plain.message, {
      retryable: plain.retryable ?? false,
      details: plain.details ?? {},
    });
  }
  return Object.assign(new Error(plain.message), plain.code === undefined ? {} : { code: plain.code });
}

interface Pending {
  resolve(result: CommitResult): void;
  reject(err: Error): void;
}

/**
 * Runs the embedded log's commits on a worker thread with its own SQLite connection, so a runner
 * can process its next batch while the previous one is being written. Commits are applied in the
 * order they are sent; each one is still a single SQLite transaction.
 */
export class CommitWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #dead: Error | undefined;
  readonly #exited: Promise<void>;
  /** Resolves when the worker has opened its connection; rejects if it could not. */
  readonly ready: Promise<void>;

  constructor(options: EmbeddedLogOptions) {
    if (import.meta.url.endsWith('.ts')) {
      // Running from source (tests, benchmarks): load the TypeScript worker through tsx.
      const url = new URL('./commit-worker.ts', import.meta.url).href;
      const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url)}); })`;
      this.#worker = new Worker(`${boot}.catch((err) => { console.error(err); process.exit(1); });`, {
        eval: true,
        workerData: { options },
      });
    } else {
      this.#worker = new Worker(new URL('./commit-worker.js', import.meta.url), { workerData: { options } });
    }
    this.#worker.unref();
    let readyResolve: () => void = () => {};
    let readyReject: (err: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    this.ready.catch(() => {});
    this.#worker.on('message', (msg: { id: number; ready?: boolean; result?: CommitResult; error?: PlainError }) => {
      if (msg.ready === true) {
        if (msg.error !== undefined) readyReject(fromPlainError(msg.error));
        else readyResolve();
        return;
      }
      const pending = this.#pending.get(msg.id);
      if (pending === undefined) return;
      this.#pending.delete(msg.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (msg.error !== undefined) pending.reject(fromPlainError(msg.error));
      else pending.resolve(msg.result as CommitResult);
    });
    const failAll = (err: Error): void => {
      this.#dead ??= err;
      readyReject(err);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    this.#worker.on('error', (err) => failAll(err));
    this.#exited = new Promise<void>((resolve) => {
      this.#worker.on('exit', (code) => {
        failAll(new SlipwayError('SLIPWAY_LOG_CLOSED', `The embedded log's commit thread exited (code ${code}).`));
        resolve();
      });
    });
  }

  commit(batch: CommitBatch): Promise<CommitResult> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = ++this.#seq;
    return new Promise<CommitResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      const packed = packBatch(batch);
      this.#worker.postMessage(
        packed === undefined ? { type: 'commit', id, batch } : { type: 'commit', id, wire: packed },
        packed === undefined ? [] : packedTransferables(packed),
      );
    });
  }

  async close(): Promise<void> {
    if (this.#dead === undefined) this.#worker.postMessage({ type: 'close' });
    this.#worker.ref();
    await this.#exited;
  }
}
