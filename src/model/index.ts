// Reactor's domain vocabulary: states, statuses, event kinds and the decision record. Imports nothing.
export * from './states.js';
export * from './events.js';
export * from './decision.js';
