import { SlipwayError } from '../errors.js';
import type { PartitionOffset } from '../log/log.js';
import type { Slot } from './runner-setup.js';

/**
 * Sets `runUntil`'s barriers on a runner's slots: each assigned partition named in `offsets` is to stop at its
 * offset (exclusive: the next offset to read), every other one where it is now. A barrier behind a partition's
 * read position is refused with SLIPWAY_INVALID_STATE before any barrier is set: a running runner refused a
 * barrier goes on as it was.
 */
export function setBarriers(
  pipeline: string,
  slots: ReadonlyArray<Slot>,
  offsets: ReadonlyArray<PartitionOffset>,
): void {
  const wanted = new Map(offsets.map((o) => [`${o.topic}/${o.partition}`, o.offset]));
  for (const slot of slots) {
    const target = wanted.get(`${slot.topic}/${slot.partition}`);
    if (target !== undefined && target < slot.readPos) {
      throw new SlipwayError(
        'SLIPWAY_INVALID_STATE',
        `Runner of '${pipeline}' is already at ${slot.topic}/${slot.partition}@${slot.readPos}, past the barrier ${target}. Pause it first, then run it to a barrier ahead of it.`,
        { details: { topic: slot.topic, partition: slot.partition, position: slot.readPos, target } },
      );
    }
  }
  for (const slot of slots) slot.target = wanted.get(`${slot.topic}/${slot.partition}`) ?? slot.readPos;
}
