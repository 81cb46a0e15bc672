import type { Toggle } from './toggle.js';
import type { ToggleSnapshot } from './toggle-log.js';
import { planSetting, type VariantPlan } from './variant-plan.js';

/** Header of an output (and a dead letter) naming the toggle version and the variants that produced it. */
export const TOGGLES_HEADER = 'slipway-toggles';

/**
 * A pipeline's toggles compiled against a snapshot: `evaluateVariant(plan, key, value)` evaluates a record
 * in a few hash steps, to the index of its variant. Recompiled only when the snapshot changes.
 */
export class ToggleEvaluator {
  readonly toggles: ReadonlyMap<string, Toggle>;
  #snapshot: ToggleSnapshot | undefined;
  #compiled = new Map<string, VariantPlan>();

  constructor(toggles: readonly Toggle[]) {
    this.toggles = new Map(toggles.map((t) => [t.name, t]));
  }

  /** The evaluators at `snapshot` (the same map while it is the same snapshot). */
  at(snapshot: ToggleSnapshot): ReadonlyMap<string, VariantPlan> {
    if (snapshot === this.#snapshot) return this.#compiled;
    const compiled = new Map<string, VariantPlan>();
    for (const [name, toggle] of this.toggles) {
      compiled.set(name, planSetting(name, snapshot.settings.get(name)?.setting ?? null, toggle));
    }
    this.#snapshot = snapshot;
    this.#compiled = compiled;
    return compiled;
  }
}

/** Reads a `slipway-toggles` header: the version and each toggle's variant. */
export function parseTogglesHeader(
  text: string | undefined,
): { version: number; variants: Record<string, string> } | undefined {
  if (text === undefined) return undefined;
  const semi = text.indexOf(';');
  const version = Number(semi < 0 ? text : text.slice(0, semi));
  const variants: Record<string, string> = {};
  if (semi >= 0 && semi < text.length - 1) {
    for (const part of text.slice(semi + 1).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) variants[part.slice(0, eq)] = part.slice(eq + 1);
    }
  }
  return { version, variants };
}
