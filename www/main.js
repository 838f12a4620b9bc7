// Page logic: controls, worker messages, charts and views. All training happens in worker.js.
import { EpochChart, RUN_COLORS, RUN_LABELS } from './charts.js';
import {
  argmax, drawConfusion, drawEmbedding, drawReliability, imageCanvas, inkShare, renderLegend, renderProbBars,
} from './views.js';
import * as store from './store.js';

const $ = (sel) => document.querySelector(sel);
const DEFAULT_DATA_URL = 'assets/cifar10-demo.tar.gz';
const GALLERY_MAX = 96;

// ---- state (mirrored to window.__cskd for tests and the curious) -------------------------------

const state = {
  ready: false,
  webgpu: null,          // null = unknown yet
  adapter: null,
  reason: null,
  status: 'loading',     // loading | idle | starting | training | paused | done | stopped | error | unavailable
  error: null,
  runIds: [],
  runs: {},              // id → { info, epochs: [{epoch, loss, top1Error, ece, …}], final, views }
  classes: [],
  progress: { done: 0, total: 0, fraction: 0, imagesPerSec: {}, etaSeconds: null },
  rendered: { charts: 0, reliability: {}, embeddings: {}, confusion: {}, gallery: 0, inspect: null, upload: null },
  responsiveness: { maxFrameGapMs: 0, frames: 0, longTasks: 0 },
  firstStepMs: null,     // W3 (BENCH.md): ms from navigation start to the first finished training step
  preds: {},             // id → { epoch, K, probs, labels, pred }
  selected: null,
  saved: {},             // id → { epoch, stepInEpoch, reason, stored, error } of the last auto-save
  savedRuns: [],         // saved runs found in this browser's storage (offered for resuming)
  recoveries: [],        // { reason, runs, text } for every lost GPU device that was replaced
  inkShare,              // exposed helper: share of non-white pixels of a canvas
  // For the tests: destroy the worker's GPU device mid-run, as a driver reset would.
  destroyDeviceForTesting: () => worker?.postMessage({ type: 'destroyDeviceForTesting' }),
};
window.__cskd = state;

// ---- controls -------------------------------------------------------------------------------------

const NUM_FIELDS = ['perClass', 'testPerClass', 'width', 'temperature', 'lambda', 'lr', 'batch', 'epochs', 'seed', 'momentum', 'weightDecay'];
const SELECT_FIELDS = ['model', 'method', 'schedule'];
const ALIASES = { T: 'temperature', t: 'temperature', lam: 'lambda', lambda_: 'lambda', wd: 'weightDecay', bs: 'batch' };

function applyQuery() {
  const q = new URLSearchParams(location.search);
  for (const [rawKey, value] of q) {
    const key = ALIASES[rawKey] ?? rawKey;
    const el = document.getElementById(key);
    if (!el) continue;
    if (el.type === 'checkbox') el.checked = !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
    else if (el.tagName === 'SELECT') {
      if ([...el.options].some((o) => o.value === value)) el.value = value;
    } else el.value = value;
  }
  return {
    autostart: ['1', 'true', 'yes'].includes((q.get('autostart') ?? '').toLowerCase()),
    dataUrl: q.get('data') || DEFAULT_DATA_URL,
  };
}

function readConfig() {
  const base = {};
  for (const f of NUM_FIELDS) {
    const v = parseFloat($(`#${f}`).value);
    if (Number.isFinite(v)) base[f] = ['perClass', 'testPerClass', 'width', 'batch', 'epochs', 'seed'].includes(f) ? Math.round(v) : v;
  }
  for (const f of SELECT_FIELDS) base[f] = $(`#${f}`).value;
  base.augment = $('#augment').checked;
  const method = base.method;
  delete base.method;
  const methods = method === 'both' ? ['ce', 'cskd'] : [method];
  return { base, methods };
}

function dataSource() {
  if ($('#data-source').value === 'file') {
    const file = $('#data-file').files[0];
    if (!file) throw new Error('Choose a CIFAR-10/100 .tar.gz or .bin file first.');
    return { kind: 'file', file };
  }
  return { kind: 'url', url: query.dataUrl, name: query.dataUrl.split('/').pop() };
}

