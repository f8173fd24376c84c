// The nginx config transaction: render a model, check it with `nginx -t`, activate it, and keep the last good model when nginx refuses a change.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventKinds } from '../model/events.js';
import { ensureSelfSignedPair } from './certificates.js';
import { errorLine, firstNginxError } from './error-log.js';
import { LUA_SOURCE, PEERS_FILE, type LuaSetup } from './lua-balancer.js';
import { droppedReports, PeerResolver, renderPeerList, structureKey } from './peers.js';
import { RenderProblem, renderNginxConfig, type BalancedEndpoint, type CertificatePair, type RenderedConfig } from './render.js';
import type { DriverReport } from './report.js';

export type ApplyStatus = 'applied' | 'unchanged' | 'refused';

export interface ApplyResult {
  status: ApplyStatus;
  /** The generation nginx now serves (or will serve once it is back up). */
  generation: number;
  /** For `refused`: the endpoints blamed and nginx's own words. */
  refused?: { endpoints: string[]; error: string };
  /** When a refused candidate's culprits were held at their last good form and the rest applied. */
  partial?: boolean;
  /** How the change reached nginx: `reload` (new server blocks) or `peers` (membership only, pushed to the Lua balancer). */
  via?: 'reload' | 'peers';
}

/** Stable identity of a model: the same endpoints and backends give the same key. */
export function modelKey(endpoints: readonly BalancedEndpoint[]): string {
  const sorted = [...endpoints]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((e) => ({ ...e, backends: [...e.backends].sort((a, b) => (a.address + a.instance < b.address + b.instance ? -1 : 1)) }));
  return JSON.stringify(sorted);
}

/** Writes a file so readers see the old or the new content, never a mix: a temporary file renamed over it. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** What the transaction needs of the running nginx. */
export interface ConfigLoader {
  /** Whether a master runs. While none does (it restarts after a crash), the restart reads the new file. */
  readonly running: boolean;
  /** Has the master reload its file; true once it serves `generation`, otherwise nginx's reason (from its log) or a timeout. */
  load(generation: number): Promise<true | string>;
  /** Has the master reload its file, without waiting (after a rollback). */
  reload(): void;
  /** Hands the running Lua balancer a new peer list; true once taken, otherwise why not. */
  push(peers: string): Promise<true | string>;
}

export interface ConfigTransactionOptions {
  /** Path of the nginx binary, for `nginx -t`. */
  binary: string;
  /** The nginx prefix, absolute. */
  prefix: string;
  /** Where endpoint servers listen. */
  listenAddress: string;
  /** UDP port on 127.0.0.1 where nginx sends access log lines. */
  syslogPort: number;
  /** The current master's control port (each master gets a fresh one). */
  controlPort: () => number;
  nginx: ConfigLoader;
  report: (report: DriverReport) => Promise<void>;
  /** The Lua balancer's modules; without them every change is a reload. */
  lua?: LuaSetup;
  /** Turns backend names into addresses for the peer list; default the system resolver, 1 s per push at most. */
  resolver?: PeerResolver;
}

/** `goodKey` when nginx may serve either of two peer lists (a push failed midway): equal to no model, so the next apply pushes. */
const UNKNOWN = 'unknown';

/**
 * apply: render → write `nginx.conf.candidate` → `nginx -t` on it → rename
 * over `nginx.conf` → reload → wait until the control server answers the new
 * generation. A candidate that fails the check is never loaded: the error
 * becomes a BALANCER_CONFIG_REFUSED report on the endpoints its line belongs
 * to, those endpoints are held at their last good form while the others
 * move on, and if no line can be blamed the whole last good configuration
 * keeps serving. A reload nginx itself rejects (a port in use) is rolled back
 * the same way.
 *
 * With the Lua balancer, a change of membership only (backends, the
 * activator fallback: `structureKey` unchanged) is no reload: the peer list
 * is written to `reactor-peers.txt` (what the master loads at its next start
 * or reload) and pushed to the control server, whose shared dict every
 * worker reads. Idle client keep-alive connections stay open.
 *
 * Not reentrant: the owner runs one `apply` or `writeForStart` at a time.
 */
