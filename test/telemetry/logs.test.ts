// Structured logs: JSON lines off a terminal, readable lines on one, --log-level, the endpoint on every line about one and the decision id on every round line.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/log/logger.js';
import { freePort } from '../../src/util/ports.js';
import { reactor } from '../support/cli.js';
import { removeContainersWithLabel } from '../support/containers.js';
import { startServerProcess, terminate, type SpawnedServer as ServerProcess } from '../support/spawned-server.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { staticBackendsConf as endpointConfig } from '../support/configs.js';

describe('log lines of a running server', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ agent: true, name: `logs-${process.pid}`, interval: 1 });
    const port = await freePort();
    // PAUSED: every evaluation is kept (no containers needed); nginx refuses the certificate path, and says so.
    const config = endpointConfig(`https://:${port}/`, ['127.0.0.1:9'], { ssl_certificate: '/nonexistent/cert.pem', ssl_key: '/nonexistent/key.pem' });
    const result = await t.gql('mutation($c: String!) { manageEndpoint(name: "logged", config: $c) { name } }', { c: config });
    assert.equal(result.errors, undefined);
  });
  after(async () => {
    await t?.close();
  });

  it('should carry the decision id and the endpoint on every line about a round', async () => {
    const round = await waitFor(() => t.logs.find((line) => line.component === 'controller' && line.decision), { what: 'a round line' });
    const { data } = await t.gql('{ endpoint(name: "logged") { decisions(limit: 1000) { id summary } } }');
    const decision = data.endpoint.decisions.find((d: { id: string }) => d.id === round.decision);
    assert.ok(decision, `the logged decision ${String(round.decision)} is the API's`);
    assert.equal(round.endpoint, 'logged');
    assert.equal(round.msg, decision.summary);
    for (const line of t.logs.filter((l) => l.component === 'controller' && 'round' in l)) {
      assert.equal(typeof line.decision, 'string', JSON.stringify(line));
      assert.equal(typeof line.endpoint, 'string', JSON.stringify(line));
    }
  });

  it('should name the endpoint on every line about it, as a field', async () => {
    await waitFor(() => t.logs.some((line) => /refused/.test(String(line.msg))), { what: "nginx's refusal logged" });
    const about = t.logs.filter((line) => String(line.msg).includes('logged'));
    assert.ok(about.length > 0);
    for (const line of about) {
      const named = line.endpoint === 'logged' || (Array.isArray(line.endpoints) && line.endpoints.includes('logged'));
      assert.ok(named, `no endpoint field: ${JSON.stringify(line)}`);
    }
    for (const line of t.logs) {
      assert.equal(typeof line.component, 'string', JSON.stringify(line));
      assert.equal(typeof line.time, 'string');
      assert.match(String(line.level), /^(trace|debug|info|warn|error|fatal)$/);
      assert.equal(typeof line.msg, 'string');
    }
  });
});

describe('reactor server logs', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reactor-logs-'));
  let server: ServerProcess | undefined;
  after(async () => {
    if (server) await terminate(server);
    await reactor(['shutdown', '--all', '--data-dir', dataDir]);
    try {
      await removeContainersWithLabel('reactor.manager', readFileSync(join(dataDir, 'manager-id'), 'utf8').trim());
    } catch {
      // no manager id: nothing ran
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('should write JSON lines when standard error is not a terminal, down to --log-level', async () => {
    server = await startServerProcess(['--data-dir', dataDir, '--name', `logs-cli-${process.pid}`, '--interval', '1', '--log-level', 'debug']);
    await server.gql('mutation($c: String!) { manageEndpoint(name: "quiet", config: $c) { name } }', {
      c: endpointConfig(`http://:${await freePort()}/`, []),
    });
    // Rounds that change nothing are logged at debug.
    await waitFor(() => /"level":"debug".*"decision":/.test(server!.stderr()), { what: 'a debug round line' });
    const lines = server.stderr().trim().split('\n');
    for (const text of lines) {
      const line = JSON.parse(text) as Record<string, unknown>;
      assert.equal(typeof line.component, 'string', text);
      assert.equal(typeof line.time, 'string');
      assert.ok(!Number.isNaN(Date.parse(String(line.time))), 'ISO time');
      assert.equal(typeof line.msg, 'string');
    }
    assert.ok(lines.some((text) => /"component":"api".*"url":"http:\/\/127\.0\.0\.1:\d+\/graphql"/.test(text)), 'the listening line has its url');
  });

  it('should refuse an unknown --log-level with the levels it takes', async () => {
    const run = await reactor(['server', '--data-dir', dataDir, '--log-level', 'loud']);
    assert.notEqual(run.code, 0);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /--log-level takes one of fatal, error, warn, info, debug, trace, silent, not "loud"/);
  });
});

describe('readable logs', () => {
  it('should write time, level and message on a line, then the fields, instead of JSON', async () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ pretty: true, destination });
    log.child({ component: 'controller' }).info({ endpoint: 'pyex', decision: 'd-1' }, 'target 5');
    const text = await waitFor(() => chunks.join('') || null, { what: 'the readable line' });
    assert.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: target 5\n/);
    assert.match(text, /endpoint: "pyex"/);
    assert.match(text, /decision: "d-1"/);
    assert.throws(() => JSON.parse(text));
  });
});
