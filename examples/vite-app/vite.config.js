// Vite settings for an app that uses cskd (a plain object, so the file needs no import of 'vite').
/** @type {import('vite').UserConfig} */
export default {
  // cskd/worker starts its worker as a module worker; bundle it as an ES module too.
  worker: { format: 'es' },
  // The dev server's dependency pre-bundling would move cskd.js away from cskd_bg.wasm and
  // trainer-worker.js, which it finds through `new URL(…, import.meta.url)`; serve it as is.
  optimizeDeps: { exclude: ['cskd'] },
  build: { target: 'es2022' },
};