export class ConfigTransaction {
  readonly confPath: string;
  private readonly candidatePath: string;
  private generationCounter = 0;
  private defaultPair: CertificatePair | undefined;

  /** The model nginx serves (last good). */
  private good: BalancedEndpoint[] = [];
  private goodKey = modelKey([]);
  private servedGeneration = 0;
  private lastRefusedKey: string | undefined;
  /** Endpoint → the refused form and error already reported, so a refusal is recorded once. */
  private readonly reported = new Map<string, string>();
  private readonly resolver: PeerResolver;
  /** `endpoint address` of the peers left out of the last list written, so each is reported once. */
  private dropped = new Set<string>();

  constructor(private readonly options: ConfigTransactionOptions) {
    this.confPath = join(options.prefix, 'nginx.conf');
    this.candidatePath = join(options.prefix, 'nginx.conf.candidate');
    this.peersPath = join(options.prefix, PEERS_FILE);
    this.resolver = options.resolver ?? new PeerResolver();
  }

  private readonly peersPath: string;

  /** The endpoints nginx serves now. */
  get current(): readonly BalancedEndpoint[] {
    return this.good;
  }

  /** The generation nginx serves now. */
  get generation(): number {
    return this.servedGeneration;
  }

  /** Brings nginx in line with `endpoints`, or as close as nginx accepts. */
  async apply(endpoints: BalancedEndpoint[]): Promise<ApplyResult> {
    const key = modelKey(endpoints);
    if (key === this.goodKey) return { status: 'unchanged', generation: this.servedGeneration };
    if (key === this.lastRefusedKey) {
      return { status: 'refused', generation: this.servedGeneration, refused: { endpoints: [], error: 'refused before' } };
    }
    if (this.membershipOnly(endpoints)) {
      const pushed = await this.pushPeers(endpoints);
      if (pushed !== true) return { status: 'refused', generation: this.servedGeneration, refused: { endpoints: [], error: pushed }, via: 'peers' };
      this.lastRefusedKey = undefined;
      return { status: 'applied', generation: this.servedGeneration, via: 'peers' };
    }
    await this.ensureCertificate(endpoints);

    const attempt = await this.check(endpoints);
    if (attempt.ok) {
      await this.activate(endpoints);
      this.lastRefusedKey = undefined;
      return { status: 'applied', generation: this.servedGeneration, via: 'reload' };
    }
    this.lastRefusedKey = key;

    // Find the culprits: from the last good model, take each change in turn
    // and keep those nginx accepts; the others stay at their last good form.
    const { model, culprits } = await this.isolate(endpoints);
    const blamed = culprits.length > 0 ? culprits.map((c) => c.name) : this.changedNames(endpoints);
    const errors = culprits.length > 0 ? culprits : [{ name: '', error: attempt.error }];
    for (const culprit of errors) {
      const names = culprit.name ? [culprit.name] : blamed;
      const form = (name: string) => `${modelKey(endpoints.filter((e) => e.name === name))}|${culprit.error}`;
      if (names.every((name) => this.reported.get(name) === form(name))) continue;
      for (const name of names) this.reported.set(name, form(name));
      await this.options.report({
        endpoints: names,
        kind: EventKinds.BALANCER_CONFIG_REFUSED,
        message: `nginx refused the new configuration of ${names.join(', ')}: ${culprit.error}; the last good configuration keeps serving`,
        data: { error: culprit.error },
      });
    }
    let partial = false;
    if (modelKey(model) !== this.goodKey) {
      if (this.membershipOnly(model)) {
        partial = (await this.pushPeers(model)) === true;
      } else {
        const second = await this.check(model);
        if (second.ok) {
          await this.activate(model);
          partial = true;
        }
      }
    }
    return { status: 'refused', generation: this.servedGeneration, refused: { endpoints: blamed, error: attempt.error }, partial };
  }

  /** Writes the last good model as `nginx.conf` for a master about to start (with a fresh control port); returns the generation it will serve. */
  async writeForStart(): Promise<number> {
    await this.ensureCertificate(this.good);
    const generation = ++this.generationCounter;
    const rendered = renderNginxConfig(this.good, this.renderOptions(generation));
    writeFileAtomic(this.confPath, rendered.text);
    if (this.options.lua) await this.writePeers(this.good);
    return generation;
  }