$('#data-source').addEventListener('change', () => {
  $('#data-file-label').hidden = $('#data-source').value !== 'file';
});

// ---- status, buttons, progress -------------------------------------------------------------------

function setStatus(text, kind = 'info') {
  const el = $('#status');
  el.textContent = text;
  el.classList.toggle('error', kind === 'error');
}

function setPhase(phase) {
  state.status = phase;
  const running = phase === 'training' || phase === 'paused' || phase === 'starting';
  const usable = state.webgpu === true && state.ready;
  $('#start').disabled = !usable || running;
  $('#pause').disabled = !(phase === 'training' || phase === 'paused');
  $('#pause').textContent = phase === 'paused' ? 'Resume' : 'Pause';
  $('#stop').disabled = !running;
  for (const el of document.querySelectorAll('#config input, #config select')) el.disabled = running;
  const have = (id) => state.runIds.includes(id);
  for (const b of document.querySelectorAll('[data-save]')) b.disabled = !usable || !have(b.dataset.save) || phase === 'starting';
  for (const i of document.querySelectorAll('[data-load]')) i.disabled = !usable || phase === 'starting' || (running && !have(i.dataset.load));
  $('#image-input').disabled = !usable || state.runIds.length === 0 || phase === 'starting';
  for (const b of document.querySelectorAll('#saved-runs button')) b.disabled = !usable || running;
  document.body.dataset.phase = phase;
}

function fmtTime(s) {
  if (!Number.isFinite(s)) return '–';
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

let progressBase = null; // { done, activeMs } at the first progress message of a run
function onProgress(msg) {
  if (!progressBase || msg.done < progressBase.done) progressBase = { done: msg.done, activeMs: msg.activeMs };
  const p = state.progress;
  p.done = msg.done;
  p.total = msg.total;
  p.fraction = msg.total ? msg.done / msg.total : 0;
  const stepsDone = msg.done - progressBase.done, ms = msg.activeMs - progressBase.activeMs;
  p.etaSeconds = stepsDone > 0 ? ((ms / stepsDone) * (msg.total - msg.done)) / 1000 : null;
  p.imagesPerSec = {};
  for (const [id, r] of Object.entries(msg.runs)) if (r) p.imagesPerSec[id] = r.imagesPerSec;
  $('#progress').value = p.fraction;
  const ips = Object.entries(p.imagesPerSec)
    .map(([id, v]) => `${RUN_LABELS[id] ?? id} ${Number.isFinite(v) ? v.toFixed(v < 10 ? 1 : 0) : '–'} img/s`).join(' · ');
  const ep = Object.entries(msg.runs).filter(([, r]) => r).map(([, r]) => r.epoch);
  const cfgEpochs = state.runs[state.runIds[0]]?.info?.config?.epochs;
  const epochText = ep.length && cfgEpochs ? `epoch ${Math.min(...ep) + (p.fraction < 1 ? 1 : 0)}/${cfgEpochs} · ` : '';
  $('#progress-text').textContent = `${epochText}${msg.done}/${msg.total} steps · ${ips || '–'} · ETA ${fmtTime(p.etaSeconds)}`;
}

// ---- charts, table ---------------------------------------------------------------------------------

const charts = {
  loss: new EpochChart($('#chart-loss'), { title: 'Train loss', key: 'loss' }),
  top1Error: new EpochChart($('#chart-error'), { title: 'Test top-1 error', key: 'top1Error', percent: true }),
  ece: new EpochChart($('#chart-ece'), { title: 'Test ECE (15 bins)', key: 'ece', percent: true }),
};

function updateCharts() {
  const records = {};
  for (const id of state.runIds) records[id] = state.runs[id].epochs;
  for (const c of Object.values(charts)) c.update(records);
  state.rendered.charts++;
}

const pct = (v, d = 1) => (v == null || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(d)}%`);
const num = (v, d = 3) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(d));

function updateTable() {
  const tbody = $('#metrics tbody');
  tbody.textContent = '';
  for (const id of state.runIds) {
    const run = state.runs[id];
    const last = run.final && (!run.epochs.length || run.final.epoch > run.epochs.at(-1).epoch) ? run.final : run.epochs.at(-1);
    const tr = tbody.insertRow();
    tr.dataset.run = id;
    const cells = [
      `<span class="swatch" style="background:${RUN_COLORS[id]}"></span>${RUN_LABELS[id] ?? id}`,
      last ? String(last.epoch) : '–',
      num(last?.loss), pct(last?.top1Error), pct(last?.top5Error), num(last?.nll), pct(last?.ece, 2),
      pct(last?.recallAt1), pct(last?.superclassShare),
    ];
    for (const c of cells) tr.insertCell().innerHTML = c;
  }
}

// ---- per-run panels --------------------------------------------------------------------------------

function setRuns(infos, { add = false } = {}) {
  if (!add) {
    state.runIds = [];
    state.runs = {};
    state.preds = {};
    state.selected = null;
    state.rendered = { charts: 0, reliability: {}, embeddings: {}, confusion: {}, gallery: 0, inspect: null, upload: null };
    imageCache.clear();
    progressBase = null;
    $('#confusion').textContent = '';
    $('#gallery').textContent = '';
    $('#inspect').innerHTML = '<p class="hint">Click an image to compare the class probabilities of the runs.</p>';
    $('#upload-probs').textContent = '';
    for (const id of ['ce', 'cskd']) {
      for (const c of [$(`#reliability-${id}`), $(`#embeddings-${id}`)]) c.getContext('2d').clearRect(0, 0, c.width, c.height);
    }
  }
  for (const info of infos) {
    if (!state.runIds.includes(info.id)) state.runIds.push(info.id);
    state.runs[info.id] = { info, epochs: state.runs[info.id]?.epochs ?? [], final: null };
  }
  state.runIds.sort((a, b) => ['ce', 'cskd', 'ls'].indexOf(a) - ['ce', 'cskd', 'ls'].indexOf(b));
  state.classes = infos[0]?.classes ?? state.classes;
  for (const el of document.querySelectorAll('figure[data-run], .ckpt[data-run]')) {
    el.classList.toggle('off', state.runIds.length > 0 && !state.runIds.includes(el.dataset.run) && !el.classList.contains('ckpt'));
  }
  for (const c of Object.values(charts)) c.setRuns(state.runIds);
  updateCharts();
  updateTable();
  renderLegend($('#class-legend'), state.classes);
  for (const id of state.runIds) confusionCanvas(id);
}

