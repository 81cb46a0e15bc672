// The IPC protocol between a child-process supervisor and its runner processes (runner-host.ts).
import type { ErrorJSON } from '../errors.js';
import type { PartitionOffset } from '../log/log.js';
import type { ActivateOptions, ReplayRequest, RunnerState } from '../runtime/runner.js';
import type { RunnerCommit, RunnerDeadLetter, RunnerSpec, SampleInput } from './supervisor.js';

/** Supervisor → runner. */
export type RunnerCommand =
  | { id: number; cmd: 'start'; spec: RunnerSpec; artifactsDir: string }
  | ({ id: number; cmd: 'activate' } & ActivateOptions)
  | { id: number; cmd: 'pause' }
  | { id: number; cmd: 'runUntil'; offsets: PartitionOffset[]; epoch?: number }
  | { id: number; cmd: 'stop' }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'metrics' }
  | { id: number; cmd: 'sample'; inputs: SampleInput[] }
  | { id: number; cmd: 'replayDeadLetters'; request: ReplayRequest }
  | { id: number; cmd: 'migrateState'; version: number; epoch?: number };

/** Runner → supervisor. */
export type RunnerMessage =
  | { reply: number; ok: true; result?: unknown }
  | { reply: number; ok: false; error: ErrorJSON }
  | { event: 'state'; state: RunnerState }
  | ({ event: 'commit' } & RunnerCommit)
  | ({ event: 'dlq' } & RunnerDeadLetter)
  | { event: 'failed'; error: ErrorJSON };
