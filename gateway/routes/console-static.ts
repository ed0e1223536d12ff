import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { NotFoundError } from '../../actors/errors';

/** Where `npm run build` puts the console. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

/** Paths the console never answers, even with its SPA fallback. */
const RESERVED = /^\/(api|oracle|healthz|readyz|metrics|live)(\/|$)/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/**
 * The built console at `/`: its files, and `index.html` for any other path
 * without an extension (the console's own routes). Hashed assets are cached
 * for a year; `index.html` never.
 */
export function consoleRoutes(dir = DEFAULT_CONSOLE_DIR) {
  const root = resolve(dir);
  return new Hono().on(['GET', 'HEAD'], '*', async (c) => {
    const path = decodeURIComponent(c.req.path);
    if (RESERVED.test(path)) throw new NotFoundError(`no route ${c.req.method} ${c.req.path}`);
    const index = join(root, 'index.html');
    if (!(await isFile(index))) throw new NotFoundError('the console is not built: run `npm run build` (npm start builds it when missing)');
    let file = resolve(root, `.${path}`);
    if (file !== root && !file.startsWith(root + sep)) throw new NotFoundError(`no file ${c.req.path}`);
    if (!(await isFile(file))) {
      if (extname(path) !== '') throw new NotFoundError(`no file ${c.req.path}`);
      file = index;
    }
    const body = await readFile(file);
    const immutable = file.startsWith(join(root, 'assets') + sep);
    const headers = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    };
    return c.req.method === 'HEAD' ? c.body(null, 200, headers) : c.body(new Uint8Array(body), 200, headers);
  });
}