function confusionCanvas(id) {
  let fig = document.querySelector(`#confusion figure[data-run="${id}"]`);
  if (!fig) {
    fig = document.createElement('figure');
    fig.dataset.run = id;
    const c = document.createElement('canvas');
    c.id = `confusion-${id}`;
    c.className = 'plot';
    const cap = document.createElement('figcaption');
    cap.textContent = RUN_LABELS[id] ?? id;
    fig.append(c, cap);
    $('#confusion').append(fig);
    [...$('#confusion').children]
      .sort((a, b) => ['ce', 'cskd', 'ls'].indexOf(a.dataset.run) - ['ce', 'cskd', 'ls'].indexOf(b.dataset.run))
      .forEach((f) => $('#confusion').append(f));
  }
  return fig.querySelector('canvas');
}

function recordFrom(epoch, trainLoss, m) {
  return {
    epoch, loss: trainLoss, top1Error: m.top1Error, top5Error: m.top5Error, nll: m.nll, ece: m.ece,
    recallAt1: m.recallAt1 ?? null, superclassShare: m.superclassShare ?? null, count: m.count,
  };
}

function showMetrics(id, epoch, metrics) {
  const rel = $(`#reliability-${id}`);
  if (rel) {
    drawReliability(rel, metrics, id, epoch);
    state.rendered.reliability[id] = epoch;
  }
  if (metrics.confusion?.length) {
    drawConfusion(confusionCanvas(id), metrics.confusion, state.classes, `${RUN_LABELS[id] ?? id} · epoch ${epoch}`);
    state.rendered.confusion[id] = epoch;
  }
}

