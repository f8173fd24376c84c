// One scaling decision in plain words: the inputs, each rule's range and why, how they combined, the clamp, the target, the ramp cut, what was done and what was not.
import { INTEGER_TOLERANCE } from '../scaling/calculator.js';
import { parseRulesCached, type Rule } from '../scaling/rules.js';
import { isSurgeRound, type DecisionActionView, type DecisionRuleView, type DecisionView } from './decision-view.js';

/** Where the decision is kept (the stored row), beside what it says (the view). */
export interface DecisionMeta {
  id: string;
  endpoint: string;
  at: Date;
}

/** A number as operators read it: 33.01 → "33.0", 0.002 → "0.002", 12 → "12". */
function num(x: number): string {
  if (Number.isInteger(x)) return String(x);
  if (Math.abs(x) >= 1) return x.toFixed(1);
  return String(Number(x.toPrecision(2)));
}

const bound = (max: number | null) => (max === null ? '∞' : String(max));
const span = (min: number, max: number | null) => `${min}..${bound(max)}`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const exact = (q: number) => Math.abs(q - Math.round(q)) <= INTEGER_TOLERANCE;

function parsed(text: string): Rule | null {
  try {
    const rules = parseRulesCached(text);
    return rules.length === 1 ? rules[0] : null;
  } catch {
    return null;
  }
}

/** Why one rule asks for its range, from its bounds and the endpoint total T. */
function ruleLine(view: DecisionRuleView, reported: number): string {
  const range = span(view.min, view.max);
  const rule = parsed(view.rule);
  if (!rule) return `- ${view.rule}: ${range}.`;
  if (rule.metric === 'instances') {
    const parts: string[] = [];
    if (rule.lower !== null) parts.push(`at least ${view.min} (${rule.lowerInclusive ? `${rule.lower} or more` : `more than ${rule.lower}`})`);
    if (rule.upper !== null) parts.push(`at most ${bound(view.max)} (${rule.upperInclusive ? `${rule.upper} or fewer` : `fewer than ${rule.upper}`})`);
    return `- ${view.rule}: bounds the count itself: ${parts.join(', ')} → ${range}.`;
  }
  const value = view.value ?? 0;
  const total = view.total ?? value * reported;
  const parts = [`${rule.metric} ${num(value)} per instance × ${reported} reporting = ${num(total)} in total`];
  if (rule.upper !== null) {
    const op = rule.upperInclusive ? '<=' : '<';
    if (total <= 0) parts.push(`no load, so no fewest (0)`);
    else {
      const q = total / rule.upper;
      const how = exact(q)
        ? rule.upperInclusive
          ? `exactly ${Math.round(q)} at ${rule.upper} each, which ${op} allows`
          : `exactly ${Math.round(q)} would each carry ${rule.upper}, which ${op} excludes, so one more`
        : 'rounded up';
      parts.push(`${op} ${rule.upper} per instance needs at least ${view.min} (${num(total)} ÷ ${rule.upper} = ${num(q)}, ${how})`);
    }
  }
  if (rule.lower !== null) {
    const op = rule.lowerInclusive ? '<=' : '<';
    if (rule.lower === 0) {
      parts.push(
        rule.lowerInclusive
          ? '0 <= always holds: no most'
          : total > 0
            ? 'any count keeps some load on each, above 0: no most'
            : 'with no load no count is above 0: at most 0, so the endpoint falls back to its minimum',
      );
    } else if (total <= 0) {
      parts.push(`${rule.lower} ${op} per instance cannot hold with no load: at most 0, so the endpoint falls back to its minimum`);
    } else {
      const q = total / rule.lower;
      const how = exact(q) ? (rule.lowerInclusive ? `exactly ${Math.round(q)}, which ${op} allows` : `exactly ${Math.round(q)} would each carry ${rule.lower}, which ${op} excludes, so one fewer`) : 'rounded up';
      parts.push(`${rule.lower} ${op} per instance allows at most ${bound(view.max)} (${num(total)} ÷ ${rule.lower} = ${num(q)}, ${how})`);
    }
  }
  return `- ${view.rule}: ${parts.join('; ')} → ${range}.`;
}

