import { readFile } from 'node:fs/promises';
import type { PlanChange, PlanSection, SectionPlan } from './env-plan.js';
import { exportObservability, rulesFile, rulesFilePath } from './observability-export.js';
import type { ProjectSpec } from './project.js';

/** The rule blocks of a rules file as `alertRulesYaml` writes it, by `alert / pipeline`; undefined when it is not in that shape. */
function ruleBlocks(text: string): Map<string, string> | undefined {
  const blocks = new Map<string, string>();
  let key: string | undefined;
  let lines: string[] = [];
  const flush = () => {
    if (key !== undefined) blocks.set(key, lines.join('\n'));
  };
  for (const line of text.split('\n')) {
    const alert = /^ {6}- alert: "(.*)"$/.exec(line);
    if (alert !== null) {
      flush();
      key = alert[1];
      lines = [line];
      continue;
    }
    if (key === undefined) continue;
    if (!line.startsWith('        ')) {
      flush();
      key = undefined;
      continue;
    }
    lines.push(line);
    const pipeline = /^ {10}pipeline: "(.*)"$/.exec(line);
    if (pipeline !== null) key = `${key.split(' / ')[0]} / ${pipeline[1]}`;
  }
  flush();
  return blocks.size === 0 && /- alert:/.test(text) ? undefined : blocks;
}

/**
 * The alert rules in an environment's plan: the rules file `slipway observability export` writes (in `outDir`)
 * against the rules its SLOs declare now. Apply exports it again (rules and dashboard); nothing destructive.
 */
export function alertRulesSection(project: ProjectSpec, environment: string, outDir: string): PlanSection {
  const path = rulesFilePath(outDir, environment);
  const plan = async (): Promise<SectionPlan> => {
    if (project.environments[environment] === undefined)
      return {
        section: 'alert-rules',
        changes: [],
        unchanged: 0,
        skipped: 'a workspace has no alert rules of its own (its base environment has)',
      };
    const declared = rulesFile(project, environment);
    let existing: string | undefined;
    try {
      existing = await readFile(path, 'utf8');
    } catch {
      existing = undefined;
    }
    const want = ruleBlocks(declared.text) ?? new Map<string, string>();
    const target = `rules file ${path}`;
    const change = (action: PlanChange['action'], fields: PlanChange['fields']): PlanChange => ({
      section: 'alert-rules',
      action,
      target,
      fields,
      destructive: false,
      applicable: true,
      fix: `slipway observability export --env ${environment} --out ${outDir}`,
    });
    if (existing === undefined) {
      if (want.size === 0) return { section: 'alert-rules', changes: [], unchanged: 0 };
      return {
        section: 'alert-rules',
        changes: [
          change(
            'create',
            [...want.keys()].map((k) => ({ field: `alert ${k}`, to: 'declared' })),
          ),
        ],
        unchanged: 0,
      };
    }
    if (existing === declared.text) return { section: 'alert-rules', changes: [], unchanged: want.size };
    const have = ruleBlocks(existing);
    if (have === undefined)
      return {
        section: 'alert-rules',
        changes: [change('update', [{ field: 'content', from: 'not as exported', to: 'as the SLOs declare' }])],
        unchanged: 0,
      };
    const fields: PlanChange['fields'] = [];
    let unchanged = 0;
    for (const [k, block] of want) {
      const old = have.get(k);
      if (old === undefined) fields.push({ field: `alert ${k}`, to: 'declared' });
      else if (old !== block)
        fields.push({ field: `alert ${k}`, from: 'as exported before', to: 'as the SLOs declare now' });
      else unchanged++;
    }
    for (const k of have.keys()) if (!want.has(k)) fields.push({ field: `alert ${k}`, from: 'exported before' });
    if (fields.length === 0) fields.push({ field: 'header', from: 'edited', to: 'as exported' });
    return { section: 'alert-rules', changes: [change('update', fields)], unchanged };
  };
  return {
    name: 'alert-rules',
    plan,
    apply: async (changes) => {
      if (changes.length === 0) return [];
      exportObservability(project, environment, { outDir });
      return [...changes];
    },
  };
}
