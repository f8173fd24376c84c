// The `reactor replay` and `reactor explain` commands: what a policy would have done over recorded traffic, and one decision in plain words.
import type { Command } from 'commander';
import { CliError } from './client.js';
import type { CandidatePolicy, LaunchModel, PolicyPeriod, ReplayPoint, ReplayReport } from '../replay/types.js';
import { isoSeconds, table } from './format.js';

export interface CommandIo {
  request: <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;
  out: (value: unknown) => void;
  json: () => boolean;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `15m`, `1h30m`, `2d` → seconds ago; an ISO time as it is. */
export function parseWhen(flag: string, value: string, now = Date.now()): Date {
  const parts = value.match(/\d+(?:\.\d+)?[smhd]/g);
  if (parts && parts.join('') === value) {
    const seconds = parts.reduce((sum, part) => sum + Number(part.slice(0, -1)) * UNITS[part.slice(-1)], 0);
    return new Date(now - seconds * 1000);
  }
  const at = /^\d{4}-\d\d-\d\d/.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(at.getTime())) {
    throw new CliError(`${flag} takes a duration back from now (90s, 15m, 1h, 2d, 1h30m) or an ISO time, not ${JSON.stringify(value)}`, 'BAD_USER_INPUT');
  }
  return at;
}

function whole(flag: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new CliError(`${flag} takes a whole number, not ${JSON.stringify(value)}`, 'BAD_USER_INPUT');
    return Number(value);
  };
}

function seconds(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new CliError(`${flag} takes a number of seconds, not ${JSON.stringify(value)}`, 'BAD_USER_INPUT');
    return n;
  };
}

const FIGURES = `instanceSeconds scaleEvents scaleUps scaleDowns launches secondsOutsideBands secondsUnserved meanInstances peakInstances
  bands { rule metric secondsBelow secondsAbove secondsOutside }`;
const POINT = 'at target instances after serving recordedTarget recordedInstances recordedHeld summary';

function replayQuery(timeline: 'all' | 'changes' | 'none'): string {
  const points = timeline === 'none' ? '' : `timeline(changesOnly: ${timeline === 'changes'}) { ${POINT} }`;
  return `query($endpoint: String!, $policy: ScalingPolicyInput!, $from: DateTime, $to: DateTime, $launchSeconds: Float, $bands: [String!], $undivided: [String!]) {
    replayScaling(endpoint: $endpoint, policy: $policy, from: $from, to: $to, launchSeconds: $launchSeconds, bands: $bands, undivided: $undivided) {
      endpoint from to rounds seconds intervalSeconds compared held differences notes
      policy { rules minInstances maxInstances rampLimit }
      inForce { from rules minInstances maxInstances rampLimit }
      launch { seconds source launches }
      retention { samplesSeconds decisionsSeconds }
      replayed { ${FIGURES} } recorded { ${FIGURES} } ${points}
    }
  }`;
}

/** A value of the replay's vocabulary as the API's JSON carries it: times as ISO strings. */
type Wire<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };
type Policy = CandidatePolicy;
/** The report's fields the command asks for (replayReport's own types; the launch source as the schema spells it). */
interface Replay extends Wire<Pick<ReplayReport, 'endpoint' | 'from' | 'to' | 'rounds' | 'intervalSeconds' | 'compared' | 'held' | 'differences' | 'notes' | 'policy' | 'replayed' | 'recorded'>> {
  inForce: Wire<PolicyPeriod>[];
  launch: Omit<LaunchModel, 'source'> & { source: Uppercase<LaunchModel['source']> };
  timeline?: Wire<ReplayPoint>[];
}

const fixed = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
const policyText = (p: Policy) => `rules "${p.rules}", min ${p.minInstances}, max ${p.maxInstances}, ramp ${p.rampLimit}`;

