// The store's public surface: open a store by URL, the record types it keeps, and the id helper.
export { openStore, redactStoreUrl, type OpenStoreOptions } from './open.js';
export { newId } from './ids.js';
export type * from './types.js';
