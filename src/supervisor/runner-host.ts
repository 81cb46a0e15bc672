// A runner in its own process: the child-process supervisor forks this file and drives it over IPC
// (see protocol.ts). When the parent goes away (IPC disconnect) the runner finishes its batch, commits
// and exits: a new controller restarts runners from the committed offsets, and fencing keeps any
// straggler from writing.
import { errorToJSON } from '../errors.js';
import { registryLine } from '../runtime/registry-wait.js';
import type { RunnerCommand, RunnerMessage } from './protocol.js';
import { RunnerSession } from './runner-session.js';

let session: RunnerSession | undefined;

function send(msg: RunnerMessage): void {
  // The callback takes a failed write (the supervisor died since `connected` was read): the
  // 'disconnect' handler below stops the runner cleanly, instead of an 'error' event killing it.
  if (process.connected) process.send?.(msg, undefined, undefined, () => {});
}

function current(): RunnerSession {
  if (session === undefined) throw new Error('the runner was not started');
  return session;
}

async function handle(msg: RunnerCommand): Promise<unknown> {
  switch (msg.cmd) {
    case 'start': {
      // Said where an operator looks: the runner waits (nothing is lost) until the registry answers again.
      const s = await RunnerSession.open(msg.spec, msg.artifactsDir, (e) =>
        process.stderr.write(`[${msg.spec.id}] ${registryLine(e)}\n`),
      );
      session = s;
      s.on('state', (state) => send({ event: 'state', state }));
      s.on('commit', (e) => send({ event: 'commit', ...e }));
      s.on('dlq', (e) => send({ event: 'dlq', ...e }));
      s.on('failed', (error) => {
        // Said where an operator looks (the daemon's output and log), and to the supervisor.
        process.stderr.write(`[${msg.spec.id}] runner failed: ${error.code ?? ''} ${error.message}\n`);
        send({ event: 'failed', error });
      });
      return undefined;
    }
    case 'activate': {
      const { id: _id, cmd: _cmd, ...options } = msg;
      return current().runner.activate(options);
    }
    case 'pause':
      return current().runner.pause();
    case 'runUntil':
      return current().runner.runUntil(msg.offsets, msg.epoch === undefined ? {} : { epoch: msg.epoch });
    case 'stats':
      return current().stats();
    case 'metrics':
      return current().metrics();
    case 'sample':
      return current().sample(msg.inputs);
    case 'replayDeadLetters':
      return current().runner.replayDeadLetters(msg.request);
    case 'migrateState':
      return current().runner.migrateState(msg.version, msg.epoch === undefined ? {} : { epoch: msg.epoch });
    case 'stop':
      await session?.close();
      setImmediate(() => process.exit(0));
      return undefined;
  }
}

process.on('message', (msg: RunnerCommand) => {
  handle(msg).then(
    (result) => send({ reply: msg.id, ok: true, result }),
    (err: unknown) => send({ reply: msg.id, ok: false, error: errorToJSON(err) }),
  );
});

process.on('disconnect', () => {
  (session?.close() ?? Promise.resolve()).catch(() => {}).finally(() => process.exit(0));
});

// Ctrl-C in a terminal signals the whole process group, this runner too: its supervisor decides when
// it stops (it finishes the batch in flight and commits), and a runner whose supervisor is gone
// stops on 'disconnect' above.
process.on('SIGINT', () => {});
