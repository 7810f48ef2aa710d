import { readFile } from 'node:fs/promises';
import { InfermeshError } from '@infermesh/shared';

/**
 * The gateway package's root. This module sits two levels below it both as source
 * (`src/dashboard/`, run by tsx) and built (`dist/dashboard/`), so one relative URL finds it
 * in either mode.
 */
const PACKAGE_ROOT = new URL('../../', import.meta.url);

/** Where `tsc -b` writes the dashboard's browser script (packages/gateway/web/tsconfig.json's outDir). */
export const DASHBOARD_SCRIPT_DIR = new URL('dist/web/', PACKAGE_ROOT);
/** Where the dashboard's stylesheet lives: plain CSS needs no build, source and dist read it here. */
export const DASHBOARD_STYLE_DIR = new URL('web/', PACKAGE_ROOT);

/** File names an asset request may name: one path segment, no dots but the extension's. */
const ASSET_NAME = /^[a-z][a-z0-9-]*\.(js|css)$/;
const CONTENT_TYPES = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' } as const;

/** One asset as served. */
export interface DashboardAsset {
  body: string;
  contentType: string;
}

/**
 * The dashboard's static files, read once and kept (a few kilobytes). Scripts come from the
 * compiled output, the stylesheet from the source folder; a script missing because the
 * package was not built is said so, not answered as an empty 404.
 */
export class DashboardAssets {
  private readonly cache = new Map<string, DashboardAsset>();

  constructor(private readonly dirs: { scripts: URL; styles: URL } = { scripts: DASHBOARD_SCRIPT_DIR, styles: DASHBOARD_STYLE_DIR }) {}

  /** The asset named `name`; ROUTE_NOT_FOUND for a name the dashboard does not ship. */
  async get(name: string): Promise<DashboardAsset> {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const extension = ASSET_NAME.exec(name)?.[1] as keyof typeof CONTENT_TYPES | undefined;
    if (extension === undefined) throw new InfermeshError('ROUTE_NOT_FOUND', `the dashboard has no asset '${name}'`);
    const url = new URL(name, extension === 'js' ? this.dirs.scripts : this.dirs.styles);
    let body: string;
    try {
      body = await readFile(url, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (name === 'dashboard.js') throw new InfermeshError('INTERNAL', `the dashboard's script is not built (${url.pathname}): run 'npm run build'`);
      throw new InfermeshError('ROUTE_NOT_FOUND', `the dashboard has no asset '${name}'`);
    }
    const asset = { body, contentType: CONTENT_TYPES[extension] };
    this.cache.set(name, asset);
    return asset;
  }
}