function onEpoch(msg) {
  const run = state.runs[msg.run];
  if (!run) return;
  const rec = recordFrom(msg.epoch, msg.trainLoss, msg.metrics);
  run.epochs = run.epochs.filter((r) => r.epoch !== rec.epoch).concat([rec]).sort((a, b) => a.epoch - b.epoch);
  run.lastMetrics = msg.metrics;
  updateCharts();
  updateTable();
  showMetrics(msg.run, msg.epoch, msg.metrics);
}

function onFinal(msg) {
  const run = state.runs[msg.run];
  if (!run || !msg.metrics) return;
  run.final = recordFrom(msg.epoch, run.epochs.at(-1)?.loss ?? null, msg.metrics);
  updateTable();
  showMetrics(msg.run, msg.epoch, msg.metrics);
}

function onViews(msg) {
  const { run: id, epoch, pca, predictions } = msg;
  if (!state.runs[id]) return;
  const canvas = $(`#embeddings-${id}`);
  if (canvas) {
    drawEmbedding(canvas, pca, state.classes, id, epoch);
    state.rendered.embeddings[id] = epoch;
  }
  const K = predictions.classes, n = predictions.labels.length;
  const pred = new Uint32Array(n);
  for (let i = 0; i < n; i++) pred[i] = argmax(predictions.probs, i * K, K);
  state.preds[id] = { epoch, K, probs: predictions.probs, labels: predictions.labels, pred };
  scheduleGallery();
  if (state.selected != null) inspect(state.selected);
}

// ---- gallery and inspection ------------------------------------------------------------------------

const imageCache = new Map(); // test index → RGBA Uint8Array
let galleryTimer = null;
function scheduleGallery() {
  clearTimeout(galleryTimer);
  galleryTimer = setTimeout(() => renderGallery().catch((e) => setStatus(`Gallery: ${e.message}`, 'error')), 50);
}
$('#gallery-filter').addEventListener('change', scheduleGallery);

function galleryIndices() {
  const ids = state.runIds.filter((id) => state.preds[id]);
  if (!ids.length) return { list: [], total: 0 };
  const labels = state.preds[ids[0]].labels;
  const n = labels.length;
  const wrong = (id, i) => (state.preds[id] ? state.preds[id].pred[i] !== labels[i] : false);
  const filter = $('#gallery-filter').value;
  let list = [];
  for (let i = 0; i < n; i++) {
    const w = ids.map((id) => wrong(id, i));
    let keep;
    if (filter === 'all') keep = true;
    else if (filter === 'ce-only') keep = wrong('ce', i) && state.preds.cskd && !wrong('cskd', i);
    else if (filter === 'cskd-only') keep = wrong('cskd', i) && state.preds.ce && !wrong('ce', i);
    else keep = w.some(Boolean);
    if (keep) list.push({ i, disagree: new Set(ids.map((id) => state.preds[id].pred[i])).size > 1 });
  }
  const total = list.length;
  if (filter === 'any') list.sort((a, b) => (b.disagree - a.disagree) || (a.i - b.i));
  list = list.slice(0, GALLERY_MAX).map((x) => x.i);
  return { list, total };
}

let galleryToken = 0;
async function renderGallery() {
  const token = ++galleryToken;
  const { list, total } = galleryIndices();
  const missing = list.filter((i) => !imageCache.has(i));
  if (missing.length) {
    const imgs = await call('testImages', { indices: missing, run: state.runIds[0] });
    missing.forEach((i, k) => imageCache.set(i, imgs[k]));
  }
  if (token !== galleryToken) return;
  const g = $('#gallery');
  g.textContent = '';
  const ids = state.runIds.filter((id) => state.preds[id]);
  const classes = state.classes;
  for (const i of list) {
    const labels = state.preds[ids[0]].labels;
    const el = document.createElement('div');
    el.className = 'thumb' + (state.selected === i ? ' selected' : '');
    el.tabIndex = 0;
    el.dataset.index = String(i);
    el.append(imageCanvas(imageCache.get(i)));
    const t = document.createElement('span');
    t.className = 'lbl';
    t.innerHTML = `<b>${classes[labels[i]] ?? labels[i]}</b>`;
    el.append(t);
    for (const id of ids) {
      const p = state.preds[id].pred[i];
      const s = document.createElement('span');
      s.className = `lbl ${p === labels[i] ? 'ok' : 'bad'}`;
      s.dataset.run = id;
      s.title = `${RUN_LABELS[id]} predicts ${classes[p]}`;
      s.textContent = `${id === 'cskd' ? 'KD' : id.toUpperCase()}: ${classes[p] ?? p}`;
      el.append(s);
    }
    el.title = `test image #${i}`;
    el.addEventListener('click', () => inspect(i));
    el.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); inspect(i); } });
    g.append(el);
  }
  $('#gallery-count').textContent = list.length ? `showing ${list.length} of ${total}` : (ids.length ? 'no images match' : '');
  state.rendered.gallery = list.length;
}

