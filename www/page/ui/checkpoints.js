// Checkpoints: download / load each run's weights (safetensors), and the runs auto-saved in this
// browser (listed after a reload, resumed exactly where they stopped).
import { RUN_COLORS, RUN_LABELS, registerRun } from '../charts.js';
import { $, state, setStatus } from './state.js';
import { readRuns, runLabel, showConfig } from './controls.js';
import * as store from '../../shared/store.js';

let app = null; // { call, send, setRuns, setPhase, onFinal, dataSource }

export function initCheckpoints(hooks) {
  app = hooks;
  $('#load-new').addEventListener('change', () => loadInto($('#load-new'), null));
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
}

/** A download button and a load input for every run. */
export function renderCheckpointRows() {
  const box = $('#ckpt-list');
  box.textContent = '';
  for (const id of state.runIds) {
    const div = document.createElement('div');
    div.className = 'ckpt';
    div.dataset.run = id;
    div.innerHTML = `<h3 style="color:${RUN_COLORS[id]}"></h3>
      <button type="button" id="save-${id}" data-save="${id}">Download weights</button>
      <label class="button">Load weights… <input type="file" id="load-${id}" data-load="${id}" accept=".safetensors,application/octet-stream"></label>`;
    div.querySelector('h3').textContent = RUN_LABELS[id] ?? id;
    div.querySelector('[data-save]').addEventListener('click', () => download(id));
    const input = div.querySelector('[data-load]');
    input.addEventListener('change', () => loadInto(input, id));
    box.append(div);
  }
  $('#ckpt-empty').hidden = state.runIds.length > 0;
}

async function download(id) {
  try {
    const { bytes, epoch, config } = await app.call('save', { run: id });
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
}

/** Loads a checkpoint into run `id`, or (id null) into a new run made from run A of the setup. */
async function loadInto(input, id) {
  const file = input.files[0];
  input.value = '';
  if (!file) return;
  const prev = state.status;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let config = null, source = null;
    if (!id || !state.runIds.includes(id)) {
      const first = readRuns()[0];
      id = first.id;
      config = first.config;
      registerRun(id, runLabel(config), state.runIds.length);
      source = state.runIds.includes(id) ? null : app.dataSource();
    }
    if (!state.runIds.includes(id) && prev !== 'training' && prev !== 'paused') app.setPhase('starting');
    setStatus(`Loading ${file.name} into ${RUN_LABELS[id]}…`);
    const { info, metrics } = await app.call('load', { run: id, bytes, config, source }, [bytes.buffer]);
    if (state.runs[id]) state.runs[id].info = info;
    app.onFinal({ run: id, epoch: info.epoch, metrics });
    app.setPhase(prev === 'loading' || prev === 'starting' ? 'idle' : prev);
    setStatus(`Loaded ${file.name} into ${RUN_LABELS[id]} (epoch ${info.epoch}).`);
  } catch (e) {
    app.setPhase(prev === 'starting' ? 'idle' : prev);
    setStatus(`Could not load weights: ${e.message}`, 'error');
  }
}

// ---- auto-saved runs -------------------------------------------------------------------------------

const describeSave = (id, s) => `${RUN_LABELS[id] ?? id} ${s.stepInEpoch ? `at step ${s.stepInEpoch} of epoch ${s.epoch + 1}`
  : s.epoch ? `after epoch ${s.epoch}` : 'at the start'}`;

export function onSaved(msg) {
  state.saved[msg.run] = { epoch: msg.epoch, stepInEpoch: msg.stepInEpoch, reason: msg.reason, stored: msg.stored, error: msg.error };
  const parts = Object.entries(state.saved).filter(([, s]) => s.stored).map(([id, s]) => describeSave(id, s));
  const failed = Object.entries(state.saved).filter(([, s]) => !s.stored);
  const el = $('#save-status');
  el.textContent = (parts.length ? `Auto-saved in this browser: ${parts.join(' · ')}.` : '') +
    (failed.length ? ` Could not save ${failed.map(([id]) => RUN_LABELS[id] ?? id).join(', ')} to this browser's storage (${failed[0][1].error}); a reload loses it.` : '');
  el.classList.toggle('error', failed.length > 0);
}

export function onRecovered(msg) {
  state.recoveries.push({ reason: msg.reason, runs: msg.runs, text: msg.text });
  const el = $('#gpu-notice');
  el.hidden = false;
  el.textContent = msg.text;
  setStatus(msg.text);
}

/** Lists the saved runs and offers to resume them. Resolves to how many there are. */
export async function refreshSaved() {
  let list = [];
  try {
    list = await store.listRuns();
  } catch (e) {
    $('#save-status').textContent = `This browser's storage is unavailable, so runs are not kept across reloads (${e.message}).`;
  }
  list.sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0) || a.id.localeCompare(b.id));
  state.savedRuns = list.map(({ id, slot, epoch, stepInEpoch, stepsPerEpoch, epochs, reason, savedAt, createConfig, source }) =>
    ({ id, slot, epoch, stepInEpoch, stepsPerEpoch, epochs, reason, savedAt, createConfig, source }));
  const ul = $('#saved-list');
  ul.textContent = '';
  for (const r of state.savedRuns) {
    const li = document.createElement('li');
    li.dataset.run = r.id;
    const c = r.createConfig;
    const where = r.epoch >= r.epochs && !r.stepInEpoch ? `finished (${r.epochs} epochs)`
      : `${r.epoch} of ${r.epochs} epochs done${r.stepInEpoch ? `, ${r.stepInEpoch} of ${r.stepsPerEpoch ?? '?'} steps into epoch ${r.epoch + 1}` : ''}`;
    const text = document.createElement('span');
    text.innerHTML = `<b>${runLabel(c)}</b> — ${where} · ${c.model ?? 'smallcnn'}, width ${c.width ?? 'default'}, ` +
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
  app.setPhase(state.status);
  return state.savedRuns.length;
}

function resumeSaved(ids) {
  const picked = ids.map((id) => state.savedRuns.find((r) => r.id === id)).filter(Boolean);
  if (picked.length) showConfig(picked.map((r) => r.createConfig));
  picked.forEach((r, k) => registerRun(r.id, runLabel(r.createConfig), k));
  state.error = null;
  state.saved = {};
  app.setRuns([]);
  app.setPhase('starting');
  setStatus(`Resuming ${ids.map((id) => RUN_LABELS[id] ?? id).join(' and ')}…`);
  $('#saved-runs').hidden = true;
  $('#gpu-notice').hidden = true;
  app.resumeSaved(ids, $('#data-file').files[0] ?? null);
}
