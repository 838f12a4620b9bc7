// Page entry: boots the training worker, routes its messages (../shared/protocol.js; request/reply
// through ../shared/rpc.js) to the views, and runs Start / Pause / Stop. Controls live in
// ui/controls.js, results in ui/results.js, the gallery in ui/gallery.js, checkpoints and saved runs in
// ui/checkpoints.js. All training happens in ../worker/trainer.js.
import { RUN_LABELS, registerRun } from './charts.js';
import { TO_WORKER, FROM_WORKER } from '../shared/protocol.js';
import { rpcClient } from '../shared/rpc.js';
import { $, state, setStatus, emptyRendered } from './ui/state.js';
import {
  adapterDefaults, applyQuery, enableKd, setPresets, readRuns, runLabel, updateFieldVisibility, watchControls,
} from './ui/controls.js';
import {
  recordFrom, resetPanels, scheduleStepChart, showMetrics, showViews, updateCharts, updateTable, watchMapToggle,
} from './ui/results.js';
import { clearGallery, initGallery, setPredictions, updateGalleryFilters } from './ui/gallery.js';
import { clearVerdict, showVerdict } from './ui/verdict.js';
import { initCheckpoints, onRecovered, onSaved, refreshSaved, renderCheckpointRows } from './ui/checkpoints.js';

const DEFAULT_DATA_URL = 'assets/cifar10-demo.tar.gz';
const query = new URLSearchParams(location.search);
const autostart = ['1', 'true', 'yes'].includes((query.get('autostart') ?? '').toLowerCase());
const dataUrl = query.get('data') || DEFAULT_DATA_URL;

let worker = null;
const rpc = rpcClient((msg, transfer) => {
  if (!worker) throw new Error('the training worker is not running');
  worker.postMessage(msg, transfer);
});
const { call } = rpc;
const send = (msg, transfer) => worker.postMessage(msg, transfer);
state.destroyDeviceForTesting = () => worker?.postMessage({ type: TO_WORKER.DESTROY_DEVICE });
state.plannedRuns = () => readRuns();

function dataSource() {
  if ($('#data-source').value === 'file') {
    const file = $('#data-file').files[0];
    if (!file) throw new Error('Choose a CIFAR-10/100 .tar.gz or .bin file first.');
    return { kind: 'file', file };
  }
  return { kind: 'url', url: dataUrl, name: dataUrl.split('/').pop() };
}

// ---- phase, progress ----------------------------------------------------------------------------

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
  for (const i of document.querySelectorAll('[data-load]')) i.disabled = !usable || phase === 'starting';
  $('#load-new').disabled = !usable || running;
  $('#image-input').disabled = !usable || state.runIds.length === 0 || phase === 'starting';
  for (const b of document.querySelectorAll('#saved-runs button')) b.disabled = !usable || running;
  document.body.dataset.phase = phase;
  if (!running) updateFieldVisibility();
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
  const epochText = ep.length && cfgEpochs ? `epoch ${Math.min(Math.min(...ep) + 1, cfgEpochs)}/${cfgEpochs} · ` : '';
  $('#progress-text').textContent = `${epochText}${msg.done}/${msg.total} steps · ${ips || '–'} · ETA ${fmtTime(p.etaSeconds)}`;
}

// ---- runs ---------------------------------------------------------------------------------------

function setRuns(infos, { add = false } = {}) {
  if (!add) {
    clearVerdict();
    state.runIds = [];
    state.runs = {};
    state.preds = {};
    state.features = {};
    state.selected = null;
    state.rendered = emptyRendered();
    progressBase = null;
    clearGallery();
  }
  for (const info of infos) {
    if (!state.runIds.includes(info.id)) state.runIds.push(info.id);
    if (!RUN_LABELS[info.id]) registerRun(info.id, runLabel(info.config), state.runIds.indexOf(info.id));
    const old = state.runs[info.id];
    state.runs[info.id] = { info, epochs: old?.epochs ?? [], steps: old?.steps ?? [], final: null, lastMetrics: old?.lastMetrics ?? null };
  }
  state.classes = infos[0]?.classes ?? state.classes;
  resetPanels();
  renderCheckpointRows();
  updateGalleryFilters();
  setPhase(state.status);
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
  run.lastMetrics = msg.metrics;
  updateTable();
  showMetrics(msg.run, msg.epoch, msg.metrics);
}

function onSteps(msg) {
  const run = state.runs[msg.run];
  if (!run) return;
  run.steps.push(...msg.points);
  scheduleStepChart();
}

function onViews(msg) {
  if (!state.runs[msg.run]) return;
  showViews(msg.run, msg.epoch, msg.pca, msg.features);
  setPredictions(msg.run, msg.epoch, msg.predictions);
}

// ---- worker messages ----------------------------------------------------------------------------

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

