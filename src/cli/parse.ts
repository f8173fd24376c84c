// Parsers for numeric CLI flags, failing with a message that names the flag and the value.
import { CliError } from './client.js';

export function parseWhole(flag: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new CliError(`${flag} takes a whole number, not ${JSON.stringify(value)}`);
    return Number(value);
  };
}

export function parsePositive(flag: string) {
  return (value: string) => {
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0) throw new CliError(`${flag} takes a positive number of seconds, not ${JSON.stringify(value)}`);
    return number;
  };
}
