// Test-image gallery (filtered by which runs get an image wrong), per-image class probabilities of
// every run, and classifying an image the user uploads.
import { RUN_LABELS } from '../charts.js';
import { argmax, imageCanvas, renderProbBars } from '../views.js';
import { $, state, setStatus } from './state.js';

const GALLERY_MAX = 96;
let call = null; // the worker RPC (set by initGallery)

export function initGallery(rpc) {
  call = rpc;
  $('#gallery-filter').addEventListener('change', scheduleGallery);
  $('#image-input').addEventListener('change', onUpload);
}

/** Filter options name the runs being compared (run A and run B). */
export function updateGalleryFilters() {
  const [a, b] = state.runIds;
  const sel = $('#gallery-filter');
  const keep = sel.value;
  sel.textContent = '';
  sel.add(new Option('misclassified by any run', 'any'));
  if (b) {
    sel.add(new Option(`wrong with ${RUN_LABELS[a]}, right with ${RUN_LABELS[b]}`, 'a-only'));
    sel.add(new Option(`wrong with ${RUN_LABELS[b]}, right with ${RUN_LABELS[a]}`, 'b-only'));
  }
  sel.add(new Option('all', 'all'));
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : 'any';
}

export function clearGallery() {
  imageCache.clear();
  $('#gallery').textContent = '';
  $('#gallery-count').textContent = '';
  $('#gallery-empty').hidden = false;
  $('#inspect').innerHTML = '<p class="hint">Click an image to compare the class probabilities of the runs.</p>';
  $('#upload-probs').textContent = '';
}

/** Predictions of run `id` on the test set arrived: keep them and refresh the gallery. */
export function setPredictions(id, epoch, predictions) {
  const K = predictions.classes, n = predictions.labels.length;
  const pred = new Uint32Array(n);
  for (let i = 0; i < n; i++) pred[i] = argmax(predictions.probs, i * K, K);
  state.preds[id] = { epoch, K, probs: predictions.probs, labels: predictions.labels, pred };
  scheduleGallery();
  if (state.selected != null) inspect(state.selected);
}

const imageCache = new Map(); // test index → RGBA Uint8Array
let galleryTimer = null;
function scheduleGallery() {
  clearTimeout(galleryTimer);
  galleryTimer = setTimeout(() => renderGallery().catch((e) => setStatus(`Gallery: ${e.message}`, 'error')), 50);
}

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
    else if (filter === 'a-only') keep = ids.length > 1 && wrong(ids[0], i) && !wrong(ids[1], i);
    else if (filter === 'b-only') keep = ids.length > 1 && wrong(ids[1], i) && !wrong(ids[0], i);
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
      s.textContent = `${state.runIds.indexOf(id) === 0 ? 'A' : 'B'}: ${classes[p] ?? p}`;
      el.append(s);
    }
    el.title = `test image #${i}`;
    el.addEventListener('click', () => inspect(i));
    el.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); inspect(i); } });
    g.append(el);
  }
  $('#gallery-count').textContent = list.length ? `showing ${list.length} of ${total}` : (ids.length ? 'no images match' : '');
  state.rendered.gallery = list.length;
  $('#gallery-empty').hidden = ids.length > 0;
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

async function onUpload(ev) {
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
}
