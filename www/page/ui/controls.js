// Setup controls: the form fields, the runs to compare (each run = a config: method + mix + …),
// presets, URL query overrides, and defaults chosen from the adapter (software vs real GPU).
import { $, state } from './state.js';

const INT_FIELDS = ['perClass', 'testPerClass', 'width', 'batch', 'epochs', 'seed'];
const NUM_FIELDS = [...INT_FIELDS, 'temperature', 'lambda', 'smoothing', 'lr', 'momentum', 'weightDecay',
  'mixAlpha', 'pskdAlpha', 'kdLambda', 'kdTemperature', 'calibrationFraction'];
const SELECT_FIELDS = ['model', 'schedule'];
const RUN_FIELDS = ['methodA', 'mixA', 'methodB', 'mixB'];
const ALIASES = { T: 'temperature', t: 'temperature', lam: 'lambda', lambda_: 'lambda', wd: 'weightDecay', bs: 'batch' };
/** The trainer's defaults of the newer fields: a field at its default is not sent, so the configs
 *  (and checkpoints) of plain CE / LS / CS-KD runs stay exactly what they were. */
const OPTIONAL_DEFAULTS = { mixAlpha: 1, pskdAlpha: 0.8, kdLambda: 0, kdTemperature: 4, calibrationFraction: 0.1 };

export const METHOD_LABELS = { ce: 'Cross-entropy', cskd: 'CS-KD', ls: 'Label smoothing', pskd: 'PS-KD' };
const MIX_LABELS = { mixup: 'mixup', cutmix: 'CutMix' };

/** "CS-KD + mixup", "Cross-entropy + KD", … */
export function runLabel(config) {
  return [METHOD_LABELS[config.method] ?? config.method,
    config.mix && config.mix !== 'none' ? MIX_LABELS[config.mix] ?? config.mix : null,
    config.kdLambda > 0 ? 'KD' : null].filter(Boolean).join(' + ');
}

/** A run's id, made from its config so that saved runs, canvases and checkpoints keep plain names
 *  ("ce", "cskd", "cskd-mixup", "pskd", "ce-kd"). */
export function runIdOf(config) {
  return [config.method, config.mix && config.mix !== 'none' ? config.mix : null, config.kdLambda > 0 ? 'kd' : null]
    .filter(Boolean).join('-');
}

/** The presets, one list owned by the Rust crate (src/train/presets.json, also `cskd --preset`): the
 *  worker sends them, resolved to every field, with its INIT message. key → { label, note, fields, runs }. */
export const PRESETS = {};

/** Takes the worker's presets (the wasm API's `presets()`) and fills the menu. */
export function setPresets(list) {
  const sel = $('#preset');
  for (const p of list ?? []) {
    if (!PRESETS[p.key]) sel.add(new Option(p.label, p.key));
    PRESETS[p.key] = { label: p.label, note: p.note, fields: p.config, runs: p.runs };
  }
}

function setField(key, value) {
  const el = document.getElementById(key);
  if (!el) return false;
  if (el.type === 'checkbox') el.checked = value === true || !['0', 'false', 'no', 'off'].includes(String(value).toLowerCase());
  else if (el.tagName === 'SELECT') {
    if (![...el.options].some((o) => o.value === String(value))) return false;
    el.value = String(value);
  } else el.value = String(value);
  return true;
}

export function applyPreset(key) {
  const p = PRESETS[key];
  if (!p) return false;
  // The config's per-run fields (method, mix, nesterov) have no control of their own: the runs set them.
  for (const [k, v] of Object.entries(p.fields)) setField(k, v);
  const [a, b] = p.runs;
  setField('methodA', a.method); setField('mixA', a.mix ?? 'none');
  setField('methodB', b ? b.method : 'off'); setField('mixB', b?.mix ?? 'none');
  $('#preset').value = key;
  $('#preset-note').textContent = p.note;
  state.preset = key;
  updateFieldVisibility();
  return true;
}

/** URL query: ?field=value for any control (aliases T, lam, wd, bs), method=both|ce|cskd|ls|pskd,
 *  preset=<a key of PRESETS>, autostart=1, data=URL. Returns whether it set any field. */
export function applyQuery(q) {
  let any = false;
  if (q.get('preset')) any = applyPreset(q.get('preset')) || any;
  for (const [rawKey, value] of q) {
    const key = ALIASES[rawKey] ?? rawKey;
    if (['preset', 'autostart', 'data'].includes(key)) continue;
    if (key === 'method') {
      const both = value === 'both';
      setField('methodA', both ? 'ce' : value);
      setField('methodB', both ? 'cskd' : 'off');
      any = true;
    } else any = setField(key, value) || any;
  }
  if (any) markCustom();
  updateFieldVisibility();
  return any;
}

function markCustom() {
  state.preset = null;
  $('#preset').value = '';
  $('#preset-note').textContent = '';
}

