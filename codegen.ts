// GraphQL Code Generator: resolver and model types from schema/*.graphql, so code and schema cannot drift.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema/*.graphql',
  generates: {
    'generated/graphql.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useIndexSignature: true,
        contextType: '../src/server/context.js#RequestContext',
        scalars: { JSON: 'unknown', DateTime: 'Date' },
        enumsAsTypes: true,
        useTypeImports: true,
        mappers: {},
      },
    },
  },
};
export default config;
