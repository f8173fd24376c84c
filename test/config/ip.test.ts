// The pure IP literal check answers as node:net's isIP does, on a table and on generated inputs.
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ipFamily } from '../../src/config/ip.js';

describe('ipFamily', () => {
  const table = [
    '127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', ' 1.2.3.4', '',
    '::', '::1', '1::', 'fe80::1%eth0', 'fe80::1%', '2001:db8::8a2e:370:7334', '2001:0db8:0000:0000:0000:ff00:0042:8329',
    '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', '::ffff:192.0.2.128', '::ffff:192.0.2.256', '1::2::3',
    'gggg::1', '12345::1', ':1', '1:', 'localhost', 'example.com', '[::1]', '::1.2.3.4', '1.2.3.4::',
  ];
  for (const text of table) {
    it(`should answer ${JSON.stringify(text)} as node:net does`, () => assert.equal(ipFamily(text), isIP(text)));
  }

  it('should agree with node:net on generated addresses and near-misses', () => {
    const octet = fc.integer({ min: 0, max: 300 }).map(String);
    const v4 = fc.tuple(octet, octet, octet, octet).map((p) => p.join('.'));
    const group = fc.stringMatching(/^[0-9a-fA-Fg]{0,5}$/);
    const v6 = fc.array(group, { minLength: 1, maxLength: 9 }).map((g) => g.join(':'));
    const compressed = fc.tuple(fc.array(group, { maxLength: 4 }), fc.array(group, { maxLength: 4 })).map(([a, b]) => `${a.join(':')}::${b.join(':')}`);
    fc.assert(fc.property(fc.oneof(v4, v6, compressed), (text) => ipFamily(text) === isIP(text)), { numRuns: 2000 });
  });
});