/** The runs to train: [{ id, label, config }] (config as Trainer.create takes it). */
export function readRuns() {
  const base = {};
  for (const f of NUM_FIELDS) {
    const el = document.getElementById(f);
    const v = el ? parseFloat(el.value) : NaN;
    if (!Number.isFinite(v)) continue;
    if (f in OPTIONAL_DEFAULTS && v === OPTIONAL_DEFAULTS[f]) continue;
    base[f] = INT_FIELDS.includes(f) ? Math.round(v) : v;
  }
  for (const f of SELECT_FIELDS) base[f] = $(`#${f}`).value;
  base.augment = $('#augment').checked;
  // Sent only when not the default, so f32 runs keep exactly the configs they had.
  if ($('#precision').value !== 'f32') base.precision = $('#precision').value;
  const picks = [[$('#methodA').value, $('#mixA').value], [$('#methodB').value, $('#mixB').value]].filter(([m]) => m !== 'off');
  const out = [];
  for (const [method, mix] of picks) {
    const config = { ...base, method };
    if (mix !== 'none') config.mix = mix;
    // PS-KD trains with its official recipe's Nesterov momentum (docs/METHODS.md); the others
    // with plain momentum, as the CS-KD paper. Weight decay is the form's (5e-4 in every preset).
    if (method === 'pskd') config.nesterov = true;
    let id = runIdOf(config);
    if (out.some((r) => r.id === id)) id += '-2';
    out.push({ id, label: runLabel(config), config });
  }
  return out;
}

/** Shows a saved configuration in the form, so the page says what is being trained. */
export function showConfig(configs) {
  const [a, b] = configs;
  for (const f of [...NUM_FIELDS, ...SELECT_FIELDS]) if (a[f] !== undefined) setField(f, a[f]);
  for (const [f, v] of Object.entries(OPTIONAL_DEFAULTS)) if (a[f] === undefined) setField(f, v);
  if (a.augment !== undefined) $('#augment').checked = a.augment;
  setField('precision', a.precision ?? 'f32');
  setField('methodA', a.method ?? 'cskd'); setField('mixA', a.mix ?? 'none');
  setField('methodB', b ? b.method ?? 'cskd' : 'off'); setField('mixB', b?.mix ?? 'none');
  markCustom();
  updateFieldVisibility();
}

/** Hyper-parameters only matter for some methods: dim the others. */
export function updateFieldVisibility() {
  const picks = [$('#methodA').value, $('#methodB').value];
  const mixes = [$('#mixA').value, $('#methodB').value === 'off' ? 'none' : $('#mixB').value];
  const uses = {
    temperature: picks.includes('cskd'), lambda: picks.includes('cskd'), smoothing: picks.includes('ls'),
    pskdAlpha: picks.includes('pskd'), mixAlpha: mixes.some((m) => m !== 'none'),
  };
  for (const [f, on] of Object.entries(uses)) document.getElementById(f)?.closest('label')?.classList.toggle('unused', !on);
  $('#mixB').disabled = $('#methodB').value === 'off' || state.status === 'training';
}

export function watchControls() {
  $('#preset').addEventListener('change', () => {
    if ($('#preset').value) applyPreset($('#preset').value);
    else markCustom();
  });
  for (const el of document.querySelectorAll('#config input, #config select')) {
    if (el.id === 'preset' || el.id === 'data-source' || el.id === 'data-file' || el.id === 'teacher') continue;
    el.addEventListener('change', () => { markCustom(); updateFieldVisibility(); });
  }
  $('#data-source').addEventListener('change', () => {
    $('#data-file-label').hidden = $('#data-source').value !== 'file';
  });
  $('#data-file-label').hidden = $('#data-source').value !== 'file';
}

/** Whether an adapter is a CPU rasteriser (SwiftShader in Chrome, llvmpipe / lavapipe in Mesa, WARP). */
export function isSoftwareAdapter(a) {
  if (!a) return false;
  return String(a.deviceType).toLowerCase() === 'cpu' || /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i.test(`${a.name} ${a.driver} ${a.backend}`);
}

/** Images per second of the software preset's runs measured in Chromium on SwiftShader (2 CPU cores), for the notice. */
export const SOFTWARE_IMAGES_PER_SEC = '20–60';

/** Picks the default preset for the adapter and says what to expect; query fields still win. */
export function adapterDefaults(adapter, query) {
  const software = isSoftwareAdapter(adapter);
  state.software = software;
  const note = $('#adapter-note');
  note.hidden = false;
  if (software) {
    note.textContent = `This browser gives WebGPU no GPU here: "${adapter.name || adapter.driver || 'the adapter'}" is software rendering on the CPU, `
      + `so training runs at roughly ${SOFTWARE_IMAGES_PER_SEC} images/s. The default is the preset made for it: cross-entropy and CS-KD on 10 images per class, `
      + 'where CS-KD\'s lower ECE and NLL show within about 7 minutes; the paper\'s regime would take about 6 hours here, the quick look only seconds.';
  } else {
    note.textContent = `A real GPU (${adapter.name || adapter.backend || 'WebGPU'}): the default is the paper's regime, `
      + 'where cross-entropy over-fits 100 images per class and CS-KD\'s effect shows.';
  }
  note.classList.toggle('warn', software);
  // Mixed precision needs f16 shaders.
  const f16 = (adapter.features ?? []).includes('SHADER_F16');
  $('#precision option[value="mixed"]').disabled = !f16;
  if (!f16) setField('precision', 'f32');
  if (!query.has('preset')) applyPreset(software ? 'software' : 'paper');
  applyQuery(query);
}

/** Offers KD (a teacher checkpoint) only when the loaded module supports it. */
export function enableKd(supported) {
  const box = $('#kd-fields');
  box.hidden = !supported;
  if (!supported) setField('kdLambda', 0);
}
