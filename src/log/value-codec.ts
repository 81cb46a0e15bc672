/**
 * A per-topic value codec: how a topic's values are written as bytes and read back, like a Kafka client's value
 * serializer and deserializer. The Log keeps carrying values as text (Slipway's records are JSON); an engine that
 * stores bytes (Kafka) applies the codec at its edge, so a topic can hold another encoding (Avro in the Confluent
 * wire format) byte for byte, and runners stay synchronous: a batch is decoded before it is handed out.
 * The log knows nothing of schemas or registries: the runtime makes codecs from a pipeline's datasets.
 */

/** Why a value read from a topic could not be turned into text: the record is handed out with its bytes. */
export type UndecodableReason = 'unknown-schema-id' | 'undecodable';

/** A value a codec could not decode. The record's `value` is '' and its original bytes are kept here. */
export interface UndecodableValue {
  reason: UndecodableReason;
  message: string;
  /** The value's bytes as they are on the topic, base64 (nothing is lost). Empty for a null value. */
  bytesBase64: string;
  /** The schema id the value named, when it named one. */
  schemaId?: number;
}

export interface ValueCodec {
  /**
   * Gets ready to encode (e.g. registers the writer schema): awaited before `encode` is used. May throw a
   * retryable error (the registry cannot be reached); nothing is written then.
   */
  prepareEncode(): Promise<void>;
  /** A value's text as the bytes to write. Synchronous after `prepareEncode`. Throws when the value does not fit. */
  encode(value: string): Uint8Array;
  /**
   * Each value's text, or why it could not be decoded (a value of its own: the others are decoded). `null` is a
   * tombstone. Throws only a retryable error (the registry cannot be reached): then nothing of the read is
   * handed out and the reader asks again.
   */
  decode(values: ReadonlyArray<Uint8Array | null>): Promise<Array<string | UndecodableValue>>;
}

/** Value codecs by topic (as the log handle that applies them names the topic). */
export type ValueCodecs = ReadonlyMap<string, ValueCodec>;
