// Shapes every error that leaves the API: a human message and extensions.code, never a stack unless --debug.
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ErrorCodes, isReactorError } from '../errors/codes.js';

/** Codes produced by graphql-js and Apollo for bad requests; their messages already name the problem. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

export type ErrorLogger = (error: unknown) => void;

export function makeErrorFormatter(debug: boolean, log: ErrorLogger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { locations: formatted.locations, path: formatted.path };
    const stack = debug && original instanceof Error ? { stacktrace: original.stack?.split('\n') } : {};
    if (isReactorError(original)) {
      return { ...base, message: original.message, extensions: { code: original.code, ...original.details, ...stack } };
    }
    const code = formatted.extensions?.code;
    if (original instanceof GraphQLError && typeof code === 'string' && code !== ErrorCodes.INTERNAL_SERVER_ERROR) {
      const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
      return { ...base, message: formatted.message, extensions: { ...extensions, ...stack } };
    }
    if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
      return { ...base, message: formatted.message, extensions: { code, ...stack } };
    }
    log(original);
    return {
      ...base,
      message: debug && original instanceof Error ? original.message : 'internal error; the server log has the details',
      extensions: { code: ErrorCodes.INTERNAL_SERVER_ERROR, ...stack },
    };
  };
}

/** The body of an HTTP error answered before GraphQL runs (auth, oversized body, bad JSON). */
export function httpErrorBody(code: string, message: string) {
  return { errors: [{ message, extensions: { code } }] };
}