function change(replayed: number, recorded: number): string {
  if (replayed === recorded) return '=';
  if (recorded === 0) return replayed > 0 ? 'new' : '=';
  const pct = ((replayed - recorded) / recorded) * 100;
  return `${pct > 0 ? '+' : ''}${pct.toFixed(1)} %`;
}

/** The comparison as an operator reads it: the two policies, then the figures side by side. */
export function formatReplay(r: Replay): string {
  if (r.rounds === 0) return [`${r.endpoint}: nothing to replay`, ...r.notes.map((n) => `note: ${n}`)].join('\n');
  const launch =
    r.launch.source === 'RECORDED'
      ? `launches serve after ${r.launch.seconds.toFixed(2)} s (median of ${r.launch.launches} recorded)`
      : r.launch.source === 'GIVEN'
        ? `launches serve after ${r.launch.seconds} s (given)`
        : 'launches serve at once (none recorded)';
  const every = r.intervalSeconds === null ? '' : ` every ${fixed(r.intervalSeconds)} s`;
  const lines = [
    `${r.endpoint}: ${isoSeconds(r.from!)} … ${isoSeconds(r.to!)}, ${r.rounds} rounds${every}; ${launch}`,
    `replayed: ${policyText(r.policy)}`,
    ...(r.inForce.length === 0 ? ['recorded: no decisions recorded'] : r.inForce.map((p) => `recorded: ${policyText(p)} (from ${isoSeconds(p.from)})`)),
    '',
  ];
  const a = r.replayed;
  const b = r.recorded;
  const rows: (string | number)[][] = [
    ['instance-seconds', fixed(a.instanceSeconds), fixed(b.instanceSeconds), change(a.instanceSeconds, b.instanceSeconds)],
    ['mean instances', a.meanInstances.toFixed(2), b.meanInstances.toFixed(2), change(a.meanInstances, b.meanInstances)],
    ['peak instances', a.peakInstances, b.peakInstances, change(a.peakInstances, b.peakInstances)],
    ['scale events (up/down)', `${a.scaleEvents} (${a.scaleUps}/${a.scaleDowns})`, `${b.scaleEvents} (${b.scaleUps}/${b.scaleDowns})`, change(a.scaleEvents, b.scaleEvents)],
    ['launches', a.launches, b.launches, change(a.launches, b.launches)],
    ['seconds outside bands', fixed(a.secondsOutsideBands), fixed(b.secondsOutsideBands), change(a.secondsOutsideBands, b.secondsOutsideBands)],
  ];
  a.bands.forEach((band, i) => {
    const other = b.bands[i];
    rows.push([`  ${band.rule}: above`, fixed(band.secondsAbove), fixed(other.secondsAbove), change(band.secondsAbove, other.secondsAbove)]);
    rows.push([`  ${band.rule}: below`, fixed(band.secondsBelow), fixed(other.secondsBelow), change(band.secondsBelow, other.secondsBelow)]);
  });
  rows.push(['seconds unserved', fixed(a.secondsUnserved), fixed(b.secondsUnserved), change(a.secondsUnserved, b.secondsUnserved)]);
  lines.push(table(['', 'REPLAYED', 'RECORDED', 'CHANGE'], rows), '');
  const held = r.held > 0 ? ` (${r.held} of them held as the last one kept)` : '';
  lines.push(`targets differ in ${r.differences} of ${r.compared} rounds with a recorded evaluation${held}`);
  for (const note of r.notes) lines.push(`note: ${note}`);
  if (r.timeline) {
    lines.push(
      '',
      table(
        ['AT', 'TARGET', 'INSTANCES', 'SERVING', 'RECORDED TARGET', 'RECORDED INSTANCES'],
        r.timeline.map((p) => [isoSeconds(p.at), p.target, p.instances, p.serving, p.recordedTarget, p.recordedInstances]),
      ),
    );
  }
  return lines.join('\n');
}

