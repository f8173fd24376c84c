// Bounds on the work one request may ask for: operation cost (GraphQL Armor's rules), tokens, variable nesting, page size and response size.
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import { badInput } from '../errors/codes.js';

/**
 * What one request, one connection and one client may ask of the API. The
 * defaults let the CLI, the explorer (its introspection query included) and
 * the dashboard work untouched; each is a `reactor server` flag.
 */
export interface ApiLimits {
  /** Deepest selection (introspection excluded). `--max-depth` */
  maxDepth: number;
  /** Aliases per operation: 2,000 aliases of one list multiply its cost by 2,000. `--max-aliases` */
  maxAliases: number;
  /** Lexical tokens per document, checked while parsing. `--max-tokens` */
  maxTokens: number;
  /** Directives per operation. `--max-directives` */
  maxDirectives: number;
  /** GraphQL Armor's cost: objects 2, scalars 1, ×1.5 per level (introspection excluded). `--max-cost` */
  maxCost: number;
  /** Largest `limit` of any list argument; larger pages are read with `afterId`. `--max-page` */
  maxPage: number;
  /** Deepest nesting of arrays and objects in the variables. */
  maxVariableDepth: number;
  /** Largest response (JSON characters) one operation or one subscription item may produce. `--max-response-bytes` */
  maxResponseBytes: number;
  /** Operations open at once on one WebSocket. `--max-subscriptions` */
  maxSubscriptionsPerConnection: number;
  /** WebSockets open at once from one client address. `--max-connections` */
  maxConnectionsPerClient: number;
  /** Largest WebSocket message a client may send. */
  maxMessageBytes: number;
}

export const DEFAULT_LIMITS: Readonly<ApiLimits> = Object.freeze({
  maxDepth: 10,
  maxAliases: 15,
  maxTokens: 2000,
  maxDirectives: 50,
  maxCost: 5000,
  maxPage: 1000,
  maxVariableDepth: 32,
  maxResponseBytes: 16 * 1024 * 1024,
  maxSubscriptionsPerConnection: 25,
  maxConnectionsPerClient: 32,
  maxMessageBytes: 1024 * 1024,
});

/** The defaults with `overrides` applied; every value must be a whole number of at least 1. */
export function apiLimits(overrides: Partial<ApiLimits> = {}): ApiLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides) as [keyof ApiLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_LIMITS)) throw badInput(`unknown API limit "${key}"`, { key });
    if (!Number.isSafeInteger(value) || value < 1) throw badInput(`API limit ${key} must be a whole number of at least 1, got ${value}`, { key });
    limits[key] = value;
  }
  return limits;
}

/**
 * GraphQL Armor's validation rules for depth, aliases, directives and cost,
 * reporting (not throwing) so every refusal is an ordinary validation error
 * with GRAPHQL_VALIDATION_FAILED, the limit and how to raise it.
 */
export function limitRules(limits: ApiLimits): ValidationRule[] {
  const report = (flag: string) => ({
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) =>
        context?.reportError(
          new GraphQLError(`${error.message.replace(/^Syntax Error: /, '')} (the server's limit; ${flag} raises it)`, {
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          }),
        ),
    ],
  });
  return [
    maxDepthRule({ n: limits.maxDepth, ...report('--max-depth') }),
    maxAliasesRule({ n: limits.maxAliases, ...report('--max-aliases') }),
    maxDirectivesRule({ n: limits.maxDirectives, ...report('--max-directives') }),
    costLimitRule({ maxCost: limits.maxCost, ...report('--max-cost') }),
  ] as ValidationRule[];
}

/**
 * The first place where `value` nests deeper than `max` arrays and objects,
 * or null. Iterative, so a 100,000-deep array is measured, not a stack
 * overflow.
 */
export function nestingBeyond(value: unknown, max: number): string | null {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= max) return item.path || '(top)';
    if (Array.isArray(item.value)) {
      for (let i = 0; i < item.value.length; i++) stack.push({ value: item.value[i], depth: item.depth + 1, path: `${item.path}[${i}]` });
    } else {
      for (const [key, child] of Object.entries(item.value)) stack.push({ value: child, depth: item.depth + 1, path: item.path ? `${item.path}.${key}` : key });
    }
  }
  return null;
}

/** BAD_USER_INPUT for variables nested deeper than the limit, or null. */
export function variablesError(variables: unknown, limits: ApiLimits): GraphQLError | null {
  if (variables === undefined || variables === null) return null;
  const where = nestingBeyond(variables, limits.maxVariableDepth + 1);
  if (where === null) return null;
  const path = where.length > 60 ? `${where.slice(0, 60)}…` : where;
  return new GraphQLError(`variables nest deeper than ${limits.maxVariableDepth} levels (at ${path}); flatten the input`, {
    extensions: { code: 'BAD_USER_INPUT', limit: limits.maxVariableDepth },
  });
}

/**
 * The JSON size of `value` in characters (close to its UTF-8 bytes for the
 * ASCII Reactor produces), or null as soon as it exceeds `max`: measured
 * without building the string, since building it is what runs out of memory.
 */
export function jsonSizeWithin(value: unknown, max: number): number | null {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === null || item === undefined) size += 4;
    else if (typeof item === 'string') size += item.length + 2;
    else if (typeof item === 'number' || typeof item === 'boolean') size += 8;
    else if (item instanceof Date) size += 26;
    else if (Array.isArray(item)) {
      size += 2 + item.length;
      for (const child of item) stack.push(child);
    } else if (typeof item === 'object') {
      const withJson = item as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') {
        stack.push(withJson.toJSON());
        continue;
      }
      for (const [key, child] of Object.entries(item)) {
        size += key.length + 4;
        stack.push(child);
      }
      size += 2;
    }
    if (size > max) return null;
  }
  return size;
}

/** The error that replaces a response larger than the limit. */
export function responseTooLarge(limits: ApiLimits): GraphQLError {
  return new GraphQLError(
    `the response would be larger than ${limits.maxResponseBytes} bytes, the server's limit (--max-response-bytes); ask for fewer fields, fewer items or smaller pages`,
    { extensions: { code: 'RESPONSE_TOO_LARGE', limit: limits.maxResponseBytes } },
  );
}

/** `limit` of a list argument, checked against the page size limit. */
export function pageLimit(limit: number | null | undefined, limits: Pick<ApiLimits, 'maxPage'>): number | undefined {
  if (limit === null || limit === undefined) return undefined;
  if (limit > limits.maxPage) {
    throw badInput(`limit ${limit} is larger than the page size limit of ${limits.maxPage} (--max-page); read further pages with afterId`, {
      field: 'limit',
      limit: limits.maxPage,
    });
  }
  return limit;
}
