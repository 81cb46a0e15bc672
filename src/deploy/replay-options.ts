import { type Static, Type } from '@sinclair/typebox';

/**
 * What a replay of dead letters may be asked to do (`slipway dlq replay`, `POST /api/pipelines/:pipeline/dlq-replay`):
 * which dead letters, by the deployment, version or reason that wrote them, or by the input records they stand for.
 * The API validates request bodies against it; the replay's deployment record keeps it as its options.
 */

export const DlqReasonSchema = Type.Union(
  [
    Type.Literal('invalid-json'),
    Type.Literal('input-schema'),
    Type.Literal('process-error'),
    Type.Literal('output-schema'),
    Type.Literal('wrong-partition'),
    Type.Literal('unknown-schema-id'),
    Type.Literal('undecodable'),
  ],
  { description: 'why the record was dead-lettered' },
);

export const SourceRangeSchema = Type.Object(
  {
    topic: Type.String({ minLength: 1, description: 'input topic, e.g. orders.v1' }),
    partition: Type.Integer({ minimum: 0 }),
    from: Type.Optional(Type.Integer({ minimum: 0, description: 'first input offset (included)' })),
    to: Type.Optional(Type.Integer({ minimum: 0, description: 'last input offset (included)' })),
  },
  { additionalProperties: false },
);

export const ReplayOptionsSchema = Type.Object(
  {
    deployment: Type.Optional(
      Type.String({
        minLength: 1,
        description: "the dead letters this deployment's version wrote (a rolled-back deployment's id)",
      }),
    ),
    version: Type.Optional(Type.String({ minLength: 1, description: 'the dead letters this pipeline version wrote' })),
    reason: Type.Optional(DlqReasonSchema),
    source: Type.Optional(SourceRangeSchema),
    retryFailed: Type.Optional(
      Type.Boolean({
        description: 'replay again the records an earlier replay dead-lettered again (default: skip them)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ReplayOptions = Static<typeof ReplayOptionsSchema>;

/** A replay request: the selection, and whether only to show the plan. */
export const ReplayRequestSchema = Type.Composite(
  [
    ReplayOptionsSchema,
    Type.Object({
      dryRun: Type.Optional(Type.Boolean({ description: 'show what would be replayed; change nothing' })),
    }),
  ],
  { additionalProperties: false },
);
export type ReplayRequestBody = Static<typeof ReplayRequestSchema>;

/** The selection as a replay's deployment record keeps it: the request's, with the artifact of `deployment` added. */
export type ReplaySelection = ReplayOptions & {
  /** The digest `deployment` deployed: its dead letters are those this version wrote (set by the controller). */
  artifact?: string;
};