export function registerReplayCommands(program: Command, io: CommandIo): void {
  program
    .command('replay <name>')
    .description("replay a scaling policy over the endpoint's recorded traffic and compare it with what happened (the endpoint's own policy where a part is left out)")
    .option('--rules <rules>', "scaling rules, e.g. '0 < rate < 20'")
    .option('--min <n>', 'min_instances', whole('--min'))
    .option('--max <n>', 'max_instances', whole('--max'))
    .option('--ramp <n>', 'ramp_limit', whole('--ramp'))
    .option('--since <when>', 'start: a duration back from now (1h, 30m, 2d) or an ISO time; default all that is retained')
    .option('--until <when>', 'end: a duration back from now or an ISO time; default now')
    .option('--launch-seconds <s>', 'seconds a launch takes to serve; default the median recorded for the endpoint', seconds('--launch-seconds'))
    .option('--bands <rules>', 'the rules whose bands are timed on both sides; default the replayed rules')
    .option('--undivided <metrics>', 'metrics taken as recorded instead of re-divided, comma-separated (response always is)')
    .option('--timeline', 'also print the rounds where either side changed')
    .action(async (name: string, options: { rules?: string; min?: number; max?: number; ramp?: number; since?: string; until?: string; launchSeconds?: number; bands?: string; undivided?: string; timeline?: boolean }) => {
      const now = Date.now();
      const from = options.since === undefined ? undefined : parseWhen('--since', options.since, now);
      const to = options.until === undefined ? undefined : parseWhen('--until', options.until, now);
      const { endpoint } = await io.request<{ endpoint: { config: { scaling: Policy } } | null }>(
        'query($name: String!) { endpoint(name: $name) { config { scaling { rules minInstances maxInstances rampLimit } } } }',
        { name },
      );
      if (!endpoint) throw new CliError(`endpoint "${name}" does not exist`, 'NOT_FOUND');
      const own = endpoint.config.scaling;
      const policy = {
        rules: [options.rules ?? own.rules],
        minInstances: options.min ?? own.minInstances,
        maxInstances: options.max ?? own.maxInstances,
        rampLimit: options.ramp ?? own.rampLimit,
      };
      const json = io.json();
      const data = await io.request<{ replayScaling: Replay }>(replayQuery(json ? 'all' : options.timeline ? 'changes' : 'none'), {
        endpoint: name,
        policy,
        from: from?.toISOString(),
        to: to?.toISOString(),
        launchSeconds: options.launchSeconds,
        bands: options.bands === undefined ? undefined : [options.bands],
        undivided: options.undivided?.split(',').map((m) => m.trim()).filter(Boolean),
      });
      io.out(json ? data.replayScaling : formatReplay(data.replayScaling));
    });

  program
    .command('explain <name> [decision]')
    .description("explain one scaling decision in plain words (default the endpoint's latest): inputs, each rule's range, the clamp, the ramp cut, what was done and what was not")
    .action(async (name: string, decision?: string) => {
      const fields = 'id at round summary explanation';
      const query = decision
        ? `query($name: String!, $id: ID!) { endpoint(name: $name) { decisions: decision(id: $id) { ${fields} } } }`
        : `query($name: String!) { endpoint(name: $name) { decisions(limit: 1) { ${fields} } } }`;
      const data = await io.request<{ endpoint: { decisions: Explained | Explained[] | null } | null }>(query, decision ? { name, id: decision } : { name });
      if (!data.endpoint) throw new CliError(`endpoint "${name}" does not exist`, 'NOT_FOUND');
      const found = Array.isArray(data.endpoint.decisions) ? data.endpoint.decisions[0] : data.endpoint.decisions;
      if (!found) {
        throw new CliError(
          decision ? `decision ${decision} of ${name} does not exist (or is past retention; \`reactor log ${name}\` names recent ones)` : `${name} has no decisions yet`,
          'NOT_FOUND',
        );
      }
      io.out(io.json() ? found : found.explanation);
    });
}

interface Explained {
  id: string;
  at: string;
  round: string;
  summary: string;
  explanation: string;
}
