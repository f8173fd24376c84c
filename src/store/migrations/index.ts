// The ordered list of SQLite schema migrations; append new ones, never edit a released one.
import { InitialSchema1764000000000 } from './1764000000000-initial-schema.js';
import { CustomMetrics1764100000000 } from './1764100000000-custom-metrics.js';
import { Cluster1764200000000 } from './1764200000000-cluster.js';
import { Secrets1764315000000 } from './1764315000000-secrets.js';

export const sqliteMigrations = [InitialSchema1764000000000, CustomMetrics1764100000000, Cluster1764200000000, Secrets1764315000000];
