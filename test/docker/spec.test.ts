// The pure mapping of [cloud:docker] options to dockerode create options, case by case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointConfig } from '../../src/config/index.js';
import {
  buildCreateOptions,
  containerSpecFor,
  isNumericUser,
  parseCommand,
  publishedAddress,
  userErrorMessage,
} from '../../src/docker/spec.js';
import { expectBadInput } from '../support/errors.js';

const HOST = { managerId: 'mgr-1', address: '127.0.0.1' };

function optionsFor(dockerSection: string, port = 5000) {
  const config = parseEndpointConfig(`[endpoint]\nport=${port}\n[cloud:docker]\n${dockerSection}\n`);
  return buildCreateOptions(containerSpecFor('web', config, 'inst-1', 'http://127.0.0.1:8080/graphql'), HOST);
}

describe('parseCommand', () => {
  const cases: { name: string; command: string; env?: Record<string, string>; argv: string[] | undefined }[] = [
    { name: 'empty means the image command', command: '  ', argv: undefined },
    { name: 'plain words', command: '/usr/local/bin/runapp --port 5000', argv: ['/usr/local/bin/runapp', '--port', '5000'] },
    { name: 'double quotes keep spaces', command: 'echo "hello world"', argv: ['echo', 'hello world'] },
    { name: 'single quotes keep everything', command: `sh -c 'echo $HOME; exit 1'`, argv: ['sh', '-c', 'echo $HOME; exit 1'] },
    { name: 'backslash escapes', command: 'echo a\\ b', argv: ['echo', 'a b'] },
    { name: 'known variables expand', command: 'httpd -p $PORT', env: { PORT: '5000' }, argv: ['httpd', '-p', '5000'] },
    { name: 'unknown variables stay as written', command: 'echo $HOME', argv: ['echo', '$HOME'] },
    { name: 'globs stay literal', command: 'ls *.txt', argv: ['ls', '*.txt'] },
    { name: 'comments are dropped', command: 'runapp # the app', argv: ['runapp'] },
  ];
  for (const c of cases) {
    it(`should split: ${c.name}`, () => {
      assert.deepEqual(parseCommand(c.command, c.env), c.argv);
    });
  }

  for (const operator of ['|', '&&', ';', '>', '||', '&']) {
    it(`should refuse the shell operator ${operator} with BAD_USER_INPUT`, () => {
      const error = expectBadInput(() => parseCommand(`runapp ${operator} echo done`), [`"${operator}"`, "sh -c '…'"]);
      assert.equal(error.details.key, 'command');
    });
  }
});

describe('buildCreateOptions', () => {
  it('should map every option of the seed', () => {
    const options = optionsFor(
      [
        'image=reactor-test/httpd:1',
        `command=/usr/local/bin/runapp "two words"`,
        'slots=10',
        'user=nobody',
        'environment=GREETING=hi,MODE=test',
        'mem_limit=64m',
        'dns=10.0.0.2,10.0.0.3',
        'hostname=web-box',
      ].join('\n'),
      8080,
    );
    assert.equal(options.name, 'reactor-web-inst-1');
    assert.equal(options.Image, 'reactor-test/httpd:1');
    assert.deepEqual(options.Cmd, ['/usr/local/bin/runapp', 'two words']);
    assert.equal(options.User, 'nobody');
    assert.equal(options.Hostname, 'web-box');
    assert.deepEqual(options.Env, [
      'PORT=8080',
      'GREETING=hi',
      'MODE=test',
      'REACTOR_API=http://127.0.0.1:8080/graphql',
      'REACTOR_ENDPOINT=web',
      'REACTOR_INSTANCE=inst-1',
    ]);
    assert.deepEqual(options.Labels, {
      'reactor.endpoint': 'web',
      'reactor.manager': 'mgr-1',
      'reactor.instance': 'inst-1',
      'reactor.slots': '10',
      'reactor.port': '8080',
    });
    assert.deepEqual(options.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(options.HostConfig, {
      Init: true,
      Privileged: false,
      NetworkMode: 'bridge',
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      RestartPolicy: { Name: 'no' },
      Memory: 64 * 1024 * 1024,
      Dns: ['10.0.0.2', '10.0.0.3'],
    });
  });

  it("should leave out what is not set, so the image's own defaults apply", () => {
    const options = optionsFor('image=busybox');
    assert.equal(options.Cmd, undefined);
    assert.equal(options.User, undefined);
    assert.equal(options.Hostname, undefined);
    assert.equal(options.HostConfig!.Memory, undefined);
    assert.equal(options.HostConfig!.Dns, undefined);
    assert.equal(options.HostConfig!.Binds, undefined);
    assert.equal(options.HostConfig!.Privileged, false);
  });

  it('should let the endpoint set PORT but never REACTOR_API', () => {
    const options = optionsFor('image=busybox\nenvironment=PORT=9000,REACTOR_API=http://evil/');
    assert.ok(options.Env!.includes('PORT=9000'));
    assert.ok(options.Env!.includes('REACTOR_API=http://127.0.0.1:8080/graphql'));
    assert.ok(!options.Env!.includes('REACTOR_API=http://evil/'));
  });

  it("should expand $PORT in the command from the container's environment", () => {
    assert.deepEqual(optionsFor('image=busybox\ncommand=httpd -f -p $PORT', 7000).Cmd, ['httpd', '-f', '-p', '7000']);
  });

  it("should refuse a memory limit under Docker's minimum, naming the key", () => {
    // The config parser refuses it first; a spec from elsewhere (a remote caller) is checked again here.
    const config = parseEndpointConfig('[cloud:docker]\nimage=busybox\n');
    const spec = containerSpecFor('web', config, 'inst-1', 'http://api');
    spec.docker = { ...spec.docker, memLimit: 1024 * 1024 };
    assert.throws(() => buildCreateOptions(spec, HOST), /\[cloud:docker\] mem_limit: 1048576 bytes is below Docker's minimum/);
  });

  it('should refuse a command with shell operators', () => {
    assert.throws(() => optionsFor('image=busybox\ncommand=runapp | tee log'), /shell operator "\|"/);
  });
});

describe('users and addresses', () => {
  for (const [user, numeric] of [
    ['0', true],
    ['0:0', true],
    ['1000:100', true],
    ['root', false],
    ['nobody:nogroup', false],
    ['0:root', false],
  ] as const) {
    it(`should tell that ${user} ${numeric ? 'needs' : 'does not need'} no /etc/passwd`, () => {
      assert.equal(isNumericUser(user), numeric);
    });
  }

  it('should turn the engine\'s "unable to find user" into advice naming the image', () => {
    const message = userErrorMessage(
      'root',
      'bare:1',
      'OCI runtime create failed: unable to find user root: no matching entries in passwd file: unknown',
    );
    assert.match(message!, /\[cloud:docker\] user: "root" is not known in image bare:1/);
    assert.match(message!, /numeric uid\[:gid\] such as 0:0/);
    assert.equal(userErrorMessage('root', 'bare:1', 'port is already allocated'), null);
  });

  it('should read the published address from inspect data', () => {
    const inspect = { NetworkSettings: { Ports: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '49153' }] } } };
    assert.equal(publishedAddress(inspect, 5000, '127.0.0.1'), '127.0.0.1:49153');
    assert.equal(publishedAddress(inspect, 80, '127.0.0.1'), null);
    assert.equal(publishedAddress({ NetworkSettings: { Ports: { '5000/tcp': null } } }, 5000, '127.0.0.1'), null);
  });
});
