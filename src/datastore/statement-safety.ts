/**
 * Whether a migration statement is additive (a running version that does not know it keeps working: new
 * tables, nullable or defaulted columns, indexes, widened types, relaxed NOT NULL) or destructive (it loses
 * data or can break a running writer: DROP, RENAME, narrowing or unknown type changes, SET NOT NULL, new
 * constraints, UPDATE/DELETE/TRUNCATE). The parser is deliberately conservative: what it does not recognise
 * is destructive.
 */

export type StepSafety = 'additive' | 'destructive';

export interface StatementSafety {
  readonly safety: StepSafety;
  /** Why, in a few words: `adds nullable column note`, `drops column total`, `unrecognised statement`. */
  readonly reason: string;
}

/** Splits SQL text into statements on `;` outside quotes, dollar quotes and comments; comments are removed. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const rest = sql.slice(i);
    if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
      current += ' ';
      continue;
    }
    if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      current += ' ';
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      current += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const dollar = /^\$[A-Za-z_]*\$/.exec(rest);
    if (dollar !== null) {
      const end = sql.indexOf(dollar[0], i + dollar[0].length);
      const stop = end === -1 ? sql.length : end + dollar[0].length;
      current += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === ';') {
      if (current.trim() !== '') out.push(current.trim());
      current = '';
    } else current += c;
    i++;
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

/** Splits on commas at depth 0 (outside parentheses and quotes): the actions of one ALTER TABLE. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (const c of text) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

const IDENT = `(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)`;
const QUALIFIED = `${IDENT}(?:\\s*\\.\\s*${IDENT})?`;

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
}

/** A type as PostgreSQL's `format_type` spells it: `character varying(20)`, `timestamp with time zone`, `numeric(12,2)`. */
export function canonicalType(type: string): string {
  const t = type
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/\s*\(\s*/g, '(')
    .replace(/\s*,\s*/g, ',')
    .replace(/\s*\)/g, ')');
  const alias: Record<string, string> = {
    int: 'integer',
    int4: 'integer',
    int8: 'bigint',
    int2: 'smallint',
    float8: 'double precision',
    float4: 'real',
    float: 'double precision',
    bool: 'boolean',
    timestamptz: 'timestamp with time zone',
    timestamp: 'timestamp without time zone',
    varchar: 'character varying',
    decimal: 'numeric',
  };
  const m = /^([a-z0-9 ]+?)(\(.*\))?$/.exec(t);
  if (m === null) return t;
  return `${alias[m[1] as string] ?? (m[1] as string)}${m[2] ?? ''}`;
}

/** True when every value of `from` fits `to` unchanged: integer → bigint, varchar(n) → text, real → double precision, … */
export function isWidening(from: string, to: string): boolean {
  const a = canonicalType(from);
  const b = canonicalType(to);
  if (a === b) return true;
  const ints = ['smallint', 'integer', 'bigint'];
  if (ints.includes(a) && ints.includes(b)) return ints.indexOf(a) <= ints.indexOf(b);
  if (ints.includes(a) && b === 'numeric') return true;
  if (a === 'real' && b === 'double precision') return true;
  if (/^numeric\(\d+,?\d*\)$/.test(a) && b === 'numeric') return true;
  const varchar = (t: string) => /^character varying\((\d+)\)$/.exec(t)?.[1];
  if ((varchar(a) !== undefined || a === 'character varying') && (b === 'text' || b === 'character varying'))
    return true;
  if (varchar(a) !== undefined && varchar(b) !== undefined) return Number(varchar(a)) <= Number(varchar(b));
  if (a === 'timestamp without time zone' && b === 'timestamp with time zone') return false; // reinterprets values
  if (a === 'json' && b === 'jsonb') return true;
  return false;
}

const additive = (reason: string): StatementSafety => ({ safety: 'additive', reason });
const destructive = (reason: string): StatementSafety => ({ safety: 'destructive', reason });

/** One action of an ALTER TABLE; `types` are the table's current column types when known (for ALTER TYPE). */
function alterAction(action: string, types: ReadonlyMap<string, string>): StatementSafety {
  const a = action.replace(/\s+/g, ' ').trim();
  const lower = a.toLowerCase();
  const add = new RegExp(`^add (?:column )?(?:if not exists )?(${IDENT}) (.+)$`, 'i').exec(a);
  if (add !== null && !/^add (constraint|primary key|unique|check|foreign key|exclude)\b/i.test(a)) {
    const name = unquote(add[1] as string);
    const rest = (add[2] as string).toLowerCase();
    if (/\b(primary key|unique|references|check|generated)\b/.test(rest))
      return destructive(`adds column ${name} with a constraint running writers may break`);
    if (/\bnot null\b/.test(rest) && !/\bdefault\b/.test(rest))
      return destructive(`adds column ${name} NOT NULL without a default: running writers cannot insert`);
    return additive(`adds column ${name}`);
  }
  if (/^add\b/.test(lower)) return destructive('adds a constraint running writers may break');
  if (/^drop\b/.test(lower)) {
    const column = new RegExp(`^drop (?:column )?(?:if exists )?(${IDENT})`, 'i').exec(a);
    return destructive(
      /^drop constraint\b/.test(lower)
        ? 'drops a constraint'
        : `drops column ${column === null ? '' : unquote(column[1] as string)}`.trim(),
    );
  }
  if (/^rename\b/.test(lower)) return destructive('renames: running writers use the old name');
  const alter = new RegExp(`^alter (?:column )?(${IDENT}) (.+)$`, 'i').exec(a);
  if (alter !== null) {
    const name = unquote(alter[1] as string);
    const rest = (alter[2] as string).toLowerCase();
    if (/^drop not null$/.test(rest)) return additive(`lets column ${name} be null`);
    if (/^set default\b/.test(rest)) return additive(`sets a default on ${name}`);
    if (/^drop default$/.test(rest)) return additive(`drops the default of ${name}`);
    if (/^set not null$/.test(rest)) return destructive(`sets NOT NULL on ${name}: running writers may insert nulls`);
    const type = /^(?:set data )?type (.+?)(?: using .*)?$/i.exec(rest);
    if (type !== null) {
      const current = types.get(name);
      const target = (type[1] as string).replace(/ collate .*/, '');
      if (current === undefined) return destructive(`changes the type of ${name} (its current type is unknown)`);
      return isWidening(current, target)
        ? additive(`widens ${name} from ${canonicalType(current)} to ${canonicalType(target)}`)
        : destructive(
            `changes ${name} from ${canonicalType(current)} to ${canonicalType(target)}, which may not hold its values`,
          );
    }
  }
  return destructive(`unrecognised ALTER TABLE action '${a.slice(0, 60)}'`);
}