function onInit(msg) {
  setPresets(msg.presets);
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
  $('#adapter').textContent = `${msg.adapter.name || 'unnamed adapter'}${msg.adapter.backend ? ` (${msg.adapter.backend})` : ''}${msg.adapter.kernels ? `, ${msg.adapter.kernels} kernels` : ''}`;
  $('#adapter').title = `max buffer ${(msg.adapter.maxBufferSize / 2 ** 20).toFixed(0)} MiB, ${msg.adapter.maxComputeInvocationsPerWorkgroup} invocations/workgroup`;
  enableKd(msg.kd === true);
  adapterDefaults(msg.adapter, query);
  state.ready = true;
  setPhase('idle');
  setStatus('Ready. Pick a preset (or the settings) and press Start.');
  refreshSaved().then((n) => {
    // Saved runs win over ?autostart=1: a reload must not replace the run it interrupted.
    if (n) setStatus(`Found ${n === 1 ? 'a saved run' : `${n} saved runs`} in this browser: resume below, or press Start for a new session.`);
    else if (autostart) start();
  });
}

function onMessage(ev) {
  const msg = ev.data;
  switch (msg.type) {
    case FROM_WORKER.INIT: return onInit(msg);
    case FROM_WORKER.STATUS: return setStatus(msg.text);
    case FROM_WORKER.CREATED:
      setRuns(msg.runs, { add: !!msg.add });
      if (!msg.add) setPhase('training');
      return;
    case FROM_WORKER.SAVED: return onSaved(msg);
    case FROM_WORKER.RECOVERED: return onRecovered(msg);
    case FROM_WORKER.PROGRESS:
      if (state.firstStepMs === null && msg.done > 0) state.firstStepMs = performance.now();
      return onProgress(msg);
    case FROM_WORKER.STEPS: return onSteps(msg);
    case FROM_WORKER.EPOCH: return onEpoch(msg);
    case FROM_WORKER.FINAL: return onFinal(msg);
    case FROM_WORKER.VIEWS: return onViews(msg);
    case FROM_WORKER.DONE:
      if (!msg.stopped) showVerdict();
      setPhase(msg.stopped ? 'stopped' : 'done');
      setStatus(msg.stopped ? 'Stopped. The nets keep their weights: inspect, classify your own image or download them.'
        : 'Done. Inspect the views below, classify your own image, or download the weights.');
      return;
    case FROM_WORKER.ERROR:
      state.error = msg.message;
      setPhase('error');
      setStatus(`Error: ${msg.message}`, 'error');
      refreshSaved(); // a failed resume can be tried again (or the runs discarded)
      return;
    case FROM_WORKER.REPLY: return rpc.onMessage(msg);
    default:
      console.warn('unknown worker message', msg);
  }
}

// ---- start / pause / stop -----------------------------------------------------------------------

async function start() {
  if ($('#start').disabled && state.status !== 'idle') return;
  let source, teacher = null;
  try {
    source = dataSource();
    const runs = readRuns();
    if (runs.some((r) => r.config.kdLambda > 0)) {
      const f = $('#teacher').files[0];
      if (!f) throw new Error('KD needs a teacher: choose a cskd checkpoint (.safetensors) under "Distil from a teacher", or set its weight to 0.');
      teacher = new Uint8Array(await f.arrayBuffer());
    }
    runs.forEach((r, k) => registerRun(r.id, r.label, k));
    state.error = null;
    state.saved = {};
    state.savedRuns = [];
    $('#saved-runs').hidden = true;
    $('#save-status').textContent = '';
    $('#gpu-notice').hidden = true;
    setRuns([]);
    setPhase('starting');
    setStatus('Starting…');
    $('#progress').value = 0;
    $('#progress-text').textContent = '';
    send({ type: TO_WORKER.START, runs: runs.map(({ id, config }) => ({ id, config })), source, teacher });
  } catch (e) {
    setStatus(e.message, 'error');
  }
}

$('#start').addEventListener('click', start);
$('#pause').addEventListener('click', () => {
  if (state.status === 'training') { send({ type: TO_WORKER.PAUSE }); setPhase('paused'); }
  else if (state.status === 'paused') { send({ type: TO_WORKER.RESUME }); setPhase('training'); }
});
$('#stop').addEventListener('click', () => {
  send({ type: TO_WORKER.STOP });
  setStatus('Stopping after the current step…');
  $('#stop').disabled = true;
  $('#pause').disabled = true;
});

// ---- responsiveness monitor (max gap between animation frames while training) ------------------

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

// ---- boot ---------------------------------------------------------------------------------------

watchControls();
watchMapToggle();
initGallery(call);
initCheckpoints({
  call, setPhase, onFinal, dataSource,
  setRuns: (infos) => setRuns(infos),
  resumeSaved: (ids, file) => send({ type: TO_WORKER.RESUME_SAVED, ids, file }),
});
applyQuery(query);
setRuns([]);
setPhase('loading');

if (!('gpu' in navigator) || !navigator.gpu) {
  showNoWebGPU('navigator.gpu is not defined: this browser has WebGPU switched off or does not support it.');
} else {
  setStatus('Loading the WebAssembly module…');
  worker = new Worker(new URL('../worker/trainer.js', import.meta.url), { type: 'module' });
  worker.onmessage = onMessage;
  worker.onerror = (e) => {
    e.preventDefault?.();
    state.error = e.message || 'the training worker failed to start';
    rpc.fail(new Error(`the training worker failed: ${state.error}`));
    setPhase('error');
    $('#start').disabled = true;
    setStatus(`Error in the training worker: ${state.error}`, 'error');
  };
  worker.postMessage({ type: TO_WORKER.INIT, kernels: query.get('kernels'), base: location.href });
}
