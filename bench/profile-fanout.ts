// Profiling aid (not a benchmark): one fan-out run, e.g. `node --import tsx bench/profile-fanout.ts 10000 100 2` (sockets, endpoints, client processes); prints the figures as JSON; with PROFILE=file.cpuprofile, writes a CPU profile of the rounds alone (not the sockets' set-up); with MARK=file, writes that file when the rounds begin.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { fanOut, startFanOutServer } from './fan-out.js';

const ROUNDS = 8;
const [sockets, endpoints, processes] = process.argv.slice(2).map(Number);
const target = await startFanOutServer(endpoints ?? 1);

/** Profiles the rounds: `during` starts with the first round and is awaited after the last. */
async function profileRounds(file: string): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  await new Promise((resolve) => setTimeout(resolve, ROUNDS * 1000));
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
}

try {
  // MARK=file: the file is written when the rounds begin (for an outside profiler such as perf).
  const mark = process.env.MARK;
  const during = process.env.PROFILE ? () => profileRounds(process.env.PROFILE!) : mark ? async () => writeFileSync(mark, '') : undefined;
  console.log(JSON.stringify(await fanOut(target, { sockets: sockets ?? 1000, endpoints: endpoints ?? 1, rounds: ROUNDS, processes: processes ?? 1, during })));
} finally {
  await target.close();
}
