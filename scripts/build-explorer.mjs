// Bundles the GraphiQL explorer (src/explorer/app.tsx with GraphiQL's CSS) into dist/explorer, so the server can offer it with no network access.
import { bundlePage } from './bundle-page.mjs';

await bundlePage({ name: 'explorer', entry: 'src/explorer/app.tsx', title: 'Reactor explorer', noscript: 'The Reactor explorer needs JavaScript.' });
