import type { DashboardAssets } from '../dashboard/dashboard-assets.js';
import { DASHBOARD_HEADERS, DASHBOARD_PAGE } from '../dashboard/dashboard-page.js';
import type { ExperimentStreams } from '../dashboard/experiment-streams.js';
import type { GatewayRoute } from './gateway-route.js';

/** What the dashboard's routes need. */
export interface DashboardRouteDependencies {
  streams: ExperimentStreams;
  dashboardAssets: DashboardAssets;
}

const page = { kind: 'text', status: 200, contentType: 'text/html; charset=utf-8', body: DASHBOARD_PAGE } as const;

/**
 * The dashboard: its page (the index of experiments and one page per model are the same
 * document), its assets, and the live stream of one experiment. Readable without a token; its
 * actions call the API's own admin routes.
 */
export const DASHBOARD_ROUTES: readonly GatewayRoute<DashboardRouteDependencies>[] = [
  {
    method: 'GET',
    path: '/v1/experiments/:model/stream',
    errors: 'v1',
    headers: { 'x-content-type-options': 'nosniff' },
    handle(call, { streams }) {
      const model = call.param('model');
      call.model();
      streams.admit(model);
      return { kind: 'stream', status: 200, contentType: 'text/event-stream; charset=utf-8', open: (stream) => streams.open(model, stream) };
    },
  },
  { method: 'GET', path: '/dashboard', errors: 'v1', headers: DASHBOARD_HEADERS, handle: () => page },
  { method: 'GET', path: '/dashboard/:model', errors: 'v1', headers: DASHBOARD_HEADERS, handle: () => page },
  {
    method: 'GET',
    path: '/dashboard/assets/:file',
    errors: 'v1',
    headers: DASHBOARD_HEADERS,
    async handle(call, { dashboardAssets }) {
      const asset = await dashboardAssets.get(call.param('file'));
      return { kind: 'text', status: 200, contentType: asset.contentType, body: asset.body };
    },
  },
];