async function inspect(i) {
  state.selected = i;
  for (const el of document.querySelectorAll('#gallery .thumb')) el.classList.toggle('selected', el.dataset.index === String(i));
  const ids = state.runIds.filter((id) => state.preds[id]);
  if (!ids.length) return;
  if (!imageCache.has(i)) imageCache.set(i, (await call('testImages', { indices: [i], run: state.runIds[0] }))[0]);
  const labels = state.preds[ids[0]].labels;
  const K = state.preds[ids[0]].K;
  const box = $('#inspect');
  box.textContent = '';
  const head = document.createElement('div');
  head.className = 'head';
  const c = imageCanvas(imageCache.get(i));
  const txt = document.createElement('div');
  txt.innerHTML = `<div>test image #${i}</div><div>true class: <b>${state.classes[labels[i]]}</b></div>` +
    ids.map((id) => {
      const p = state.preds[id].pred[i];
      return `<div class="${p === labels[i] ? 'ok' : 'bad'}">${RUN_LABELS[id]}: ${state.classes[p]} (${(state.preds[id].probs[i * K + p] * 100).toFixed(1)}%)</div>`;
    }).join('');
  head.append(c, txt);
  const bars = document.createElement('div');
  box.append(head, bars);
  renderProbBars(bars, state.classes, ids.map((id) => ({ id, probs: state.preds[id].probs.subarray(i * K, (i + 1) * K) })), labels[i]);
  state.rendered.inspect = i;
}

// ---- own image upload --------------------------------------------------------------------------------

$('#image-input').addEventListener('change', async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  try {
    const bmp = await createImageBitmap(file);
    const scale = Math.min(1, 512 / Math.max(bmp.width, bmp.height));
    const w = Math.max(1, Math.round(bmp.width * scale)), h = Math.max(1, Math.round(bmp.height * scale));
    const work = document.createElement('canvas');
    work.width = w;
    work.height = h;
    const wctx = work.getContext('2d', { willReadFrequently: true });
    wctx.drawImage(bmp, 0, 0, w, h);
    const rgba = new Uint8Array(wctx.getImageData(0, 0, w, h).data.buffer);
    const prev = $('#upload-preview');
    const pctx = prev.getContext('2d');
    pctx.fillStyle = '#fff';
    pctx.fillRect(0, 0, prev.width, prev.height);
    const s = Math.min(prev.width / w, prev.height / h);
    pctx.drawImage(work, (prev.width - w * s) / 2, (prev.height - h * s) / 2, w * s, h * s);
    const out = await call('predict', { rgba, width: w, height: h });
    const runs = state.runIds.filter((id) => out[id]).map((id) => ({ id, probs: out[id] }));
    renderProbBars($('#upload-probs'), state.classes, runs, null);
    state.rendered.upload = { width: w, height: h, runs: Object.fromEntries(runs.map((r) => [r.id, Array.from(r.probs)])) };
  } catch (e) {
    setStatus(`Could not classify the image: ${e.message}`, 'error');
  } finally {
    ev.target.value = '';
  }
});

// ---- checkpoints ------------------------------------------------------------------------------------

