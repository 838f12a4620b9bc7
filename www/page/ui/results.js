// Results: per-step and per-epoch curves, the metrics table, reliability diagrams (raw and
// temperature-scaled), confusion matrices (ordered by superclass on CIFAR-100) and the feature maps
// (PCA at once, t-SNE on request). Every panel says what will appear there and when.
import { EpochChart, RUN_COLORS, RUN_LABELS } from '../charts.js';
import { drawConfusion, drawEmbedding, drawPlaceholder, drawReliability, renderLegend } from '../views.js';
import { $, state, pct, num } from './state.js';
import { superclassOrder } from './superclasses.js';

const charts = {
  steps: new EpochChart($('#chart-steps'), {
    title: 'Train loss per step', key: 'loss', xLabel: 'epoch', points: false,
    empty: 'The loss of every training step appears here from the first step on (a few seconds after Start).',
  }),
  loss: new EpochChart($('#chart-loss'), { title: 'Train loss per epoch', key: 'loss', empty: 'Each epoch\'s mean training loss: first point after epoch 1.' }),
  top1Error: new EpochChart($('#chart-error'), { title: 'Test top-1 error', key: 'top1Error', percent: true, empty: 'Test error: first point after epoch 1.' }),
  ece: new EpochChart($('#chart-ece'), { title: 'Test ECE (15 bins)', key: 'ece', percent: true, empty: 'Calibration error: first point after epoch 1.' }),
};

let stepTimer = null;
/** Redraws the step-loss chart at most every 250 ms (steps can arrive faster than frames). */
export function scheduleStepChart() {
  if (stepTimer) return;
  stepTimer = setTimeout(() => {
    stepTimer = null;
    const series = Object.fromEntries(state.runIds.map((id) => [id, state.runs[id].steps]));
    charts.steps.updatePoints(series);
    state.rendered.stepPoints = Math.max(0, ...state.runIds.map((id) => state.runs[id].steps.length));
  }, 250);
}

export function updateCharts() {
  const records = {};
  for (const id of state.runIds) records[id] = state.runs[id].epochs;
  for (const [k, c] of Object.entries(charts)) if (k !== 'steps') c.update(records);
  state.rendered.charts++;
}

export function updateTable() {
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
      num(last?.loss), pct(last?.top1Error), pct(last?.top5Error),
      last?.tsNll != null ? `${num(last.nll)} → ${num(last.tsNll)}` : num(last?.nll),
      last?.tsEce != null ? `${pct(last.ece, 2)} → ${pct(last.tsEce, 2)}` : pct(last?.ece, 2),
      pct(last?.recallAt1), pct(last?.superclassShare),
    ];
    for (const c of cells) tr.insertCell().innerHTML = c;
  }
  $('#metrics-empty').hidden = state.runIds.some((id) => state.runs[id].epochs.length || state.runs[id].final);
}

export function recordFrom(epoch, trainLoss, m) {
  return {
    epoch, loss: trainLoss, top1Error: m.top1Error, top5Error: m.top5Error, nll: m.nll, ece: m.ece,
    recallAt1: m.recallAt1 ?? null, superclassShare: m.superclassShare ?? null, count: m.count,
    tsEce: m.temperatureScaled?.ece ?? null, tsNll: m.temperatureScaled?.nll ?? null,
    temperature: m.temperatureScaled?.temperature ?? null,
  };
}

// ---- per-run figures -----------------------------------------------------------------------------

/** The figure of run `id` in container `box` (created on first use, kept in run order). */
function figure(box, prefix, id, w, h, caption) {
  let fig = box.querySelector(`figure[data-run="${id}"]`);
  if (!fig) {
    fig = document.createElement('figure');
    fig.dataset.run = id;
    const c = document.createElement('canvas');
    c.id = `${prefix}-${id}`;
    c.className = 'plot';
    c.width = w;
    c.height = h;
    const cap = document.createElement('figcaption');
    cap.style.color = RUN_COLORS[id];
    fig.append(c, cap);
    box.append(fig);
  }
  fig.querySelector('figcaption').textContent = caption ?? RUN_LABELS[id] ?? id;
  return fig.querySelector('canvas');
}

/** Rebuilds the per-run figures (with placeholders) for the current runs. */
export function resetPanels() {
  stopTsne();
  for (const sel of ['#reliability', '#embeddings', '#confusion']) $(sel).textContent = '';
  for (const c of Object.values(charts)) c.setRuns(state.runIds);
  for (const id of state.runIds) {
    const label = RUN_LABELS[id] ?? id;
    drawPlaceholder(figure($('#reliability'), 'reliability', id, 360, 300), `${label}: reliability diagram after epoch 1 (bars: raw predictions; line: after temperature scaling).`);
    drawPlaceholder(figure($('#embeddings'), 'embeddings', id, 360, 360), `${label}: 2-D map of the test features after epoch 1.`, 360, 360);
    drawPlaceholder(figure($('#confusion'), 'confusion', id, 360, 300), `${label}: confusion matrix after epoch 1.`);
  }
  const none = state.runIds.length === 0;
  for (const sel of ['#reliability-empty', '#embeddings-empty', '#confusion-empty']) $(sel).hidden = !none;
  $('#superclass-shares').textContent = '';
  renderLegend($('#class-legend'), state.classes);
  updateCharts();
  scheduleStepChart();
  updateTable();
}

