// The layering rules of Reactor, checked by dependency-cruiser in `npm test` (scripts/test.sh): a wrong import fails the build.
//
// The shape they hold (shared/DESIGN.md, "Architecture: three roles, one binary"):
//   - three roles, each a folder that imports nothing of the others except
//     through the store: src/control/ (the controller), src/host/ (what every
//     server does for its own machine) and src/server/ (the api, maybe renamed
//     src/api/ later; both names are matched). The api assembles the roles
//     (server/services.ts), so it may import them; they may not import it.
//   - a pure core (scaling/, scheduler/, config/, model/, and errors/ because
//     the core imports it) that does no I/O, so it can be tested with tables;
//   - model/ at the bottom: the domain vocabulary, importing nothing.
//   - no cycles between folders: a decision flows one way, nothing calls back up.
//
// Every rule is an error. Each names what it protects, so the report reads as
// "rule: from → to" plus the comment below (output type err-long).
// Run it alone with `npm run layering`.

/** Folders of the pure core. errors/ is here because the core imports it: it must stay pure for the core to be. */
const PURE = '^src/(scaling|scheduler|config|model|errors)/';
/** The api role, under either name. */
const API = '^src/(server|api)/';
/** The folders that together make the api (for folder-scope rules, which match folder names without a trailing slash). */
const API_FOLDERS = '^(src/server|src/api|resolvers|generated)$';
const FOLDER_CYCLE =
  'Two folders import each other (directly or round a loop). A decision should flow one way ' +
  '(snapshot → decide → plan → apply → record): move the shared words down (usually into model/) ' +
  'or pass a function in instead of importing back up.';

module.exports = {
  forbidden: [
    // --- one direction ----------------------------------------------------
    // The api is one role spread over three top-level folders by the repository
    // layout: src/server/ builds the schema from resolvers/, and resolvers/ and
    // the generated types (generated/, from codegen.ts) name the request context
    // that src/server/ defines. Those edges are one room, not a loop between
    // rooms, so they are the only folder cycle allowed; every other edge on a
    // cycle, including any that leaves the api and comes back, is reported.
    {
      name: 'no-folder-cycles',
      comment: FOLDER_CYCLE,
      severity: 'error',
      scope: 'folder',
      from: { path: '^(src|resolvers|generated)(/|$)', pathNot: API_FOLDERS },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment: FOLDER_CYCLE,
      severity: 'error',
      scope: 'folder',
      from: { path: API_FOLDERS },
      to: { circular: true, pathNot: API_FOLDERS },
    },
    {
      // Cycles between files of one folder are not needed today either, so none is allowed.
      name: 'no-module-cycles',
      comment:
        'These files import each other in a loop. Split the part both need into its own file, ' +
        'or move it down into model/.',
      severity: 'error',
      from: { path: '^(src|resolvers)/' },
      to: { circular: true },
    },

    // --- the three roles -------------------------------------------------------
    {
      name: 'control-imports-no-host-docker-nginx',
      comment:
        'The controller (src/control/) writes desired state to the store and never touches a machine: ' +
        'it must not import src/host/, src/docker/ or src/nginx/. Hosts pick up the records it writes.',
      severity: 'error',
      from: { path: '^src/control/' },
      to: { path: '^src/(host|docker|nginx)/' },
    },
    {
      name: 'host-imports-no-control',
      comment:
        'A host (src/host/) converges its own machine on the records in the store; it must not import ' +
        'the controller (src/control/). In cluster mode only the leader runs the controller.',
      severity: 'error',
      from: { path: '^src/host/' },
      to: { path: '^src/control/' },
    },
    {
      name: 'roles-import-no-api',
      comment:
        'The controller and the host must not import the api (src/server/ or src/api/); the api ' +
        'assembles them, not the other way round.',
      severity: 'error',
      from: { path: '^src/(control|host)/' },
      to: { path: API },
    },

    // --- the pure core -------------------------------------------------------
    {
      name: 'pure-core-no-node-builtins',
      comment:
        'scaling/, scheduler/, config/, model/ and errors/ are the pure core: no node: builtins ' +
        '(fs, net, child_process, http, dgram, worker_threads, …). Take what the I/O would give ' +
        'as an argument, or do the I/O in the caller.',
      severity: 'error',
      from: { path: PURE },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'pure-core-no-packages',
      comment:
        'The pure core imports no npm package (dockerode, typeorm, better-sqlite3, mongodb, graphql, …). ' +
        'If a package is truly pure and needed, allow it here by name with the reason.',
      severity: 'error',
      from: { path: PURE },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'pure-core-imports-only-pure-core',
      comment:
        'The pure core may import only itself (scaling/, scheduler/, config/, model/, errors/): ' +
        'not the store, docker/, nginx/, server/, metrics/, events/, control/, host/ or any other folder ' +
        'that does I/O.',
      severity: 'error',
      from: { path: PURE },
      to: { path: '^(src|resolvers|generated)/', pathNot: PURE },
    },
    {
      name: 'model-imports-nothing',
      comment: 'src/model/ is the domain vocabulary at the bottom of every layer: it imports nothing outside itself.',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { pathNot: '^src/model/' },
    },

    // --- resolvers ----------------------------------------------------------------
    // Today resolvers/ imports: src/server/context (the Services type), src/events
    // (replay and the bus's Topics type), src/instances/service (the pure
    // event → instance-change mapping), src/scaling (evaluateScaling, the what-if
    // form of the calculator: the same code path by contract) and src/store/types
    // (types only). All of that is services, pure code or types, so it stays
    // allowed. What a thin resolver must never do is reach past the services to
    // the machine or to a role.
    {
      name: 'resolvers-go-through-services',
      comment:
        'Resolvers are thin: they call services (context.services). They must not import ' +
        'src/docker/, src/nginx/, src/host/, src/control/ or src/cli/ directly.',
      severity: 'error',
      from: { path: '^resolvers/' },
      to: { path: '^src/(docker|nginx|host|control|cli)/' },
    },
    {
      name: 'resolvers-no-store-values',
      comment:
        'Resolvers may use the store\'s types but reach the store only through context.services, ' +
        'never by importing its code (src/store/).',
      severity: 'error',
      from: { path: '^resolvers/' },
      to: { path: '^src/store/', dependencyTypesNot: ['type-only'] },
    },

    // --- browser pages ---------------------------------------------------------------
    {
      name: 'dashboard-uses-only-the-public-api',
      comment:
        'The dashboard is the proof that the public GraphQL API is enough for a UI: its browser code ' +
        '(everything in src/dashboard/ but serve.ts, which the server mounts) talks to the server only ' +
        'over HTTP and graphql-ws, and imports nothing of Reactor but itself and src/web/ (the pages\' ' +
        'shared browser code).',
      severity: 'error',
      from: { path: '^src/(dashboard|web)/', pathNot: '^src/(dashboard/serve|web/static)[.]ts$' },
      to: { path: '^(src|resolvers|generated)/', pathNot: '^src/(dashboard|web)/' },
    },

    // --- the check itself ---------------------------------------------------------
    {
      name: 'imports-resolve',
      comment:
        'dependency-cruiser could not resolve this import, so the rules above cannot see where it goes. ' +
        'Run codegen first (generated/), or fix the path.',
      severity: 'error',
      from: { path: '^(src|resolvers)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports count: a layer that needs another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|bench)/' },
    // NodeNext: sources import './x.js' for './x.ts'; packages resolve through their "exports".
    enhancedResolveOptions: {
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['types', 'import', 'require', 'node', 'default'],
      mainFields: ['types', 'module', 'main'],
    },
  },
};
