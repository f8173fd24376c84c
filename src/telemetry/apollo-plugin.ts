// Times every GraphQL request over HTTP for /metrics (reactor_api_request_duration_seconds), by operation type and outcome.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Telemetry } from './prometheus.js';

export function requestTimingPlugin<T extends BaseContext>(telemetry: Telemetry): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      const started = performance.now();
      let operation = 'unknown';
      let failed = false;
      return {
        async didResolveOperation({ operation: resolved }) {
          operation = resolved?.operation ?? 'unknown';
        },
        async didEncounterErrors() {
          failed = true;
        },
        async willSendResponse() {
          telemetry.observeRequest(operation, failed ? 'error' : 'ok', (performance.now() - started) / 1000);
        },
      };
    },
  };
}
