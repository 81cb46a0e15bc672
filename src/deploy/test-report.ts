/** The test layers `slipway test` runs, by folder convention. */
export type TestLayer = 'unit' | 'integration' | 'e2e';

/** Counts of one test layer. */
export interface TestLayerResult {
  passed: number;
  failed: number;
  skipped: number;
  /** Test files found for the layer (0: the layer was not run). */
  files: number;
}

/** A failing test: its name (with its suites, `group > test`) and the file it is in. */
export interface TestFailure {
  layer: TestLayer;
  name: string;
  file: string | null;
  message?: string;
}

/** The result of `slipway test` for one artifact, which the release gate reads. */
export interface TestReport {
  /** `sha256:…` of the artifact the tests ran against. */
  digest: string;
  passed: boolean;
  layers: Record<TestLayer, TestLayerResult>;
  failures: TestFailure[];
  /** Milliseconds since the epoch. */
  startedAt: number;
  durationMs: number;
  /**
   * How the tests were bound to the digest: `rebuilt` — the sources under test rebuild to exactly this
   * digest (reproducible builds make that checkable); `bundle` — the tests ran the artifact's own bundle.
   */
  binding?: { method: 'rebuilt' | 'bundle'; entry?: string };
}