  /** A master started by `writeForStart` serves `generation`. */
  started(generation: number): void {
    this.servedGeneration = generation;
  }

  /**
   * An adopted master serves `model` at `generation`. When it was rendered
   * with other settings (`stale`: another access log port, listen address…),
   * the next `apply` renders and reloads even if the endpoints are the same.
   */
  restore(model: BalancedEndpoint[], generation: number, stale: boolean): void {
    this.good = model;
    this.goodKey = stale ? 'stale' : modelKey(model);
    this.servedGeneration = generation;
    this.generationCounter = Math.max(this.generationCounter, generation);
  }

  /** What the rendered text depends on besides the endpoints, the control port and the generation. */
  renderKey(): string {
    const { prefix, listenAddress, syslogPort } = this.options;
    // The Lua module's own text too: an adopted master running an older balancer reloads once to load this one.
    const lua = this.options.lua ? { ...this.options.lua, source: createHash('sha256').update(LUA_SOURCE).digest('hex').slice(0, 16) } : null;
    return JSON.stringify({ prefix, listenAddress, syslogPort, user: this.renderOptions(0).user ?? null, lua });
  }

  /** Whether `endpoints` differ from what nginx serves in membership only, which the Lua balancer takes without a reload. */
  private membershipOnly(endpoints: readonly BalancedEndpoint[]): boolean {
    return this.options.lua !== undefined && this.goodKey !== 'stale' && structureKey(endpoints) === structureKey(this.good);
  }

  /**
   * Writes the peer list of `endpoints` where the master loads it at its
   * next start or reload; returns its text. Backends left out (a name that
   * never resolved) are reported once each, as BALANCER_PEER_DROPPED.
   */
  private async writePeers(endpoints: readonly BalancedEndpoint[]): Promise<string> {
    const resolved = await this.resolver.resolve(endpoints);
    const { text, dropped } = renderPeerList(resolved.endpoints);
    writeFileAtomic(this.peersPath, text);
    const { reports, now } = droppedReports(dropped, resolved.unresolved, this.dropped);
    this.dropped = now;
    for (const report of reports) await this.options.report(report);
    return text;
  }

  /**
   * Membership only: the new peer list to the file and to the running
   * workers; on success `endpoints` are what nginx serves. On failure nobody
   * knows which list the workers hold (a PUT that timed out may have been
   * stored), so the file keeps the new list (what the next start should
   * load anyway) and the served model is marked unknown: the next apply
   * pushes again, whichever list it brings, instead of calling the old one
   * `unchanged` while nginx may serve the new one.
   */
  private async pushPeers(endpoints: BalancedEndpoint[]): Promise<true | string> {
    const text = await this.writePeers(endpoints);
    // Down (restarting after a crash): the restart loads the file.
    const outcome = this.options.nginx.running ? await this.options.nginx.push(text) : true;
    if (outcome === true) this.adopt(endpoints, this.servedGeneration);
    else this.goodKey = UNKNOWN;
    return outcome;
  }

