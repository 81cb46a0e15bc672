import { type Static, Type } from '@sinclair/typebox';
import { GateConfigSchema } from './gates.js';
import type { ReplaySelection } from './replay-options.js';

/**
 * The one definition of what a deployment may be asked to do. The API validates request bodies
 * against these schemas, the CLI and the local control plane build them, the controller and the
 * strategies read them, and the control store keeps them as they are.
 */

/** How a new version replaces the live one. `scale` and `replay` are the controller's own (`slipway scale`, `slipway dlq replay`). */
export const StrategySchema = Type.Union(
  [Type.Literal('blue-green'), Type.Literal('canary'), Type.Literal('recreate')],
  { description: 'blue-green (default), canary or recreate' },
);
export type DeployStrategy = Static<typeof StrategySchema>;
export type Strategy = DeployStrategy | 'scale' | 'replay';

export const ShadowOptionsSchema = Type.Object(
  {
    records: Type.Integer({ minimum: 1, description: 'input records green processes in shadow' }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 0, description: 'longest wait for them, ms (default 10000)' })),
    samples: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "absolute path of the project's samples folder: its default samples stand in when live input is too sparse",
      }),
    ),
  },
  { additionalProperties: false },
);

export const CanaryOptionsSchema = Type.Object(
  {
    steps: Type.Optional(
      Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 100 }), {
        minItems: 1,
        description: 'percent of keys green gets at each step (default 1,10,50,100)',
      }),
    ),
    stepMs: Type.Optional(
      Type.Integer({ minimum: 0, description: 'how long gates watch each step, ms (default 2000)' }),
    ),
  },
  { additionalProperties: false },
);

/** Options of a deployment of a new version (the body of a deploy request, less the artifact). */
export const DeployOptionsSchema = Type.Object(
  {
    strategy: Type.Optional(StrategySchema),
    /** Pipeline config; validated against the artifact's config schema before anything starts. */
    config: Type.Optional(Type.Unknown()),
    shadow: Type.Optional(ShadowOptionsSchema),
    bakeMs: Type.Optional(Type.Integer({ minimum: 0, description: 'how long gates watch green after cutover, ms' })),
    gates: Type.Optional(GateConfigSchema),
    canary: Type.Optional(CanaryOptionsSchema),
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'most records per commit' })),
    irreversibleState: Type.Optional(
      Type.Boolean({
        description:
          'allow a state migration without a down migration: after it, a rollback to the version before is not possible',
      }),
    ),
  },
  { additionalProperties: false },
);
export type DeployRequestOptions = Static<typeof DeployOptionsSchema>;

/** What a deployment record keeps: the request's options with the strategy decided, and the controller's own. */
export type DeployOptions = Omit<DeployRequestOptions, 'strategy'> & {
  strategy: Strategy;
  /** `scale`: how many runner processes the live version runs as from now on. */
  runners?: number;
  /** `replay`: which dead letters the live version processes. */
  replay?: ReplaySelection;
  /** Set when a local deployment skipped the release gate (`--allow-untested`); kept in its history. */
  untested?: boolean;
  /** Where the config came from: the request, the live release (carried forward), or the schema's defaults. */
  configFrom?: 'request' | 'live' | 'defaults';
  /** The live release's config when the deployment was planned: what blue runs with (a rollback too). */
  previousConfig?: unknown;
  /**
   * Set when the deployment promotes a digest verified in another environment (`slipway promote`), or
   * re-promotes the one verified before (a rollback in an environment): where from, and who approved it.
   */
  promotion?: { from: string; approvedBy?: string; rollbackOf?: string };
};

/** A deploy request: which artifact (by digest), and how. */
export const DeployRequestSchema = Type.Composite(
  [
    Type.Object({
      artifact: Type.String({
        minLength: 1,
        description: 'artifact digest, or a unique prefix of at least 7 hex digits (never a source file)',
      }),
      allowUntested: Type.Optional(Type.Boolean()),
    }),
    DeployOptionsSchema,
  ],
  { additionalProperties: false },
);
export type DeployRequest = Static<typeof DeployRequestSchema>;
