// Vite builds web/src into web/dist (hashed asset names under assets/), served by `crmflow serve --ui web/dist`.
// `npm run dev` serves the sources with the API proxied to CRMFLOW_API (default http://127.0.0.1:8080).
import { defineConfig } from 'vite';

const api = process.env.CRMFLOW_API || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: { '/v2': api, '/healthz': api },
  },
  preview: {
    proxy: { '/v2': api, '/healthz': api },
  },
});
