// The page's state (mirrored to window.__cskd for the tests and the curious) and small DOM helpers.
import { inkShare } from '../views.js';

export const $ = (sel) => document.querySelector(sel);

export const state = {
  ready: false,
  webgpu: null,          // null = unknown yet
  adapter: null,
  software: null,        // true on a CPU adapter (SwiftShader, llvmpipe, …)
  reason: null,
  status: 'loading',     // loading | idle | starting | training | paused | done | stopped | error | unavailable
  error: null,
  preset: null,          // name of the preset the fields came from (null once edited by hand)
  runIds: [],
  runs: {},              // id → { info, epochs: [{epoch, loss, top1Error, ece, …}], steps: [[x, loss]], final, lastMetrics }
  classes: [],
  progress: { done: 0, total: 0, fraction: 0, imagesPerSec: {}, etaSeconds: null },
  rendered: {
    charts: 0, stepPoints: 0, reliability: {}, embeddings: {}, tsne: {}, confusion: {}, gallery: 0, inspect: null, upload: null,
  },
  responsiveness: { maxFrameGapMs: 0, frames: 0, longTasks: 0 },
  firstStepMs: null,     // W3 (docs/BENCHMARKS.md): ms from navigation start to the first finished training step
  preds: {},             // id → { epoch, K, probs, labels, pred }
  features: {},          // id → { epoch, n, dim, data, labels } penultimate features for t-SNE
  selected: null,
  saved: {},             // id → { epoch, stepInEpoch, reason, stored, error } of the last auto-save
  savedRuns: [],         // saved runs found in this browser's storage (offered for resuming)
  recoveries: [],        // { reason, runs, text } for every lost GPU device that was replaced
  inkShare,              // exposed helper: share of non-white pixels of a canvas
  destroyDeviceForTesting: null, // set by main.js: loses the worker's GPU device, as a driver reset would
  plannedRuns: null,     // set by main.js: the runs Start would create now, [{ id, label, config }]
  verdict: null,         // set when a comparison finishes: { seeds, rows: [{ metric, a, b, diff, exceeds }] }
};
window.__cskd = state;

export function setStatus(text, kind = 'info') {
  const el = $('#status');
  el.textContent = text;
  el.classList.toggle('error', kind === 'error');
}

export const pct = (v, d = 1) => (v == null || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(d)}%`);
export const num = (v, d = 3) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(d));

export function emptyRendered() {
  return { charts: 0, stepPoints: 0, reliability: {}, embeddings: {}, tsne: {}, confusion: {}, gallery: 0, inspect: null, upload: null };
}
