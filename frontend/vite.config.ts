import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

// The build lands inside the Python package, where helpdesk/app.py serves it at "/".
const outDir = fileURLToPath(new URL("../helpdesk/static", import.meta.url));
// `npm run dev` proxies the API and the socket to a `helpdesk serve` on the default port.
const backend = "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [vue()],
  build: {
    outDir,
    emptyOutDir: true,
    // The polyfill is only for old browsers; leaving it out keeps index.html free of extra code.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": backend,
      "/ws": { target: backend.replace(/^http/, "ws"), ws: true },
    },
  },
});
