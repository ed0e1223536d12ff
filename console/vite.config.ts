import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

const root = fileURLToPath(new URL('.', import.meta.url));
/** Where `npm start` listens; the dev server proxies the API and the live channel to it. */
const target = process.env.TOLLGATE_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  base: '/',
  plugins: [solid()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target, changeOrigin: true },
      '/live': { target, changeOrigin: true, ws: true },
      '/healthz': { target },
      '/metrics': { target },
    },
  },
});
