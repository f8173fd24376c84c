// Bundles the live dashboard (src/dashboard/app.tsx with uPlot's CSS) into dist/dashboard, so the server can offer it with no network access.
import { bundlePage } from './bundle-page.mjs';

await bundlePage({ name: 'dashboard', entry: 'src/dashboard/app.tsx', title: 'Reactor dashboard', noscript: 'The Reactor dashboard needs JavaScript.' });
