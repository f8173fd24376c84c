// `--docker`: which engine a host manages, parsed case by case, and a TLS client that really verifies both ends.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerClient, parseDockerEngine, type DockerEngine } from '../../src/docker/engine.js';
import { checkServerOptions } from '../../src/server/options.js';
import { expectBadInput } from '../support/errors.js';

const NO_ENV = { HOME: '/home/op' };

describe('parseDockerEngine', () => {
  const accepted: { name: string; value: string | undefined; env?: Record<string, string>; certPath?: string; engine: DockerEngine }[] = [
    {
      name: 'a unix socket',
      value: 'unix:///run/reactor-d2/docker.sock',
      engine: { kind: 'unix', url: 'unix:///run/reactor-d2/docker.sock', socketPath: '/run/reactor-d2/docker.sock' },
    },
    {
      name: 'nothing: the local socket',
      value: undefined,
      engine: { kind: 'unix', url: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock' },
    },
    {
      name: 'nothing: DOCKER_HOST',
      value: undefined,
      env: { DOCKER_HOST: 'unix:///tmp/other.sock' },
      engine: { kind: 'unix', url: 'unix:///tmp/other.sock', socketPath: '/tmp/other.sock' },
    },
    {
      name: '--docker wins over DOCKER_HOST',
      value: 'unix:///a.sock',
      env: { DOCKER_HOST: 'tcp://elsewhere:2376' },
      engine: { kind: 'unix', url: 'unix:///a.sock', socketPath: '/a.sock' },
    },
    {
      name: 'tcp with a port; certs in ~/.docker',
      value: 'tcp://10.0.0.2:2376',
      engine: { kind: 'tcp', url: 'tcp://10.0.0.2:2376', host: '10.0.0.2', port: 2376, certPath: '/home/op/.docker' },
    },
    {
      name: 'tcp without a port: the TLS port 2376',
      value: 'tcp://docker.example',
      engine: { kind: 'tcp', url: 'tcp://docker.example:2376', host: 'docker.example', port: 2376, certPath: '/home/op/.docker' },
    },
    {
      name: 'tcp, IPv6, certs from DOCKER_CERT_PATH',
      value: 'tcp://[fd00::2]:2376/',
      env: { DOCKER_CERT_PATH: '/etc/reactor/docker' },
      engine: { kind: 'tcp', url: 'tcp://[fd00::2]:2376', host: 'fd00::2', port: 2376, certPath: '/etc/reactor/docker' },
    },
    {
      name: '--docker-cert-path wins over DOCKER_CERT_PATH',
      value: 'tcp://h2:9999',
      env: { DOCKER_CERT_PATH: '/etc/reactor/docker' },
      certPath: '/srv/certs',
      engine: { kind: 'tcp', url: 'tcp://h2:9999', host: 'h2', port: 9999, certPath: '/srv/certs' },
    },
  ];
  for (const c of accepted) {
    it(`should accept ${c.name}`, () => {
      assert.deepEqual(parseDockerEngine(c.value, { env: { ...NO_ENV, ...c.env }, certPath: c.certPath }), c.engine);
    });
  }

  const refused: { name: string; value: string | undefined; env?: Record<string, string>; mentions: string[] }[] = [
    { name: 'a relative unix path', value: 'unix://run/docker.sock', mentions: ['--docker', 'unix://run/docker.sock', 'absolute'] },
    { name: 'a bare path', value: '/var/run/docker.sock', mentions: ['--docker', 'is not a URL', 'unix:///'] },
    { name: 'ssh://', value: 'ssh://me@h2', mentions: ['--docker', 'ssh://', 'does not support'] },
    { name: 'http://', value: 'http://h2:2375', mentions: ['http://', 'tcp://HOST:PORT'] },
    { name: 'a port out of range', value: 'tcp://h2:70000', mentions: ['port 70000'] },
    { name: 'a path after tcp://host', value: 'tcp://h2:2376/v1.41', mentions: ['is not tcp://HOST:PORT'] },
    { name: 'brackets round a non-IPv6 host', value: 'tcp://[h2]:2376', mentions: ['not an IPv6 address'] },
    { name: 'a bad DOCKER_HOST, named as such', value: undefined, env: { DOCKER_HOST: 'npipe:////./pipe/docker' }, mentions: ['DOCKER_HOST', 'npipe://'] },
  ];
  for (const c of refused) {
    it(`should refuse ${c.name}, naming it`, () => {
      expectBadInput(() => parseDockerEngine(c.value, { env: { ...NO_ENV, ...c.env } }), c.mentions);
    });
  }
});

describe('checkServerOptions', () => {
  it('should refuse an --address that is no IP address, naming the flag', () => {
    expectBadInput(() => checkServerOptions({ dataDir: '/tmp/x', address: 'h2.example' }), ['--address', 'h2.example']);
  });
  it('should refuse the unspecified address as --address', () => {
    expectBadInput(() => checkServerOptions({ dataDir: '/tmp/x', address: '0.0.0.0' }), ['--address 0.0.0.0', 'reach']);
  });
  it('should refuse a --balancer-address that is no IP address', () => {
    expectBadInput(() => checkServerOptions({ dataDir: '/tmp/x', balancerAddress: 'everywhere' }), ['--balancer-address', 'everywhere']);
  });
  it('should refuse a bad --docker before anything starts, but not without an agent', () => {
    expectBadInput(() => checkServerOptions({ dataDir: '/tmp/x', docker: 'ssh://h2' }), ['--docker', 'ssh://h2']);
    checkServerOptions({ dataDir: '/tmp/x', docker: 'ssh://h2', agent: false });
  });
  it('should accept a host address, loopback or IPv6', () => {
    for (const address of ['127.0.0.2', '10.0.0.2', 'fd00::2']) checkServerOptions({ dataDir: '/tmp/x', address, balancerAddress: address });
  });
});

/** A CA, an engine certificate for 127.0.0.1 and a client certificate, as `docker` TLS setups have them. */
function makeCertificates(dir: string, name: string): void {
  mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (file: string) => openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file);
  key('ca-key.pem');
  openssl('req', '-x509', '-new', '-key', 'ca-key.pem', '-subj', `/CN=${name} CA`, '-days', '2', '-out', 'ca.pem');
  const sign = (prefix: string, subject: string, extensions: string) => {
    key(`${prefix}key.pem`);
    openssl('req', '-new', '-key', `${prefix}key.pem`, '-subj', subject, '-out', `${prefix}csr.pem`);
    writeFileSync(join(dir, `${prefix}ext.cnf`), extensions);
    openssl('x509', '-req', '-in', `${prefix}csr.pem`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', `${prefix}ext.cnf`, '-out', `${prefix}cert.pem`);
  };
  sign('server-', '/CN=engine', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  sign('', '/CN=reactor-host', 'extendedKeyUsage=clientAuth\n');
}

describe('dockerClient over TLS', () => {
  const root = mkdtempSync(join(tmpdir(), 'reactor-docker-tls-'));
  const good = join(root, 'good');
  const stranger = join(root, 'stranger');
  let engine: Server;
  let port = 0;
  const clients: string[] = [];

  before(async () => {
    makeCertificates(good, 'reactor-test');
    makeCertificates(stranger, 'someone-else');
    // Stands in for dockerd --tlsverify: answers /_ping only to a client whose certificate its CA signed.
    engine = createServer(
      {
        key: readFileSync(join(good, 'server-key.pem')),
        cert: readFileSync(join(good, 'server-cert.pem')),
        ca: readFileSync(join(good, 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        clients.push(String((req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN));
        res.writeHead(req.url?.endsWith('/_ping') ? 200 : 404, { 'content-type': 'text/plain' }).end('OK');
      },
    );
    await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
    port = (engine.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => engine.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  it('should reach the engine with the cert directory, showing its client certificate', async () => {
    const client = dockerClient(parseDockerEngine(`tcp://127.0.0.1:${port}`, { certPath: good, env: NO_ENV }));
    assert.equal(String(await client.ping()), 'OK');
    assert.deepEqual(clients, ['reactor-host']);
  });

  it('should not trust an engine whose certificate ca.pem did not sign', async () => {
    const client = dockerClient(parseDockerEngine(`tcp://127.0.0.1:${port}`, { certPath: stranger, env: NO_ENV }));
    await assert.rejects(client.ping(), /certificate|self[- ]signed|unable to verify/i);
  });

  it('should name the missing file and the flags when the cert directory is incomplete', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expectBadInput(() => dockerClient(parseDockerEngine('tcp://127.0.0.1:2376', { certPath: empty, env: NO_ENV })), [
      join(empty, 'ca.pem'),
      'does not exist',
      '--docker-cert-path',
      'DOCKER_CERT_PATH',
    ]);
  });
});
