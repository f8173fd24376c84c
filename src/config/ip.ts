// IP address syntax, checked without the network stack: which family a literal is (what node:net's isIP answers), so config validation stays pure.

const IPV4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => IPV4_PART.test(part));
}

function isIPv6(text: string): boolean {
  const zone = text.indexOf('%');
  if (zone !== -1) {
    if (zone === text.length - 1) return false;
    text = text.slice(0, zone);
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const all = [...head, ...tail];
  // An embedded IPv4 address may only end the address (not stand before a `::`), and counts as two groups.
  const endsAddress = halves.length === 1 || tail.length > 0;
  let count = 0;
  for (let n = 0; n < all.length; n++) {
    const group = all[n]!;
    if (endsAddress && n === all.length - 1 && group.includes('.')) {
      if (!isIPv4(group)) return false;
      count += 2;
    } else if (HEX_GROUP.test(group)) {
      count += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** 4 for an IPv4 literal, 6 for an IPv6 one (a zone suffix allowed), 0 otherwise — as node:net's isIP. */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (isIPv4(text)) return 4;
  if (text.includes(':') && isIPv6(text)) return 6;
  return 0;
}
