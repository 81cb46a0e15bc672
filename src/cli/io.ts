import { isSlipwayError } from '../errors.js';

/** Where CLI commands print: the only place in Slipway that writes to the terminal. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** A status line that rewrites itself on a terminal, and prints plainly (throttled) elsewhere. */
  progress(line: string): void;
  /** Ends the current progress line. */
  done(): void;
}

export function processIo(): Io {
  const tty = process.stderr.isTTY === true;
  let lastPlain = 0;
  let open = false;
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => {
      if (open) process.stderr.write('\n');
      open = false;
      process.stderr.write(`${line}\n`);
    },
    progress: (line) => {
      if (tty) {
        process.stderr.write(`\r\x1b[2K${line}`);
        open = true;
      } else if (Date.now() - lastPlain >= 5000) {
        lastPlain = Date.now();
        process.stderr.write(`${line}\n`);
      }
    },
    done: () => {
      if (open) process.stderr.write('\n');
      open = false;
    },
  };
}

/** Prints rows under a header, each column as wide as its widest cell (the last one left ragged). */
export function printTable(io: Io, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  io.out(line(header));
  for (const r of rows) io.out(line(r));
}

/** Prints an error as `error SLIPWAY_CODE: message` and returns the exit code to use. */
export function reportError(io: Io, err: unknown): number {
  if (isSlipwayError(err)) {
    io.err(`error ${err.code}: ${err.message}`);
    return err.code === 'SLIPWAY_USAGE' ? 2 : 1;
  }
  io.err(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}
