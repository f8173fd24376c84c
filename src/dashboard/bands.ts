// Reads each scaling rule's band (20 <= rate <= 50 → rate between 20 and 50) from the rules' text, for drawing on the metric's chart.

export interface Band {
  /** The rule as written. */
  rule: string;
  metric: string;
  /** Lower bound, or null when the rule has none. */
  lower: number | null;
  /** Upper bound, or null when the rule has none. */
  upper: number | null;
}

const NUMBER = String.raw`(\d+\.?\d*|\.\d+)`;
const OP = '(<=|<)';
const RULE = new RegExp(String.raw`^\s*(?:${NUMBER}\s*${OP}\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:${OP}\s*${NUMBER})?\s*$`);

/**
 * The bands of comma-separated rules in the public `[L op] metric [op U]`
 * form. A rule that does not read as one is left out: the server, not the
 * chart, says what is wrong with it (the editor previews through
 * evaluateScaling, which quotes the rule).
 */
export function bandsOf(rules: string): Band[] {
  const bands: Band[] = [];
  for (const raw of rules.split(',')) {
    const match = RULE.exec(raw);
    if (!match || (match[1] === undefined && match[5] === undefined)) continue;
    bands.push({
      rule: raw.trim(),
      metric: match[3]!,
      lower: match[1] === undefined ? null : Number(match[1]),
      upper: match[5] === undefined ? null : Number(match[5]),
    });
  }
  return bands;
}

/** The metrics the rules read, in the order first written, without `instances` (that one is the instance chart). */
export function ruleMetrics(rules: string): string[] {
  return [...new Set(bandsOf(rules).map((band) => band.metric))].filter((metric) => metric !== 'instances');
}
