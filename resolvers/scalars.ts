// The JSON and DateTime scalars, from graphql-scalars rather than our own.
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';

export const scalarResolvers = { JSON: JSONResolver, DateTime: DateTimeResolver };