export function showMetrics(id, epoch, metrics) {
  drawReliability(figure($('#reliability'), 'reliability', id, 360, 300), metrics, id, epoch);
  state.rendered.reliability[id] = epoch;
  if (metrics.confusion?.length) {
    const sc = superclassOrder(state.classes);
    drawConfusion(figure($('#confusion'), 'confusion', id, 360, 300), metrics.confusion, state.classes,
      `${RUN_LABELS[id] ?? id} · epoch ${epoch}${sc ? ' · by superclass' : ''}`, sc ?? {});
    state.rendered.confusion[id] = epoch;
  }
  renderShares();
}

/** Per run: how many of its errors stay inside the true superclass (CIFAR-100 only). */
function renderShares() {
  const el = $('#superclass-shares');
  const rows = state.runIds.map((id) => [id, state.runs[id].lastMetrics?.superclassShare]).filter(([, v]) => v != null);
  if (!rows.length) {
    el.textContent = state.classes.length === 100 ? ''
      : 'CIFAR-10 has no superclasses: load CIFAR-100 (Data → local file) to see how many wrong answers stay in the true superclass.';
    return;
  }
  // A uniformly random wrong class is in the true superclass 4 times out of 99.
  el.innerHTML = 'Errors inside the true superclass (closer wrong answers; chance 4%): ' + rows.map(([id, v]) =>
    `<b style="color:${RUN_COLORS[id]}">${RUN_LABELS[id] ?? id} ${pct(v)}</b>`).join(' · ');
}

// ---- feature maps: PCA (instant) and t-SNE (on request, in its own worker) ----------------------

let mapMode = 'pca';

export function showViews(id, epoch, pca, features) {
  state.features[id] = { epoch, ...features, labels: pca.labels.subarray(0, features.n) };
  state.runs[id].pca = { epoch, pca };
  if (mapMode === 'pca') drawPca(id);
  else queueTsne([id]);
}

function drawPca(id) {
  const v = state.runs[id]?.pca;
  if (!v) return;
  drawEmbedding(figure($('#embeddings'), 'embeddings', id, 360, 360), v.pca, state.classes, id, v.epoch);
  state.rendered.embeddings[id] = v.epoch;
}

// t-SNE runs one map at a time: a queue of runs whose newest features still need a map. New
// features for the run being mapped cancel that map and queue it again.
const tsneQueue = new Set();
let tsneCurrent = null; // { id, run } of the map being computed
let tsneBusy = false;

function queueTsne(ids) {
  for (const id of ids) tsneQueue.add(id);
  if (tsneCurrent && ids.includes(tsneCurrent.id)) tsneCurrent.run.cancel();
  pumpTsne();
}

function stopTsne() {
  tsneQueue.clear();
  tsneCurrent?.run.cancel();
}

/** Same perplexity, iterations, seed and colours for every run; each map is drawn as it forms. */
async function pumpTsne() {
  if (tsneBusy) return;
  tsneBusy = true;
  const say = (t) => { $('#tsne-status').textContent = t; };
  try {
    let mod;
    try {
      mod = await import('../tsne.js');
    } catch (e) {
      say(`t-SNE is not available in this build (${e.message}).`);
      tsneQueue.clear();
      return;
    }
    while (tsneQueue.size && mapMode === 'tsne') {
      const id = tsneQueue.values().next().value;
      tsneQueue.delete(id);
      const f = state.features[id];
      if (!f) continue;
      const label = RUN_LABELS[id] ?? id;
      const draw = (coords, done) => drawEmbedding(figure($('#embeddings'), 'embeddings', id, 360, 360),
        { coords, labels: f.labels, method: done ? 't-SNE' : 't-SNE (forming)' }, state.classes, id, f.epoch);
      say(`${label}: t-SNE of ${f.n} test images…`);
      const run = mod.runTsne(f.data, f.n, f.dim, {
        perplexity: Math.min(30, Math.max(2, Math.floor((f.n - 1) / 3))), iterations: 500, seed: 1,
        onProgress: (p) => {
          if (mapMode !== 'tsne' || tsneCurrent?.run !== run) return;
          say(`${label}: t-SNE iteration ${p.iteration} of ${p.iterations}`);
          if (p.embedding) draw(p.embedding, false);
        },
      });
      tsneCurrent = { id, run };
      let coords;
      try {
        coords = await run;
      } catch (e) {
        if (e?.name !== 'AbortError') say(`${label}: t-SNE failed: ${e.message ?? e}`);
        continue;
      } finally {
        tsneCurrent = null;
      }
      if (mapMode !== 'tsne') break;
      draw(coords, true);
      state.rendered.tsne[id] = f.epoch;
      say(`${label}: t-SNE done (${f.n} test images).`);
    }
  } finally {
    tsneBusy = false;
  }
}

export function watchMapToggle() {
  for (const el of document.querySelectorAll('input[name="map-mode"]')) {
    el.addEventListener('change', () => {
      mapMode = document.querySelector('input[name="map-mode"]:checked').value;
      if (mapMode === 'pca') { stopTsne(); $('#tsne-status').textContent = ''; state.runIds.forEach(drawPca); }
      else queueTsne(state.runIds.filter((id) => state.features[id]));
    });
  }
}