for (const b of document.querySelectorAll('[data-save]')) {
  b.addEventListener('click', async () => {
    const id = b.dataset.save;
    try {
      const { bytes, epoch, config } = await call('save', { run: id });
      const blob = new Blob([bytes], { type: 'application/octet-stream' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `cskd-${id}-${config.model ?? 'model'}-w${config.width ?? ''}-e${epoch}.safetensors`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      setStatus(`Saved ${RUN_LABELS[id]} weights (${(bytes.byteLength / 1024).toFixed(0)} KiB).`);
    } catch (e) {
      setStatus(`Could not save: ${e.message}`, 'error');
    }
  });
}

for (const input of document.querySelectorAll('[data-load]')) {
  input.addEventListener('change', async () => {
    const id = input.dataset.load;
    const file = input.files[0];
    input.value = '';
    if (!file) return;
    const prev = state.status;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const { base } = readConfig();
      const source = state.runIds.includes(id) ? null : dataSource();
      if (!state.runIds.includes(id) && prev !== 'training' && prev !== 'paused') setPhase('starting');
      setStatus(`Loading ${file.name} into ${RUN_LABELS[id]}…`);
      const { info, metrics } = await call('load', { run: id, bytes, base, source }, [bytes.buffer]);
      if (state.runs[id]) state.runs[id].info = info;
      onFinal({ run: id, epoch: info.epoch, metrics });
      setPhase(prev === 'loading' || prev === 'starting' ? 'idle' : prev);
      setStatus(`Loaded ${file.name} into ${RUN_LABELS[id]} (epoch ${info.epoch}).`);
    } catch (e) {
      setPhase(prev === 'starting' ? 'idle' : prev);
      setStatus(`Could not load weights: ${e.message}`, 'error');
    }
  });
}

// ---- saved runs: auto-save status, resume after a reload, lost GPU device --------------------------------

const describeSave = (id, s) => `${RUN_LABELS[id] ?? id} ${s.stepInEpoch ? `at step ${s.stepInEpoch} of epoch ${s.epoch + 1}`
  : s.epoch ? `after epoch ${s.epoch}` : 'at the start'}`;

function onSaved(msg) {
  state.saved[msg.run] = { epoch: msg.epoch, stepInEpoch: msg.stepInEpoch, reason: msg.reason, stored: msg.stored, error: msg.error };
  const parts = Object.entries(state.saved).filter(([, s]) => s.stored).map(([id, s]) => describeSave(id, s));
  const failed = Object.entries(state.saved).filter(([, s]) => !s.stored);
  const el = $('#save-status');
  el.textContent = (parts.length ? `Auto-saved in this browser: ${parts.join(' · ')}.` : '') +
    (failed.length ? ` Could not save ${failed.map(([id]) => RUN_LABELS[id] ?? id).join(', ')} to this browser's storage (${failed[0][1].error}); a reload loses it.` : '');
  el.classList.toggle('error', failed.length > 0);
}

function onRecovered(msg) {
  state.recoveries.push({ reason: msg.reason, runs: msg.runs, text: msg.text });
  const el = $('#gpu-notice');
  el.hidden = false;
  el.textContent = msg.text;
  setStatus(msg.text);
}

/** Lists the saved runs and offers to resume them. Resolves to how many there are. */
async function refreshSaved() {
  let list = [];
  try {
    list = await store.listRuns();
  } catch (e) {
    $('#save-status').textContent = `This browser's storage is unavailable, so runs are not kept across reloads (${e.message}).`;
  }
  list.sort((a, b) => ['ce', 'cskd', 'ls'].indexOf(a.id) - ['ce', 'cskd', 'ls'].indexOf(b.id));
  state.savedRuns = list.map(({ id, epoch, stepInEpoch, stepsPerEpoch, epochs, reason, savedAt, createConfig, source }) =>
    ({ id, epoch, stepInEpoch, stepsPerEpoch, epochs, reason, savedAt, createConfig, source }));
  const ul = $('#saved-list');
  ul.textContent = '';
  for (const r of state.savedRuns) {
    const li = document.createElement('li');
    li.dataset.run = r.id;
    const c = r.createConfig;
    const where = r.epoch >= r.epochs && !r.stepInEpoch ? `finished (${r.epochs} epochs)`
      : `${r.epoch} of ${r.epochs} epochs done${r.stepInEpoch ? `, ${r.stepInEpoch} of ${r.stepsPerEpoch ?? '?'} steps into epoch ${r.epoch + 1}` : ''}`;
    const text = document.createElement('span');
    text.innerHTML = `<b>${RUN_LABELS[r.id] ?? r.id}</b> — ${where} · ${c.model ?? 'smallcnn'}, width ${c.width ?? 'default'}, ` +
      `batch ${c.batch ?? '?'} · data ${r.source.name}${r.source.kind === 'file' ? ' (local file)' : ''} · ` +
      `saved ${new Date(r.savedAt).toLocaleString()} (${r.reason === 'pause' ? 'on pause' : r.reason === 'epoch' ? 'after an epoch' : r.reason})`;
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = 'Resume';
    b.dataset.resume = r.id;
    b.addEventListener('click', () => resumeSaved([r.id]));
    li.append(text, b);
    ul.append(li);
  }
  $('#saved-runs').hidden = state.savedRuns.length === 0;
  setPhase(state.status);
  return state.savedRuns.length;
}

/** Shows the saved configuration in the form, so the page says what is being trained. */
function showConfig(config, ids) {
  for (const f of [...NUM_FIELDS, 'model', 'schedule']) if (config[f] !== undefined) $(`#${f}`).value = config[f];
  if (config.augment !== undefined) $('#augment').checked = config.augment;
  $('#method').value = ids.length > 1 ? 'both' : ids[0];
}

function resumeSaved(ids) {
  const first = state.savedRuns.find((r) => r.id === ids[0]);
  if (first) showConfig(first.createConfig, ids);
  state.error = null;
  state.saved = {};
  setRuns([]);
  setPhase('starting');
  setStatus(`Resuming ${ids.map((id) => RUN_LABELS[id] ?? id).join(' and ')}…`);
  $('#saved-runs').hidden = true;
  $('#gpu-notice').hidden = true;
  worker.postMessage({ type: 'resumeSaved', ids, file: $('#data-file').files[0] ?? null });
}

$('#resume-all').addEventListener('click', () => resumeSaved(state.savedRuns.map((r) => r.id)));
$('#discard-saved').addEventListener('click', async () => {
  try {
    await store.clearAll();
    setStatus('Discarded the saved runs.');
  } catch (e) {
    setStatus(`Could not discard the saved runs: ${e.message}`, 'error');
  }
  await refreshSaved();
});

// ---- worker ------------------------------------------------------------------------------------------

let worker = null;
let nextCall = 1;
const pending = new Map();
function call(op, args, transfer = []) {
  return new Promise((resolve, reject) => {
    if (!worker) { reject(new Error('the training worker is not running')); return; }
    const id = nextCall++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ type: 'call', id, op, args }, transfer);
  });
}