/** How the rules' ranges combined, step by step, in the order written (earlier rules win). */
function combineLines(rules: readonly DecisionRuleView[], ideal: DecisionView['ideal']): string[] {
  if (rules.length === 0) return ['Combined: no rules → 0..0 (the endpoint is held at its minimum).'];
  if (rules.length === 1) return [`Combined: one rule → ${span(ideal.min, ideal.max)}.`];
  const lines = [`Combined in the order written (earlier rules win): "${rules[0].rule}" gives ${span(rules[0].min, rules[0].max)}`];
  let min = rules[0].min;
  let max = rules[0].max ?? Infinity;
  for (const rule of rules.slice(1)) {
    const nextMax = rule.max ?? Infinity;
    const asks = `"${rule.rule}" asks ${span(rule.min, rule.max)}`;
    if (min > max) lines.push(`${asks}: not considered, the range is already empty`);
    else if (rule.min > nextMax) lines.push(`${asks}, an empty range: skipped`);
    else {
      const lo = Math.max(min, rule.min);
      const hi = Math.min(max, nextMax);
      if (lo <= hi) {
        [min, max] = [lo, hi];
        lines.push(`${asks}: they overlap → ${span(min, max === Infinity ? null : max)}`);
      } else if (nextMax < min) {
        max = min;
        lines.push(`${asks}, wholly below: as low as the earlier rules allow → ${min}..${min}`);
      } else {
        min = max;
        lines.push(`${asks}, wholly above: as high as the earlier rules allow → ${max}..${max}`);
      }
    }
  }
  return [`${lines.join('; ')}.`];
}

function clampLine(view: DecisionView): string {
  const { ideal, clamped, inputs } = view;
  if (view.conflict) {
    return `Conflict: the combined range ${span(ideal.min, ideal.max)} is empty (the rules cannot all hold), so the current count ${view.current} is kept, unclamped; SCALING_CONFLICT is logged once when it starts.`;
  }
  if (!inputs) return `Clamp: ${span(clamped.min, clamped.max)}.`;
  const bounds = `min_instances ${inputs.minInstances}..max_instances ${inputs.maxInstances}`;
  const idealText = span(ideal.min, ideal.max);
  if (clamped.min === ideal.min && clamped.max === ideal.max) return `Clamp: ${idealText} lies within ${bounds}: unchanged.`;
  const idealMax = ideal.max ?? Infinity;
  if (Math.max(ideal.min, inputs.minInstances) <= Math.min(idealMax, inputs.maxInstances)) {
    return `Clamp: ${idealText} within ${bounds} → ${span(clamped.min, clamped.max)}.`;
  }
  return ideal.min > inputs.maxInstances
    ? `Clamp: ${idealText} lies wholly above max_instances ${inputs.maxInstances} (more load than allowed) → ${clamped.min}..${clamped.max}.`
    : `Clamp: ${idealText} lies wholly below min_instances ${inputs.minInstances} → ${clamped.min}..${clamped.max}.`;
}

function targetLine(view: DecisionView): string {
  const { clamped, current, target } = view;
  if (view.state === 'STOPPED') return 'Target 0: the endpoint is STOPPED, every instance goes.';
  const range = `${clamped.min}..${clamped.max}`;
  if (current >= clamped.min && current <= clamped.max && target === current) {
    return `Target ${target}: the current count ${current} is inside ${range}, so it stays (no change without need).`;
  }
  const how =
    clamped.min === clamped.max
      ? 'the only count in it'
      : target === Math.floor((clamped.min + clamped.max) / 2)
        ? 'the middle of the range, rounded down'
        : target === clamped.min
          ? 'the fewest in it'
          : 'in it';
  return `Target ${target}: the current count ${current} is outside ${range}; ${target} is ${how}.`;
}