  /**
   * Starting from the last good model (minus endpoints that are gone), adds
   * each new or changed endpoint in name order and keeps it if `nginx -t`
   * passes. One check per changed endpoint, only after a refusal.
   */
  private async isolate(
    endpoints: readonly BalancedEndpoint[],
  ): Promise<{ model: BalancedEndpoint[]; culprits: { name: string; error: string }[] }> {
    const wanted = new Set(endpoints.map((e) => e.name));
    const goodByName = new Map(this.good.map((e) => [e.name, e]));
    let model = this.good.filter((e) => wanted.has(e.name));
    const culprits: { name: string; error: string }[] = [];
    const changed = endpoints
      .filter((e) => {
        const g = goodByName.get(e.name);
        return !g || modelKey([g]) !== modelKey([e]);
      })
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const endpoint of changed) {
      const trial = [...model.filter((e) => e.name !== endpoint.name), endpoint];
      const result = await this.check(trial);
      if (result.ok) model = trial;
      else culprits.push({ name: endpoint.name, error: result.error });
    }
    return { model, culprits };
  }

  private changedNames(endpoints: readonly BalancedEndpoint[]): string[] {
    const before = new Map(this.good.map((e) => [e.name, modelKey([e])]));
    const changed = endpoints.filter((e) => before.get(e.name) !== modelKey([e])).map((e) => e.name);
    return changed.length > 0 ? changed : endpoints.map((e) => e.name);
  }

  private async ensureCertificate(endpoints: readonly BalancedEndpoint[]): Promise<void> {
    if (this.defaultPair) return;
    const needs = endpoints.some(
      (e) => (e.url.scheme === 'https' || e.nginx.ssl) && !(e.nginx.sslCertificate && e.nginx.sslKey),
    );
    if (needs) this.defaultPair = await ensureSelfSignedPair(join(this.options.prefix, 'certs'));
  }

  private renderOptions(generation: number) {
    return {
      prefix: this.options.prefix,
      listenAddress: this.options.listenAddress,
      syslogPort: this.options.syslogPort,
      controlPort: this.options.controlPort(),
      generation,
      defaultCertificate: this.defaultPair,
      user: process.getuid?.() === 0 ? 'nobody nogroup' : undefined,
      lua: this.options.lua,
    };
  }

  /** Renders and writes the candidate, then `nginx -t` on it. */
  private async check(
    endpoints: readonly BalancedEndpoint[],
  ): Promise<{ ok: true; rendered: RenderedConfig } | { ok: false; error: string; culprits: string[] }> {
    let rendered: RenderedConfig;
    try {
      rendered = renderNginxConfig(endpoints, this.renderOptions(this.generationCounter + 1));
    } catch (error) {
      if (error instanceof RenderProblem) return { ok: false, error: error.message, culprits: [error.endpoint] };
      throw error;
    }
    writeFileAtomic(this.candidatePath, rendered.text);
    const { binary, prefix } = this.options;
    const output = await new Promise<{ code: number; text: string }>((done) => {
      execFile(binary, ['-t', '-q', '-p', `${prefix}/`, '-c', this.candidatePath], (error, stdout, stderr) => {
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, text: `${stdout}${stderr}` });
      });
    });
    if (output.code === 0) return { ok: true, rendered };
    const error = firstNginxError(output.text);
    const line = errorLine(output.text, this.candidatePath);
    const culprits = line !== null ? (rendered.owners[line - 1] ?? []) : [];
    return { ok: false, error, culprits };
  }

  /** Swaps the checked candidate in and has nginx load it; rolls back if nginx cannot. */
  private async activate(endpoints: BalancedEndpoint[]): Promise<void> {
    const generation = ++this.generationCounter;
    const previous = existsSync(this.confPath) ? readFileSync(this.confPath, 'utf8') : undefined;
    // The master loads the peer list at the reload (init_by_lua): write the new one first.
    if (this.options.lua) await this.writePeers(endpoints);
    renameSync(this.candidatePath, this.confPath);
    if (!this.options.nginx.running) {
      // Down (restarting after a crash): the restart picks the new file up.
      this.adopt(endpoints, generation);
      return;
    }
    const outcome = await this.options.nginx.load(generation);
    if (outcome === true) {
      this.adopt(endpoints, generation);
      return;
    }
    // nginx kept its old configuration (e.g. a port in use); put the file back in step with it.
    if (previous !== undefined) writeFileAtomic(this.confPath, previous);
    if (this.options.lua) await this.writePeers(this.good);
    this.options.nginx.reload();
    const names = endpoints.filter((e) => !this.good.some((g) => modelKey([g]) === modelKey([e]))).map((e) => e.name);
    this.lastRefusedKey = modelKey(endpoints);
    await this.options.report({
      endpoints: names.length > 0 ? names : endpoints.map((e) => e.name),
      kind: EventKinds.BALANCER_CONFIG_REFUSED,
      message: `nginx could not load the new configuration: ${outcome}; the last good configuration keeps serving`,
      data: { error: outcome },
    });
  }

  private adopt(endpoints: BalancedEndpoint[], generation: number): void {
    this.good = endpoints;
    this.goodKey = modelKey(endpoints);
    this.servedGeneration = generation;
  }
}