/**
 * Classifies one SQL statement. `types` (column → type of the table as it is) lets a type change be
 * recognised as a widening; without it a type change is destructive.
 *
 * @example
 * classifyStatement('ALTER TABLE t ADD COLUMN note text') // { safety: 'additive', reason: 'adds column note' }
 * classifyStatement('ALTER TABLE t DROP COLUMN note')     // { safety: 'destructive', reason: 'drops column note' }
 */
export function classifyStatement(sql: string, types: ReadonlyMap<string, string> = new Map()): StatementSafety {
  const s = sql.replace(/\s+/g, ' ').trim();
  const lower = s.toLowerCase();
  if (/^create (?:unlogged )?table\b/.test(lower)) return additive('creates a table');
  if (/^create unique index\b/.test(lower)) return destructive('adds a unique index running writers may break');
  if (/^create index\b/.test(lower)) return additive('creates an index');
  if (/^create (schema|sequence|type|extension|view|function|procedure)\b/.test(lower))
    return additive(`creates a ${/^create (\w+)/.exec(lower)?.[1]}`);
  if (/^comment on\b/.test(lower)) return additive('sets a comment');
  if (/^insert into\b/.test(lower)) return additive('inserts rows');
  if (/^(drop|truncate|delete|update)\b/.test(lower))
    return destructive(`${/^\w+/.exec(lower)?.[0]}: loses or changes data`);
  const alter = new RegExp(`^alter table (?:if exists )?(?:only )?(${QUALIFIED}) (.+)$`, 'i').exec(s);
  if (alter !== null) {
    const rest = alter[2] as string;
    if (/^rename\b/i.test(rest)) return destructive('renames: running writers use the old name');
    if (/^set schema\b/i.test(rest)) return destructive('moves the table to another schema');
    const actions = splitTopLevel(rest).map((action) => alterAction(action, types));
    const bad = actions.find((x) => x.safety === 'destructive');
    return bad ?? additive(actions.map((x) => x.reason).join(', '));
  }
  return destructive(`unrecognised statement '${s.slice(0, 60)}'`);
}

/**
 * Classifies a migration step: destructive when any of its statements is. The column types are updated as
 * the step's statements change them, so `ADD COLUMN n integer; ALTER COLUMN n TYPE bigint` is additive.
 */
export function classifyStep(
  statements: readonly string[],
  types: Map<string, string> = new Map(),
): { safety: StepSafety; reasons: string[] } {
  const reasons: string[] = [];
  let safety: StepSafety = 'additive';
  for (const statement of statements.flatMap(splitStatements)) {
    const result = classifyStatement(statement, types);
    reasons.push(result.reason);
    if (result.safety === 'destructive') safety = 'destructive';
    trackTypes(statement, types);
  }
  return { safety, reasons };
}

/** Follows ADD COLUMN / ALTER TYPE / CREATE TABLE of a statement in a column → type map (best effort). */
function trackTypes(statement: string, types: Map<string, string>): void {
  const s = statement.replace(/\s+/g, ' ').trim();
  const create = new RegExp(`^create (?:unlogged )?table (?:if not exists )?${QUALIFIED} ?\\((.*)\\)`, 'i').exec(s);
  if (create !== null) {
    for (const part of splitTopLevel(create[1] as string)) {
      const col = new RegExp(`^(${IDENT}) ([a-z][a-z ]*(?:\\([0-9, ]+\\))?)`, 'i').exec(part);
      if (col !== null && !/^(primary|unique|constraint|check|foreign)$/i.test(col[1] as string))
        types.set(
          unquote(col[1] as string),
          (col[2] as string).replace(/ (not|null|default|primary|references|unique|check)\b.*$/i, ''),
        );
    }
    return;
  }
  const alter = new RegExp(`^alter table (?:if exists )?(?:only )?${QUALIFIED} (.+)$`, 'i').exec(s);
  if (alter === null) return;
  for (const action of splitTopLevel(alter[1] as string)) {
    const add = new RegExp(
      `^add (?:column )?(?:if not exists )?(${IDENT}) ([a-z][a-z ]*(?:\\([0-9, ]+\\))?)`,
      'i',
    ).exec(action);
    if (add !== null)
      types.set(
        unquote(add[1] as string),
        (add[2] as string).replace(/ (not|null|default|primary|references|unique|check)\b.*$/i, ''),
      );
    const type = new RegExp(
      `^alter (?:column )?(${IDENT}) (?:set data )?type ([a-z][a-z ]*(?:\\([0-9, ]+\\))?)`,
      'i',
    ).exec(action);
    if (type !== null) types.set(unquote(type[1] as string), (type[2] as string).replace(/ using\b.*$/i, ''));
  }
}