function rampLine(view: DecisionView): string {
  const moved = Math.abs(view.after - view.current);
  if (view.state === 'PAUSED' || view.held !== null) return `Nothing changes this round: ${view.held ?? 'the endpoint is PAUSED'}.`;
  if (view.rampLimit === null) {
    return moved === 0 ? 'No ramp limit applies to this round, and nothing to move.' : `No ramp limit applies to this round: all ${moved} change${moved === 1 ? '' : 's'} at once (→ ${view.after}).`;
  }
  if (moved === 0 && view.rampCut === 0) return `Ramp: nothing to move (ramp_limit ${view.rampLimit}).`;
  if (view.rampCut > 0) {
    return `Ramp cut: ramp_limit ${view.rampLimit} allows ${view.rampLimit} change${view.rampLimit === 1 ? '' : 's'} a round, so ${moved} now (→ ${view.after}) and ${view.rampCut} held back for the next rounds.`;
  }
  return moved === 1 ? `Ramp: the 1 change fits within ramp_limit ${view.rampLimit} (→ ${view.after}).` : `Ramp: all ${moved} changes fit within ramp_limit ${view.rampLimit} (→ ${view.after}).`;
}

function who(action: DecisionActionView): string {
  return action.instance ?? 'a new instance';
}

function doneLine(action: DecisionActionView, drain: number | null): string {
  const on = action.manager ? ` on manager ${action.manager}` : '';
  switch (action.kind) {
    case 'LAUNCH':
      return `- launched ${who(action)}${on}: ${action.reason}.`;
    case 'RECOMMISSION':
      return `- recommissioned ${who(action)}${on} (back into the balancer, warm, cheaper than a launch): ${action.reason}.`;
    case 'DECOMMISSION':
      return action.outcome === 'REMOVED'
        ? `- removed ${who(action)}${on} at once: ${action.reason}.`
        : `- decommissioned ${who(action)}${on}: ${action.reason}; it left the balancer and drains until its connections close${drain === null ? '' : ` or ${drain} s pass (decommissioned_timeout)`}.`;
    case 'CANCEL':
      return `- cancelled ${who(action)}, a launch that was never placed: ${action.reason}.`;
    case 'DELETE':
      return `- deleted ${who(action)}${on}: ${action.reason}.`;
  }
}

function notDoneLine(actions: readonly DecisionActionView[]): string {
  const first = actions[0];
  const kind = first.kind.toLowerCase();
  const what = actions.length === 1 ? kind : `${actions.length} ${kind === 'launch' ? 'launches' : `${kind}s`}`;
  const ids = actions.map((a) => a.instance).filter((id): id is string => id !== null);
  const of = ids.length > 0 ? ` (${ids.join(', ')})` : '';
  switch (first.outcome) {
    case 'DEFERRED':
      return `- ${what}${of} deferred until ${first.until?.toISOString() ?? 'later'}: launches of this endpoint failed recently, so the launch back-off waits before trying again (${first.reason}).`;
    case 'NO_ROOM':
      return `- ${what}${of} found no room: ${first.reason}; ${actions.length === 1 ? 'it waits' : 'they wait'} as PENDING until a manager has the slots.`;
    default:
      return `- ${what}${of} skipped: ${first.reason}.`;
  }
}

function actionLines(view: DecisionView): string[] {
  const drain = view.inputs?.decommissionedTimeout ?? null;
  const done = view.actions.filter((a) => a.outcome === 'DONE' || a.outcome === 'REMOVED');
  const notDone = view.actions.filter((a) => a.outcome !== 'DONE' && a.outcome !== 'REMOVED');
  const lines: string[] = [];
  if (done.length > 0) lines.push('Done:', ...done.map((a) => doneLine(a, drain)));
  else if (notDone.length === 0) lines.push('Done: nothing; no instance was launched, decommissioned or removed.');
  if (notDone.length > 0) {
    // Actions of one kind that went the same way for the same reason are told once.
    const groups = new Map<string, DecisionActionView[]>();
    for (const action of notDone) {
      const key = `${action.kind}\u0000${action.outcome}\u0000${action.reason}`;
      groups.set(key, [...(groups.get(key) ?? []), action]);
    }
    lines.push('Wanted but not done:', ...[...groups.values()].map(notDoneLine));
  } else if (view.rampCut > 0) {
    lines.push(`Wanted but not done: ${plural(view.rampCut, 'change')} held back by the ramp limit (see above).`);
  }
  return lines;
}

