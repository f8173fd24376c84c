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
        mappers: {
          Endpoint: '../src/store/types.js#EndpointRecord',
          Manager: '../src/store/types.js#ManagerRecord',
          Instance: '../src/store/types.js#InstanceRecord',
          EndpointEvent: '../src/store/types.js#EventRecord',
          MetricSample: '../src/store/types.js#MetricSampleRecord',
          ScalingDecision: '../src/store/types.js#DecisionRecord',
          InstanceChange: '../src/events/types.js#InstanceChangeRecord',
          ScalingReplay: '../src/server/replay-service.js#ReplayAnswer',
          EndpointConfig: '../src/config/model.js#EndpointConfig as EndpointConfigModel',
        },
      },
    },
  },
};
export default config;
