import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { gzipAsync } from '@gfx/zopfli';
import { compression, defineAlgorithm } from 'vite-plugin-compression2';

// What the public pages need goes into one long-cached chunk, which every other
// screen shares: the libraries, the app's shared pieces and the public app's frame.
// One chunk compresses better than a dozen small ones and costs one request; the
// public pages have a budget of 120 kB (scripts/check-bundle-budget.js).
const CORE_LIBRARIES = /node_modules\/(react|react-dom|scheduler|react-redux|@reduxjs|redux|redux-thunk|immer|reselect|use-sync-external-store|i18next|react-i18next|i18next-resources-to-backend|@babel\/runtime)\//;
const CORE_APP = /\/src\/(components\/(?!EmptyState)|state|i18n\/index|api\/(baseApi|errors)|app\/(PublicApp|NotFoundPage|effects|store))/;

function chunkOf(id) {
  return CORE_LIBRARIES.test(id) || CORE_APP.test(id) ? 'core' : undefined;
}

// Swagger UI for /api/docs (app/main.py), served from the bundle like the rest, so
// the API docs work offline and under a Content-Security-Policy of 'self' (a CDN
// would be a blank page on a network without internet). api-docs/init.js starts it.
const SWAGGER_UI = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const SWAGGER_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png'];

function apiDocs() {
  return {
    name: 'api-docs',
    apply: 'build',
    generateBundle() {
      for (const file of SWAGGER_FILES) {
        this.emitFile({
          type: 'asset',
          fileName: `api-docs/${file}`,
          source: readFileSync(join(SWAGGER_UI, file)),
        });
      }
    },
  };
}

// The API is served by FastAPI on the same origin; in `npm run dev` Vite proxies to it.
export default defineConfig({
  plugins: [
    react(),
    apiDocs(),
    // Every asset also as .gz, compressed once at build with Zopfli (gzip format,
    // a few per cent smaller than zlib's best); the server sends these to browsers
    // that accept gzip, so nothing is compressed per request.
    compression({
      algorithms: [defineAlgorithm((buffer) => gzipAsync(buffer, { numiterations: 15 }))],
      filename: '[path][base].gz',
      include: /\.(js|css|svg|json)$/,
      exclude: /\.vite\//,
      logLevel: 'silent',
    }),
  ],
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/health': 'http://127.0.0.1:8000',
      '/ready': 'http://127.0.0.1:8000',
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    rollupOptions: { output: { manualChunks: chunkOf } },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{js,jsx}'],
    setupFiles: ['src/test/setup.js'],
  },
});