function header(view: DecisionView, meta: DecisionMeta): string {
  const round =
    view.round === 'TRIGGER'
      ? `a trigger round${view.cause ? ` (${view.cause})` : ''} between evaluations: the rules are not consulted, the count the last evaluation set is held, fitted into min..max`
      : isSurgeRound(view)
        ? `a ${view.startedBy === 'BURST' ? 'burst' : 'held-request'} round, run at once between intervals: the rules are consulted with a host's reading of the last second (and its held requests), and it only adds instances`
        : 'an evaluation round (once per interval, the rules are consulted)';
  return `Decision ${meta.id} of ${meta.endpoint} at ${meta.at.toISOString()}: ${round}; the endpoint was ${view.state ?? 'in an unrecorded state'}.`;
}

function inputsLine(view: DecisionView): string {
  const inputs = view.inputs;
  if (!inputs) return `Inputs: not recorded; ${view.current} instances were serving or starting.`;
  const settings = `min_instances ${inputs.minInstances}, max_instances ${inputs.maxInstances}, ramp_limit ${inputs.rampLimit}, rules "${inputs.rules}"`;
  const serving = `${plural(view.current, 'instance')} serving or starting`;
  if (view.round === 'TRIGGER') return `Inputs: ${serving}; ${settings}.`;
  if (inputs.reported === null) {
    return `Inputs: no metric sample yet (a fresh start, or sampling failed), so the rules were not evaluated and the current count is held within min..max; ${serving}; ${settings}.`;
  }
  const metrics = Object.entries(inputs.metrics).map(([name, value]) => `${name} ${num(value)}`);
  return `Inputs: the sample had ${plural(inputs.reported, 'instance')} reporting, per instance ${metrics.length > 0 ? metrics.join(', ') : 'no metrics'}; ${serving}; ${settings}.`;
}

/**
 * The decision told in plain words, one paragraph per step of the control
 * loop, for `ScalingDecision.explanation` and `reactor explain`. It reads
 * only the stored decision (through `decisionView`, so old records explain
 * as far as they can), never the live state.
 */
export function explainDecision(view: DecisionView, meta: DecisionMeta): string {
  const lines = [header(view, meta), inputsLine(view)];
  // Rules were evaluated in an evaluation round with a sample, unless a bad stored config held the endpoint (PAUSED still shows them).
  const badConfig = view.held !== null && view.state !== 'PAUSED';
  if (view.round === 'EVALUATE' && view.inputs && view.inputs.reported !== null && !badConfig) {
    const reported = view.inputs.reported;
    if (view.rules.length > 0) lines.push('Rules:', ...view.rules.map((rule) => ruleLine(rule, reported)));
    lines.push(...combineLines(view.rules, view.ideal));
    if (view.state !== 'STOPPED') lines.push(clampLine(view));
  } else if (view.round === 'EVALUATE' && view.inputs?.reported === null && view.state === 'RUNNING') {
    lines.push(`Held: the current ${view.current} fitted into min..max → ${view.clamped.min}..${view.clamped.max}.`);
  }
  if (view.state !== 'PAUSED' && view.held === null) lines.push(targetLine(view));
  lines.push(rampLine(view));
  lines.push(...actionLines(view));
  if (view.notes.length > 0) lines.push('Notes:', ...view.notes.map((note) => `- ${note}`));
  lines.push(`In one line: ${view.summary}`);
  return lines.join('\n');
}
