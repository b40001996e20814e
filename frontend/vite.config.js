import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The API is served by FastAPI on the same origin; in `npm run dev` Vite proxies to it.
export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/health': 'http://127.0.0.1:8000',
      '/ready': 'http://127.0.0.1:8000',
    },
  },
  build: { outDir: 'dist', emptyOutDir: true },
  test: { environment: 'node', include: ['src/**/*.test.{js,jsx}'] },
});
