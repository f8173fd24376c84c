// Counts the store's failures by operation (instances.update, events.append …) without touching either backend: every repository method is wrapped once.
import { ErrorCodes, isReactorError } from '../errors/codes.js';
import type { Store } from '../store/types.js';

const REPOSITORIES = ['endpoints', 'managers', 'instances', 'events', 'samples', 'decisions', 'customMetrics', 'secrets', 'leases', 'traffic'] as const;

/**
 * Outcomes the contract defines (CONFLICT, NOT_FOUND, ALREADY_EXISTS, a bad
 * limit) are answers, not failures; anything else (a lost connection, a
 * locked database, a driver error) is a store error.
 */
function isStoreFailure(error: unknown): boolean {
  if (!isReactorError(error)) return true;
  return error.code === ErrorCodes.UNAVAILABLE || error.code === ErrorCodes.STORE_UNAVAILABLE || error.code === ErrorCodes.INTERNAL_SERVER_ERROR;
}

/** The same store, with `failed(operation)` called on every failed call before the error goes on to the caller. */
export function countStoreErrors(store: Store, failed: (operation: string) => void): Store {
  const wrapped: Record<string, unknown> = {};
  for (const name of REPOSITORIES) {
    const repository = store[name] as unknown as Record<string, unknown>;
    wrapped[name] = new Proxy(repository, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const operation = `${name}.${String(property)}`;
        return (...args: unknown[]) => {
          try {
            const result = (value as (...a: unknown[]) => unknown).apply(target, args);
            if (result instanceof Promise) {
              return result.catch((error: unknown) => {
                if (isStoreFailure(error)) failed(operation);
                throw error;
              });
            }
            return result;
          } catch (error) {
            if (isStoreFailure(error)) failed(operation);
            throw error;
          }
        };
      },
    });
  }
  return new Proxy(store, {
    get(target, property, receiver) {
      if (typeof property === 'string' && property in wrapped) return wrapped[property];
      return Reflect.get(target, property, receiver);
    },
  });
}
