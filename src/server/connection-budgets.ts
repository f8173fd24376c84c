// How many WebSockets one client address may hold open: the server-wide --max-connections, or what --max-connections-from sets for an address range.
import { BlockList, isIP } from 'node:net';
import { badInput } from '../errors/codes.js';

/**
 * Why by address, and why ranges can change it. The budget is checked at
 * the upgrade, before the client has said anything, so the address is the
 * one thing known about it: a key or token arrives later, in
 * `connection_init`, and a limit that waited for it would let anyone who can
 * reach the port hold sockets open first. Every address has the same budget
 * by default; an operator who knows that one address stands for many people
 * (a reverse proxy terminating TLS, a dashboard host, this host's own CLI
 * sessions on 127.0.0.1) raises that address's budget or exempts it:
 *
 *   --max-connections-from 10.0.0.5=512 --max-connections-from 127.0.0.0/8=unlimited
 *
 * A range gives each of its addresses that budget (not one budget shared by
 * the range). When several ranges hold an address, the narrowest (longest
 * prefix) wins, so a range and an exception inside it both work.
 */
export interface ConnectionBudget {
  /** As the operator wrote it: `10.0.0.5`, `10.0.0.0/8`, `::1`. */
  range: string;
  /** WebSockets one address of the range may hold open; null: not counted. */
  limit: number | null;
  prefix: number;
  addresses: BlockList;
}

const FLAG = '--max-connections-from';

/** Parses `RANGE=N` or `RANGE=unlimited` items (RANGE an IP address or CIDR), narrowest first; BAD_USER_INPUT naming the item otherwise. */
export function parseConnectionBudgets(items: readonly string[] = []): ConnectionBudget[] {
  const budgets = items.map((item) => {
    const refuse = (why: string) =>
      badInput(`${FLAG} ${JSON.stringify(item)}: ${why}; write ADDRESS=N or ADDRESS/PREFIX=N (N a whole number of at least 1, or unlimited)`, {
        field: 'maxConnectionsFrom',
        value: item,
      });
    const match = /^([^=\s]+)=(\S+)$/.exec(item.trim());
    if (!match) throw refuse('no "=" between the address and the number');
    const [, range, count] = match as unknown as [string, string, string];
    const [address, prefixText] = range.split('/', 2) as [string, string | undefined];
    const family = isIP(address);
    if (family === 0) throw refuse(`${JSON.stringify(address)} is not an IP address`);
    const maxPrefix = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? maxPrefix : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix >= 0 && prefix <= maxPrefix)) throw refuse(`the prefix length must be 0 to ${maxPrefix}, not ${JSON.stringify(prefixText)}`);
    let limit: number | null;
    if (count === 'unlimited') limit = null;
    else if (/^\d+$/.test(count) && Number.isSafeInteger(Number(count)) && Number(count) >= 1) limit = Number(count);
    else throw refuse(`${JSON.stringify(count)} is not a whole number of at least 1 or unlimited`);
    const addresses = new BlockList();
    addresses.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    return { range, limit, prefix, addresses };
  });
  return budgets.sort((a, b) => b.prefix - a.prefix);
}

/** The budget of one client address: the narrowest range that holds it, else `fallback`; null means not counted. */
export function connectionLimitFor(address: string, budgets: readonly ConnectionBudget[], fallback: number): { limit: number | null; range: string | null } {
  const family = isIP(address);
  if (family !== 0) {
    for (const budget of budgets) {
      if (budget.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6')) return { limit: budget.limit, range: budget.range };
    }
  }
  return { limit: fallback, range: null };
}
