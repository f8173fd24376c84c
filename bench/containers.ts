// Starts the test image the way an instance runs and waits for its first answer, as benchmarks need it.
import { startTestContainer } from '../test/support/containers.js';

/** Label every benchmark container carries, with the benchmark's name as value, so each removes its own. */
export const BENCH_LABEL = 'reactor.bench';

/** create + start + inspect for the port + first HTTP 200 (polled every 2 ms): the "physical floor" of one instance. */
export async function startBenchContainer(bench: string): Promise<{ address: string; hostname: string }> {
  return startTestContainer({ [BENCH_LABEL]: bench }, { pollMs: 2 });
}
