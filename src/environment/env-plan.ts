/**
 * `slipway env plan` / `env apply`: the difference between what an environment declares and what exists, as a
 * list of changes in sections (topics, config drift of live releases; alert rules later), and applying the
 * declared side. A section is a {@link PlanSection}: it plans (reads, changes nothing) and applies its own
 * changes; the plan is their sum. A section that cannot look (no control plane running) says so instead of
 * reporting nothing.
 *
 * Nothing that loses records (deleting a topic, shortening a retention the engine enforces) is made without
 * `allowDestructive`; changes nobody can make automatically (shrinking partitions, a live release's config) are
 * reported with what to do instead.
 */
import { SlipwayError } from '../errors.js';

/** What a change does: `create` (+), `update` (~) or `delete` (-). */
export type ChangeAction = 'create' | 'update' | 'delete';

/** One field of a change: the value that exists (`from`) and the declared one (`to`); absent when there is none. */
export interface FieldChange {
  field: string;
  from?: unknown;
  to?: unknown;
}

/** One difference between the declared environment and what exists. */
export interface PlanChange {
  /** The section that found it: `topics`, `config`, later `alert-rules`. */
  section: string;
  action: ChangeAction;
  /** What changes: a topic name, `pipeline <name>`. */
  target: string;
  fields: FieldChange[];
  /** Loses records when made: only with `allowDestructive`. */
  destructive: boolean;
  /** False when apply cannot make it: `fix` says what to do instead. */
  applicable: boolean;
  /** What to do by hand (a command), for changes apply does not make. */
  fix?: string;
  /** Why it matters, when it is not obvious (e.g. keys moving to new partitions). */
  note?: string;
}

/** What one section found: its changes, how many things it found as declared, or why it could not look. */
export interface SectionPlan {
  section: string;
  changes: PlanChange[];
  /** Things checked and found as declared. */
  unchanged: number;
  /** Set when the section could not look (e.g. no control plane is running): nothing is known. */
  skipped?: string;
}

/**
 * One kind of declared thing an environment has (topics, live configs, alert rules): how to compare it with what
 * exists, and how to make the declared side real. Add a section to {@link planEnvironment}'s list to extend
 * `env plan` (e.g. alert rules compared with the rules file `observability export` writes).
 */
export interface PlanSection {
  readonly name: string;
  /** Compares; changes nothing. */
  plan(): Promise<SectionPlan>;
  /** Makes `changes` (this section's, applicable, allowed): resolves with those it made. */
  apply?(changes: ReadonlyArray<PlanChange>): Promise<PlanChange[]>;
}

export interface EnvPlan {
  environment: string;
  /** Where the environment's log is (one line). */
  log: string;
  sections: SectionPlan[];
  /** Every change, section by section. */
  changes: PlanChange[];
  summary: { create: number; update: number; delete: number; unchanged: number };
}

export interface EnvApplyResult extends EnvPlan {
  /** What apply made. */
  applied: PlanChange[];
  /** Destructive changes not made (no `allowDestructive`). */
  refused: PlanChange[];
  /** Changes apply cannot make: each has its `fix`. */
  manual: PlanChange[];
}

function summarize(changes: ReadonlyArray<PlanChange>, sections: ReadonlyArray<SectionPlan>): EnvPlan['summary'] {
  const count = (a: ChangeAction) => changes.filter((c) => c.action === a).length;
  return {
    create: count('create'),
    update: count('update'),
    delete: count('delete'),
    unchanged: sections.reduce((n, s) => n + s.unchanged, 0),
  };
}

/**
 * Plans every section: what would change to make the environment as declared. Reads only.
 *
 * @example
 * const plan = await planEnvironment('staging', 'Kafka at kafka:9092, namespace staging.', [topicSection(log, datasets)])
 * if (plan.changes.length > 0) show(plan)
 */
export async function planEnvironment(
  environment: string,
  log: string,
  sections: ReadonlyArray<PlanSection>,
): Promise<EnvPlan> {
  const planned: SectionPlan[] = [];
  for (const s of sections) planned.push(await s.plan());
  const changes = planned.flatMap((s) => s.changes);
  return { environment, log, sections: planned, changes, summary: summarize(changes, planned) };
}

/**
 * Plans, then makes every applicable change (destructive ones only with `allowDestructive`), section by section,
 * and plans again to report what is left. Destructive changes not allowed are returned in `refused`, never made;
 * see {@link destructiveRefusal} for the error to raise about them.
 */
export async function applyEnvironment(
  environment: string,
  log: string,
  sections: ReadonlyArray<PlanSection>,
  options: { allowDestructive?: boolean } = {},
): Promise<EnvApplyResult> {
  const before = await planEnvironment(environment, log, sections);
  const applied: PlanChange[] = [];
  const refused: PlanChange[] = [];
  const manual: PlanChange[] = [];
  for (const section of sections) {
    const mine = before.changes.filter((c) => c.section === section.name);
    const todo: PlanChange[] = [];
    for (const c of mine) {
      if (!c.applicable || section.apply === undefined) manual.push(c);
      else if (c.destructive && options.allowDestructive !== true) refused.push(c);
      else todo.push(c);
    }
    if (todo.length > 0 && section.apply !== undefined) applied.push(...(await section.apply(todo)));
  }
  const after = await planEnvironment(environment, log, sections);
  return { ...after, applied, refused, manual };
}

/** `SLIPWAY_DESTRUCTIVE_CHANGE` naming the destructive changes apply did not make, or undefined when none. */
export function destructiveRefusal(result: EnvApplyResult): SlipwayError | undefined {
  if (result.refused.length === 0) return undefined;
  const what = result.refused.map((c) => `${c.action} ${c.target}`).join(', ');
  return new SlipwayError(
    'SLIPWAY_DESTRUCTIVE_CHANGE',
    `${result.refused.length} change${result.refused.length === 1 ? '' : 's'} in ${result.environment} would lose records and ${result.refused.length === 1 ? 'was' : 'were'} not made: ${what}` +
      `${result.applied.length > 0 ? ` (the ${result.applied.length} other change${result.applied.length === 1 ? ' was' : 's were'} made)` : ''}. ` +
      'Check the plan (`slipway env plan`), then run `slipway env apply` with --allow-destructive to make them, or declare what exists.',
    { details: { changes: result.refused } },
  );
}
