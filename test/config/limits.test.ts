// Input limits of endpoint configuration: value lengths, rule count and shell operators, refused with the key and the limit named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENDPOINT_OPTIONS, MAX_RULES, parseEndpointConfig, setEndpointOption } from '../../src/config/endpoint.js';
import { ReactorError } from '../../src/errors/codes.js';

const BASE = '[endpoint]\nport=5000\n[cloud:docker]\nimage=demo/httpd:1\n';

function refused(run: () => unknown, pattern: RegExp, key: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ReactorError);
    assert.equal(error.code, 'BAD_USER_INPUT');
    assert.match(error.message, pattern);
    assert.equal(error.details.key, key);
    return true;
  });
}

describe('configuration input limits', () => {
  it('should give every key a length limit', () => {
    for (const option of ENDPOINT_OPTIONS) assert.ok(option.maxLength > 0 && option.maxLength <= 16384, `${option.section} ${option.key}`);
  });

  it('should refuse a 950 KB image naming the key and the limit, without echoing the whole value', () => {
    const image = 'a'.repeat(950 * 1024);
    refused(() => parseEndpointConfig(`[endpoint]\nport=5000\n[cloud:docker]\nimage=${image}\n`), /\[cloud:docker\] image: .*\(972800 characters\) is longer than 512 characters/, 'image');
    try {
      parseEndpointConfig(`[cloud:docker]\nimage=${image}\n`);
    } catch (error) {
      assert.ok((error as Error).message.length < 1000, 'the message stays short');
      assert.ok(JSON.stringify((error as ReactorError).details).length < 1000, 'the details stay short');
    }
  });

  it('should refuse an over-long value set with setEndpointOption too', () => {
    const config = parseEndpointConfig(BASE);
    refused(() => setEndpointOption(config, 'cloud:docker', 'environment', `A=${'x'.repeat(20000)}`), /longer than 16384 characters/, 'environment');
  });

  it(`should refuse more than ${MAX_RULES} rules`, () => {
    const rules = Array.from({ length: 5000 }, (_, i) => `${i} < rate`).join(',');
    const config = parseEndpointConfig(BASE);
    refused(() => setEndpointOption(config, 'scaling', 'rules', rules.slice(0, 4000).replace(/,[^,]*$/, '')), new RegExp(`more than the limit of ${MAX_RULES}`), 'rules');
    refused(() => setEndpointOption(config, 'scaling', 'rules', rules), /longer than 4096 characters/, 'rules');
    const fifty = Array.from({ length: MAX_RULES }, (_, i) => `${i} < rate`).join(',');
    assert.equal(setEndpointOption(config, 'scaling', 'rules', fifty).scaling.rules, fifty);
  });

  for (const operator of ['&&', '|', '>', ';', '||', '&']) {
    it(`should refuse a command with ${operator} at manage time`, () => {
      refused(() => parseEndpointConfig(`${BASE}command=runapp ${operator} echo done\n`), new RegExp(`shell operator "${operator.replace(/[|]/g, '\\|')}".*sh -c`), 'command');
    });
  }

  it('should accept operators inside quotes, which sh -c receives as one argument', () => {
    const config = parseEndpointConfig(`${BASE}command=sh -c 'runapp && echo done > /tmp/x'\n`);
    assert.equal(config.docker.command, "sh -c 'runapp && echo done > /tmp/x'");
  });
});
