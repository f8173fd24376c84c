// Reactor's domain vocabulary: states, statuses, event kinds, the decision record and the access log line. Imports nothing.
export * from './states.js';
export * from './events.js';
export * from './decision.js';
export * from './access-log.js';