function showNoWebGPU(reason) {
  state.webgpu = false;
  state.reason = reason;
  state.ready = true;
  $('#no-webgpu').hidden = false;
  $('#no-webgpu-reason').textContent = reason;
  $('#adapter').textContent = 'unavailable';
  setPhase('unavailable');
  setStatus('WebGPU is unavailable, so training is disabled (see the note above).', 'error');
}

function onMessage(ev) {
  const msg = ev.data;
  switch (msg.type) {
    case 'init':
      if (!msg.webgpu) {
        if (msg.wasm === false) {
          state.webgpu = null;
          state.ready = true;
          state.error = msg.reason;
          $('#adapter').textContent = 'unknown';
          setPhase('error');
          $('#start').disabled = true;
          setStatus(msg.reason, 'error');
        } else showNoWebGPU(msg.reason);
        return;
      }
      state.webgpu = true;
      state.adapter = msg.adapter;
      state.ready = true;
      $('#adapter').textContent = `${msg.adapter.name || 'unnamed adapter'}${msg.adapter.backend ? ` (${msg.adapter.backend})` : ''}`;
      $('#adapter').title = `max buffer ${(msg.adapter.maxBufferSize / 2 ** 20).toFixed(0)} MiB, ${msg.adapter.maxComputeInvocationsPerWorkgroup} invocations/workgroup`;
      setPhase('idle');
      setStatus('Ready. Pick the settings and press Start.');
      refreshSaved().then((n) => {
        // Saved runs win over ?autostart=1: a reload must not replace the run it interrupted.
        if (n) setStatus(`Found ${n === 1 ? 'a saved run' : `${n} saved runs`} in this browser: resume below, or press Start for a new session.`);
        else if (query.autostart) start();
      });
      return;
    case 'status':
      setStatus(msg.text);
      return;
    case 'created':
      setRuns(msg.runs, { add: !!msg.add });
      if (!msg.add) setPhase('training');
      return;
    case 'saved':
      onSaved(msg);
      return;
    case 'recovered':
      onRecovered(msg);
      return;
    case 'progress':
      if (state.firstStepMs === null && msg.done > 0) state.firstStepMs = performance.now();
      onProgress(msg);
      return;
    case 'epoch':
      onEpoch(msg);
      return;
    case 'final':
      onFinal(msg);
      return;
    case 'views':
      onViews(msg);
      return;
    case 'done':
      setPhase(msg.stopped ? 'stopped' : 'done');
      setStatus(msg.stopped ? 'Stopped. The nets keep their weights: inspect, classify your own image or download them.'
        : 'Done. Inspect the views below, classify your own image, or download the weights.');
      return;
    case 'error':
      state.error = msg.message;
      setPhase('error');
      setStatus(`Error: ${msg.message}`, 'error');
      refreshSaved(); // a failed resume can be tried again (or the runs discarded)
      return;
    case 'reply': {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
      return;
    }
    default:
      console.warn('unknown worker message', msg);
  }
}

