import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../../src/cli/entry.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source in a child process (as `npx slipway …` would). */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return startCli(args, options).result;
}

export interface RunningCli {
  result: Promise<CliResult>;
  /** Resolves once the command's stderr shows `pattern` (rejects if it ends first). */
  waitForStderr(pattern: RegExp): Promise<void>;
  /** Asks the command to stop as Ctrl-C would (SIGTERM) and waits for it to end. */
  stop(): Promise<CliResult>;
  /** The CLI's process id. */
  readonly pid: number | undefined;
  /** What it printed on stderr so far. */
  stderr(): string;
}

/** Starts the CLI and returns at once; for long-running commands (load, `up`) a test stops itself. */
export function startCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): RunningCli {
  let child: ReturnType<typeof spawn> | undefined;
  let stdout = '';
  let stderr = '';
  let ended = false;
  const result = new Promise<CliResult>((resolve, reject) => {
    child = spawn(process.execPath, ['--conditions=slipway-source', '--import', 'tsx', ENTRY, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const c = child;
    c.stdout?.on('data', (d) => {
      stdout += d;
    });
    c.stderr?.on('data', (d) => {
      stderr += d;
    });
    c.on('error', reject);
    c.on('close', (code) => {
      ended = true;
      resolve({ code, stdout, stderr });
    });
    c.stdin?.end(options.input ?? '');
  });
  return {
    result,
    async waitForStderr(pattern) {
      while (!pattern.test(stderr)) {
        if (ended) throw new Error(`the command ended without printing ${pattern}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop() {
      if (child?.exitCode === null) child.kill('SIGTERM');
      return result;
    },
    get pid() {
      return child?.pid;
    },
    stderr: () => stderr,
  };
}
