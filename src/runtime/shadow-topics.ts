import { dlqTopic } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';

// One naming rule for everything a shadow run writes: the live topic's name, then `.shadow.<shadowId>`.
// Outputs and dead letters alike, so a shadow never touches a live topic and its topics end together.

/** What a shadow id may contain: it becomes part of topic names (Kafka allows `[A-Za-z0-9._-]`). */
const SHADOW_ID = /^[A-Za-z0-9_-]+$/;

/**
 * The topic a shadow run writes in place of the live `topic`: `<topic>.shadow.<shadowId>`
 * (`enriched-orders.v1.shadow.dep-7-1`, and for dead letters `orders.v1.dlq.shadow.dep-7-1`).
 *
 * @example
 * shadowTopic(dlqTopic(orders), 'dep-7-1') // 'orders.v1.dlq.shadow.dep-7-1'
 */
export function shadowTopic(topic: string, shadowId: string): string {
  return `${topic}.shadow.${shadowId}`;
}

/**
 * Every topic a shadow run of `pipeline` writes: each output's and each input's dead-letter topic,
 * under the shadow's names — the topics to delete when the shadow ends.
 *
 * @example
 * for (const topic of shadowTopics(pipeline, shadowId)) await admin.deleteTopic(topic)
 */
export function shadowTopics(
  pipeline: { inputs: ReadonlyArray<{ topic: string }>; outputs: ReadonlyArray<{ topic: string }> },
  shadowId: string,
): string[] {
  return [
    ...pipeline.outputs.map((d) => shadowTopic(d.topic, shadowId)),
    ...pipeline.inputs.map((d) => shadowTopic(dlqTopic(d), shadowId)),
  ];
}

/** Thrown (`SLIPWAY_USAGE`) when a shadow id would not make valid topic names. */
export function checkShadowId(pipelineName: string, shadowId: string | undefined): string {
  if (shadowId === undefined || shadowId === '') {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `A shadow runner of '${pipelineName}' needs a shadowId (the deployment id).`,
    );
  }
  if (!SHADOW_ID.test(shadowId)) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `Shadow id '${shadowId}' of '${pipelineName}' becomes part of topic names: use only letters, digits, '_' and '-'.`,
      { details: { shadowId } },
    );
  }
  return shadowId;
}