function start() {
  if ($('#start').disabled && state.status !== 'idle') return;
  let source;
  try {
    source = dataSource();
  } catch (e) {
    setStatus(e.message, 'error');
    return;
  }
  const { base, methods } = readConfig();
  state.error = null;
  state.saved = {};
  state.savedRuns = [];
  $('#saved-runs').hidden = true;
  $('#save-status').textContent = '';
  $('#gpu-notice').hidden = true;
  setRuns([]); // the worker frees the previous trainers before it creates new ones
  setPhase('starting');
  setStatus('Starting…');
  $('#progress').value = 0;
  $('#progress-text').textContent = '';
  worker.postMessage({ type: 'start', base, methods, source });
}

$('#start').addEventListener('click', start);
$('#pause').addEventListener('click', () => {
  if (state.status === 'training') { worker.postMessage({ type: 'pause' }); setPhase('paused'); }
  else if (state.status === 'paused') { worker.postMessage({ type: 'resume' }); setPhase('training'); }
});
$('#stop').addEventListener('click', () => {
  worker.postMessage({ type: 'stop' });
  setStatus('Stopping after the current step…');
  $('#stop').disabled = true;
  $('#pause').disabled = true;
});

// ---- responsiveness monitor (max gap between animation frames while training) ----------------------

let lastFrame = performance.now();
function frame(now) {
  if (state.status === 'training') {
    state.responsiveness.maxFrameGapMs = Math.max(state.responsiveness.maxFrameGapMs, now - lastFrame);
    state.responsiveness.frames++;
  }
  lastFrame = now;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
try {
  new PerformanceObserver((list) => { state.responsiveness.longTasks += list.getEntries().length; }).observe({ type: 'longtask', buffered: false });
} catch { /* longtask timing not supported */ }

// ---- boot ----------------------------------------------------------------------------------------------

const query = applyQuery();
$('#data-file-label').hidden = $('#data-source').value !== 'file';
setRuns([]);
setPhase('loading');

if (!('gpu' in navigator) || !navigator.gpu) {
  showNoWebGPU('navigator.gpu is not defined: this browser has WebGPU switched off or does not support it.');
} else {
  setStatus('Loading the WebAssembly module…');
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = onMessage;
  worker.onerror = (e) => {
    e.preventDefault?.();
    state.error = e.message || 'the training worker failed to start';
    setPhase('error');
    $('#start').disabled = true;
    setStatus(`Error in the training worker: ${state.error}`, 'error');
  };
  worker.postMessage({ type: 'init' });
}
