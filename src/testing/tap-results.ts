/** One finished test, read from node's TAP reporter. */
export interface TapTest {
  /** The test's name with its suites, `suite > test`. */
  name: string;
  ok: boolean;
  skipped: boolean;
  /** Absolute path of the test's file, when the reporter said (always for failures). */
  file: string | null;
  message?: string;
}

interface PendingResult {
  test: TapTest;
  indent: number;
  leaf: boolean;
  inYaml: boolean;
  block?: string | undefined;
}

const RESULT = /^( *)(not ok|ok) \d+ - (.*)$/;
const SUBTEST = /^( *)# Subtest: (.*)$/;
const DIRECTIVE = / # (SKIP|TODO)\b.*$/i;

const unescapeTap = (s: string): string => s.replace(/\\#/g, '#').replace(/\\\\/g, '\\');

/** A YAML scalar from node's TAP diagnostics (`'…'` with `''` for a quote, or bare). */
function scalar(raw: string): string {
  const v = raw.trim();
  if (v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replace(/''/g, "'");
  return v;
}

/**
 * Reads node's TAP output (`--test-reporter=tap`) line by line and calls `onTest` for every leaf test
 * (a test without subtests; suites and files that only group tests are not counted). A file that
 * fails before any test runs is reported as one failing test named after the file.
 */
export class TapResults {
  readonly #onTest: (test: TapTest) => void;
  /** Names of the open subtests, by nesting. */
  readonly #stack: string[] = [];
  #lastNesting = -1;
  /** The result waiting for its YAML block. */
  #pending: PendingResult | undefined;

  constructor(onTest: (test: TapTest) => void) {
    this.#onTest = onTest;
  }

  line(line: string): void {
    const pending = this.#pending;
    if (pending !== undefined) {
      const pad = ' '.repeat(pending.indent + 2);
      if (!pending.inYaml && line === `${pad}---`) {
        pending.inYaml = true;
        return;
      }
      if (pending.inYaml) {
        if (line === `${pad}...`) this.#flush();
        else this.#yaml(pending, line.slice(pad.length));
        return;
      }
      this.#flush();
    }
    const sub = SUBTEST.exec(line);
    if (sub !== null) {
      const nesting = (sub[1] as string).length / 4;
      this.#stack.length = nesting;
      this.#stack[nesting] = unescapeTap(sub[2] as string);
      return;
    }
    const result = RESULT.exec(line);
    if (result === null) return;
    const indent = (result[1] as string).length;
    const nesting = indent / 4;
    let title = result[3] as string;
    const directive = DIRECTIVE.exec(title);
    if (directive !== null) title = title.slice(0, directive.index);
    const leaf = this.#lastNesting !== nesting + 1;
    this.#lastNesting = nesting;
    const name = [...this.#stack.slice(0, nesting), unescapeTap(title)].join(' > ');
    this.#stack.length = nesting;
    this.#pending = {
      test: { name, ok: result[2] === 'ok', skipped: directive !== null, file: null },
      indent,
      leaf,
      inYaml: false,
    };
  }

  /** Call at the end of the output. */
  end(): void {
    if (this.#pending !== undefined) this.#flush();
  }

  #yaml(pending: PendingResult, text: string): void {
    if (pending.block !== undefined) {
      if (text.startsWith('  ')) {
        pending.test.message = `${pending.test.message ?? ''}${pending.test.message ? '\n' : ''}${text.trim()}`;
        return;
      }
      pending.block = undefined;
    }
    const colon = text.indexOf(':');
    if (colon <= 0 || text.startsWith(' ')) return;
    const key = text.slice(0, colon);
    const value = text.slice(colon + 1);
    if (key === 'type' && scalar(value) === 'suite') pending.leaf = false;
    else if (key === 'location') pending.test.file = scalar(value).replace(/:\d+:\d+$/, '');
    else if (key === 'error') {
      if (/^\s*[|>]/.test(value)) pending.block = 'error';
      else pending.test.message = scalar(value);
    }
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === undefined || !pending.leaf) return;
    const t = pending.test;
    if (t.file === null && t.name.startsWith('/')) t.file = t.name;
    this.#onTest(t);
  }
}
