import { defineMasking } from 'slipway';
import { orders } from './datasets.js';

/**
 * How orders are masked when a sample is captured (`slipway sample capture orders`). Needs $SLIPWAY_MASK_KEY.
 *
 * - `email` becomes a keyed fake address at example.com: realistic, valid for `format: email`, and never a real inbox.
 * - `customerId` is the dataset's key. It identifies a person, so it is masked too — but with a keyed,
 *   deterministic fake id (64 bits of HMAC), not dropped or redacted: a customer's orders keep one id, so keyed
 *   state, per-customer totals and joins with other datasets masked with the same key and rule still work.
 *   The fake key hashes to other partitions than the real one; samples carry values only, so nothing depends on it.
 */
export const ordersMasking = defineMasking({
  dataset: orders,
  rules: {
    email: { fake: 'email' },
    customerId: { fake: 'id', prefix: 'c-' },
  },
});
