import { type Static, Type } from '@sinclair/typebox';

/** Request bodies of the control plane's API that are not deploy options (those are in deploy-options.ts). */

export const ScaleRequestSchema = Type.Object(
  { runners: Type.Integer({ minimum: 1, description: 'how many runner processes' }) },
  { additionalProperties: false },
);

export const RollbackRequestSchema = Type.Object(
  { pipeline: Type.String({ minLength: 1, description: 'pipeline name' }) },
  { additionalProperties: false },
);

const Count = Type.Integer({ minimum: 0 });
const LayerSchema = Type.Object(
  { passed: Count, failed: Count, skipped: Count, files: Count },
  { additionalProperties: false },
);
const LayerNameSchema = Type.Union([Type.Literal('unit'), Type.Literal('integration'), Type.Literal('e2e')]);

export const TestReportSchema = Type.Object(
  {
    digest: Type.String({ pattern: '^sha256:[0-9a-f]{64}$', description: "the artifact's digest" }),
    passed: Type.Boolean(),
    layers: Type.Object(
      { unit: LayerSchema, integration: LayerSchema, e2e: LayerSchema },
      { additionalProperties: false },
    ),
    failures: Type.Array(
      Type.Object(
        {
          layer: LayerNameSchema,
          name: Type.String({ minLength: 1 }),
          file: Type.Union([Type.String(), Type.Null()]),
          message: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    startedAt: Type.Number({ minimum: 0 }),
    durationMs: Type.Number({ minimum: 0 }),
    /** How the tests were bound to the digest: rebuilt from the sources tested, or run on the bundle. */
    binding: Type.Optional(
      Type.Object(
        { method: Type.Union([Type.Literal('rebuilt'), Type.Literal('bundle')]), entry: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TestReportBody = Static<typeof TestReportSchema>;

export const ArtifactUploadSchema = Type.Object(
  {
    /** The manifest as `manifest.json` holds it; the store checks it against its digest and the bundle. */
    manifest: Type.Record(Type.String(), Type.Unknown()),
    /** The bundle's bytes, base64. */
    bundle: Type.String({ contentEncoding: 'base64' }),
  },
  { additionalProperties: false },
);

const Digits = Type.String({ pattern: '^[0-9]+$' });

export const DeploymentsQuerySchema = Type.Object({
  limit: Type.Optional(Digits),
  pipeline: Type.Optional(Type.String({ minLength: 1 })),
});

export const EventsQuerySchema = Type.Object({
  /** Only events after this seq. */
  after: Type.Optional(Digits),
});

export const PromotionRequestSchema = Type.Object(
  {
    pipeline: Type.String({ minLength: 1 }),
    /** The environment to promote into; the digest comes from the one it is promoted from. */
    to: Type.String({ minLength: 1 }),
    /** The digest (or a unique prefix) to promote; default: what is live upstream. */
    digest: Type.Optional(Type.String({ minLength: 7 })),
  },
  { additionalProperties: false },
);

export const ApprovalRequestSchema = Type.Object(
  {
    pipeline: Type.String({ minLength: 1 }),
    environment: Type.String({ minLength: 1 }),
    /** Default: what is live in the environment it is promoted from. */
    digest: Type.Optional(Type.String({ minLength: 7 })),
    by: Type.String({ minLength: 1, maxLength: 200 }),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

/** `POST /api/datasets/:name/retire`: which major to retire. */
export const RetireRequestSchema = Type.Object(
  { major: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

/** `POST /api/toggles/:name`: a toggle change, recorded with who made it (the time is the control plane's). */
export const ToggleChangeRequestSchema = Type.Object(
  {
    setting: Type.Unknown({
      description:
        'the setting ({ fixed } or { percent, where, variant }), checked as `slipway toggle set` does; null clears it',
    }),
    by: Type.String({ minLength: 1, maxLength: 200, description: 'who changes it' }),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type ToggleChangeRequest = Static<typeof ToggleChangeRequestSchema>;
