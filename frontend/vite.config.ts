import { defineConfig } from "vite";

// The dashboard is served by the Python backend from frontend/dist at "/".
// Everything (JS, CSS, the MapLibre worker) is bundled; nothing is fetched
// from a CDN at run time.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    // maplibre-gl alone is ~1 MB minified; the warning would fire on every build.
    chunkSizeWarningLimit: 1600,
    rollupOptions: {
      // The dashboard, and the frame-rate benchmark page that bench/frames.py opens.
      input: { main: "index.html", bench: "bench.html" },
    },
  },
  worker: {
    // maplibre-gl's worker is an ES module (it ends with `export`).
    format: "es",
  },
  server: {
    // `npm run dev` against a backend on :8000.
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
});
