// The map pipeline of the benchmarks with three toggles evaluated per record (bench:toggles): a feature toggle
// on a key-sticky share, a data toggle with a rule on a field, and a fixed one. The output is the same map.
import { definePipeline, defineToggle } from 'slipway';
import { addCents, benchIn, benchOut } from './common.js';

export const roundingToggle = defineToggle({
  name: 'rounding',
  kind: 'feature',
  variants: ['round', 'floor'],
  default: 'round',
});
export const euToggle = defineToggle({ name: 'eu-route', kind: 'data' });
export const noteToggle = defineToggle({ name: 'keep-note', kind: 'feature' });

export const toggledMapPipeline = definePipeline({
  name: 'bench-map-toggled',
  version: '1.0.0',
  inputs: [benchIn],
  outputs: [benchOut],
  toggles: [roundingToggle, euToggle, noteToggle],
  process(r, ctx) {
    const out = addCents(r);
    if (ctx.toggle('rounding') === 'floor') out.amountCents = Math.floor(r.amount * 100);
    if (ctx.toggle('eu-route') === 'on') out.country = r.country;
    if (ctx.toggle('keep-note') === 'off') out.note = '';
    ctx.emit(benchOut, out);
  },
});
