// Scaling rules: the `[L op] metric [op U]` grammar, its parser with validation, and its canonical text.
import { badInput } from '../errors/codes.js';

/**
 * One parsed rule. `20 <= rate < 50` is
 * `{metric: 'rate', lower: 20, lowerInclusive: true, upper: 50, upperInclusive: false}`.
 * A missing side is `null` (its `…Inclusive` flag is then meaningless and false).
 */
export interface Rule {
  /** The rule as the operator wrote it, trimmed (what messages and decision records quote). */
  text: string;
  metric: string;
  lower: number | null;
  lowerInclusive: boolean;
  upper: number | null;
  upperInclusive: boolean;
}

/** What every shape error says, so the operator sees the grammar next to their text. */
export const RULE_GRAMMAR = 'expected [L op] metric [op U] with op < or <=';

type Token =
  | { kind: 'op'; inclusive: boolean; text: string }
  | { kind: 'name'; text: string }
  | { kind: 'number'; value: number; text: string };

// Decimals only: `20`, `0.05`, `.5`, `5.`. No exponents, no signs (a `-` is
// caught separately so the message can say "negative" rather than "syntax").
const TOKEN = /\s*(?:(<=|<)|([A-Za-z_][A-Za-z0-9_]*)|(\d+\.?\d*|\.\d+))/y;

function fail(text: string, what: string): never {
  throw badInput(`rule "${text}": ${what}`, { rule: text });
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(text);
    if (!match) {
      const rest = text.slice(at).trimStart();
      const negative = /^-\s*(\d+\.?\d*|\.\d+)/.exec(rest);
      if (negative) fail(text, `bound -${negative[1]} is negative; bounds must be non-negative numbers`);
      fail(text, `${RULE_GRAMMAR} (unexpected "${rest[0]}")`);
    }
    at = TOKEN.lastIndex;
    if (match[1] !== undefined) tokens.push({ kind: 'op', inclusive: match[1] === '<=', text: match[1] });
    else if (match[2] !== undefined) tokens.push({ kind: 'name', text: match[2] });
    else {
      // An identifier glued to a number (`5rate`, `1e3`) is not a rule.
      if (/^[A-Za-z_]/.test(text.slice(at))) fail(text, `${RULE_GRAMMAR} (bad number "${match[3]}${text.slice(at).split(/[^A-Za-z0-9_]/)[0]}")`);
      tokens.push({ kind: 'number', value: Number(match[3]), text: match[3] });
    }
  }
  return tokens;
}

/** Parses one rule (no commas). Throws BAD_USER_INPUT quoting the rule. */
export function parseRule(raw: string): Rule {
  const text = raw.trim();
  if (text === '') fail(text, 'the rule is empty');
  const t = tokenize(text);
  const shape = t.map((token) => token.kind).join(' ');
  let rule: Rule;
  switch (shape) {
    case 'name':
      return fail(text, `no bound: a rule needs at least one, e.g. "${text} < 10" or "1 <= ${text}"`);
    case 'number op name': {
      const [l, op, m] = t as [Extract<Token, { kind: 'number' }>, Extract<Token, { kind: 'op' }>, Token];
      rule = { text, metric: m.text, lower: l.value, lowerInclusive: op.inclusive, upper: null, upperInclusive: false };
      break;
    }
    case 'name op number': {
      const [m, op, u] = t as [Token, Extract<Token, { kind: 'op' }>, Extract<Token, { kind: 'number' }>];
      rule = { text, metric: m.text, lower: null, lowerInclusive: false, upper: u.value, upperInclusive: op.inclusive };
      break;
    }
    case 'number op name op number': {
      const [l, lop, m, uop, u] = t as [
        Extract<Token, { kind: 'number' }>,
        Extract<Token, { kind: 'op' }>,
        Token,
        Extract<Token, { kind: 'op' }>,
        Extract<Token, { kind: 'number' }>,
      ];
      rule = { text, metric: m.text, lower: l.value, lowerInclusive: lop.inclusive, upper: u.value, upperInclusive: uop.inclusive };
      break;
    }
    default:
      fail(text, RULE_GRAMMAR);
  }
  if (rule.lower !== null && !Number.isFinite(rule.lower)) fail(text, `lower bound ${rule.lower} is not a finite number`);
  if (rule.upper !== null && !Number.isFinite(rule.upper)) fail(text, `upper bound ${rule.upper} is not a finite number`);
  // U = 0 would divide by zero (`rate < 0` can never hold; `rate <= 0` is "no load at all",
  // which the lower-bound side cannot express either): the design requires U > 0.
  if (rule.upper !== null && rule.upper <= 0) fail(text, `upper bound ${rule.upper} must be greater than 0`);
  if (rule.lower !== null && rule.upper !== null) {
    if (rule.lower > rule.upper) {
      fail(text, `lower bound ${rule.lower} is greater than upper bound ${rule.upper}`);
    }
    if (rule.lower === rule.upper && !(rule.lowerInclusive && rule.upperInclusive)) {
      fail(text, `lower bound ${rule.lower} and upper bound ${rule.upper} leave no value between them (use <= on both sides for an exact value)`);
    }
  }
  return rule;
}

/**
 * Parses a comma-separated rule list, e.g. `20<=rate<=50,100<=response<800`.
 * Empty or whitespace-only text means "no rules" and gives `[]`; an empty
 * element inside a list (`a,,b`, a trailing comma) is an error, since it is
 * almost always a typo for a rule that went missing.
 */
export function parseRules(text: string): Rule[] {
  if (text.trim() === '') return [];
  const parts = text.split(',');
  return parts.map((part, index) => {
    if (part.trim() === '') {
      throw badInput(`rules "${text.trim()}": rule ${index + 1} of ${parts.length} is empty (stray comma?)`, {
        rules: text,
      });
    }
    return parseRule(part);
  });
}

const cache = new Map<string, readonly Rule[]>();
const CACHE_LIMIT = 512;

/**
 * `parseRules` with memory: the control loop evaluates the same few rule
 * texts every round for every endpoint, so parsing once per distinct text
 * keeps `decide()` cheap. Results are frozen because they are shared.
 * Errors are not cached (they are rare and cheap to recompute).
 */
export function parseRulesCached(text: string): readonly Rule[] {
  let rules = cache.get(text);
  if (rules === undefined) {
    rules = Object.freeze(parseRules(text).map((rule) => Object.freeze(rule)));
    // Rule texts come from operators, so the set is small; the bound only guards
    // against a caller feeding arbitrary text (e.g. the what-if query) forever.
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(text, rules);
  }
  return rules;
}

/** The canonical text of a rule: `20 <= rate < 50`, `rate <= 1`, `2 <= instances`. */
export function formatRule(rule: Pick<Rule, 'metric' | 'lower' | 'lowerInclusive' | 'upper' | 'upperInclusive'>): string {
  let out = rule.metric;
  if (rule.lower !== null) out = `${rule.lower} ${rule.lowerInclusive ? '<=' : '<'} ${out}`;
  if (rule.upper !== null) out = `${out} ${rule.upperInclusive ? '<=' : '<'} ${rule.upper}`;
  return out;
}
