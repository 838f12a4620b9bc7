// Canvas and DOM views: reliability diagrams, confusion matrices, embedding maps, probability bars.
import { RUN_COLORS, RUN_LABELS } from './charts.js';

const TABLEAU10 = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** Colour of class k out of K (Tableau 10 for K ≤ 10, evenly spaced hues otherwise). */
export function classColor(k, K) {
  if (K <= 10) return TABLEAU10[k % 10];
  return `hsl(${Math.round((k * 360) / K)}, 65%, ${k % 2 ? 42 : 55}%)`;
}

/** Prepare a canvas for drawing at its CSS size × devicePixelRatio; returns [ctx, width, height] in CSS px. */
function setup(canvas, cssW, cssH) {
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, cssW, cssH);
  ctx.font = '12px system-ui, sans-serif';
  return ctx;
}

function axes(ctx, x0, y0, w, h, xLabel, yLabel) {
  ctx.strokeStyle = '#9aa4b1';
  ctx.lineWidth = 1;
  ctx.strokeRect(x0 + 0.5, y0 + 0.5, w, h);
  ctx.fillStyle = '#5f6b7a';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let t = 0; t <= 1.0001; t += 0.25) {
    ctx.fillText(t.toFixed(2).replace(/0$/, ''), x0 + t * w, y0 + h + 4);
  }
  ctx.fillText(xLabel, x0 + w / 2, y0 + h + 18);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let t = 0; t <= 1.0001; t += 0.25) ctx.fillText(t.toFixed(2).replace(/0$/, ''), x0 - 4, y0 + h - t * h);
  ctx.save();
  ctx.translate(12, y0 + h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(yLabel, 0, 0);
  ctx.restore();
}

/** Reliability diagram from Metrics.reliability (equal-width confidence bins): bars for the raw
 *  predictions and, when the run fitted a temperature (metrics.temperatureScaled), a line for the
 *  temperature-scaled ones, with ECE and NLL before → after. */
export function drawReliability(canvas, metrics, runId, epoch) {
  const W = 360, H = 300;
  const ctx = setup(canvas, W, H);
  const { binConfidence = [], binAccuracy = [], binCount = [] } = metrics.reliability ?? {};
  const B = binCount.length || 15;
  const x0 = 46, y0 = 40, w = W - x0 - 14, h = H - y0 - 46;
  const total = binCount.reduce((a, b) => a + b, 0) || 1;
  const color = RUN_COLORS[runId] ?? '#555';
  for (let b = 0; b < B; b++) {
    const n = binCount[b] ?? 0;
    const bx = x0 + (b / B) * w, bw = w / B;
    // share of samples in the bin, as a faint band at the bottom
    ctx.fillStyle = '#e8ecf1';
    const share = n / total;
    ctx.fillRect(bx + 1, y0 + h - share * h * 0.25, bw - 2, share * h * 0.25);
    if (!n) continue;
    const acc = binAccuracy[b] ?? 0, conf = binConfidence[b] ?? (b + 0.5) / B;
    ctx.fillStyle = color;
    ctx.globalAlpha = 0.85;
    ctx.fillRect(bx + 1, y0 + h - acc * h, bw - 2, acc * h);
    ctx.globalAlpha = 1;
    // gap between accuracy and mean confidence
    ctx.fillStyle = 'rgba(198, 47, 47, 0.35)';
    const top = Math.max(acc, conf), bot = Math.min(acc, conf);
    ctx.fillRect(bx + 1, y0 + h - top * h, bw - 2, (top - bot) * h);
  }
  ctx.strokeStyle = '#333';
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(x0, y0 + h);
  ctx.lineTo(x0 + w, y0);
  ctx.stroke();
  ctx.setLineDash([]);
  const ts = metrics.temperatureScaled;
  if (ts?.reliability) {
    // accuracy against mean confidence of the non-empty bins after dividing the logits by T
    const r = ts.reliability;
    ctx.strokeStyle = '#1d2330';
    ctx.fillStyle = '#1d2330';
    ctx.lineWidth = 2;
    ctx.beginPath();
    let first = true;
    for (let b = 0; b < r.binCount.length; b++) {
      if (!r.binCount[b]) continue;
      const x = x0 + r.binConfidence[b] * w, y = y0 + h - r.binAccuracy[b] * h;
      if (first) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      first = false;
    }
    ctx.stroke();
    for (let b = 0; b < r.binCount.length; b++) {
      if (!r.binCount[b]) continue;
      ctx.beginPath();
      ctx.arc(x0 + r.binConfidence[b] * w, y0 + h - r.binAccuracy[b] * h, 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.lineWidth = 1;
  }
  axes(ctx, x0, y0, w, h, 'confidence', 'accuracy');
  ctx.fillStyle = '#1d2330';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.font = '600 13px system-ui, sans-serif';
  ctx.fillText(`${RUN_LABELS[runId] ?? runId} · epoch ${epoch}`, 4, 4);
  ctx.font = '12px system-ui, sans-serif';
  const pct = (v) => `${(v * 100).toFixed(2)}%`;
  ctx.fillText(ts ? `ECE ${pct(metrics.ece)} → ${pct(ts.ece)} · NLL ${metrics.nll.toFixed(3)} → ${ts.nll.toFixed(3)} (T = ${ts.temperature.toFixed(2)})`
    : `ECE ${pct(metrics.ece)} · NLL ${metrics.nll.toFixed(3)} (no temperature fitted)`, 4, 21);
}

/** A blank plot that says what will appear there and when. */
export function drawPlaceholder(canvas, text, W = 360, H = 300) {
  const ctx = setup(canvas, W, H);
  ctx.strokeStyle = '#d5dbe3';
  ctx.setLineDash([5, 4]);
  ctx.strokeRect(0.5, 0.5, W - 1, H - 1);
  ctx.setLineDash([]);
  ctx.fillStyle = '#5f6b7a';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  const words = text.split(' ');
  const lines = [];
  let line = '';
  for (const wd of words) {
    if (ctx.measureText(`${line} ${wd}`).width > W - 40 && line) { lines.push(line); line = wd; } else line = line ? `${line} ${wd}` : wd;
  }
  lines.push(line);
  lines.forEach((l, i) => ctx.fillText(l, W / 2, H / 2 + (i - (lines.length - 1) / 2) * 16));
}

/** Row-normalised confusion matrix as a heat map. confusion[true][pred] = count. `order` lists the
 *  classes in display order; `groups` ([{name, size}] in that order) draws superclass blocks. */
export function drawConfusion(canvas, confusionIn, classesIn, title, { order = null, groups = null } = {}) {
  const idx = order ?? [...confusionIn.keys()];
  const confusion = idx.map((i) => idx.map((j) => confusionIn[i]?.[j] ?? 0));
  const classes = idx.map((i) => classesIn[i]);
  const K = confusion.length;
  const showLabels = K <= 20;
  const left = showLabels ? 78 : 30, top = 34, cell = Math.max(3, Math.floor((showLabels ? 280 : 340) / K));
  const W = left + cell * K + 10, H = top + cell * K + (showLabels ? 70 : 24);
  const ctx = setup(canvas, W, H);
  canvas.style.maxWidth = `${W}px`;
  for (let i = 0; i < K; i++) {
    const row = confusion[i] ?? [];
    const n = row.reduce((a, b) => a + b, 0) || 1;
    for (let j = 0; j < K; j++) {
      const v = (row[j] ?? 0) / n;
      // white → dark blue; the diagonal in green
      const t = Math.sqrt(v);
      ctx.fillStyle = i === j
        ? `rgb(${Math.round(255 - 200 * t)}, ${Math.round(255 - 110 * t)}, ${Math.round(255 - 190 * t)})`
        : `rgb(${Math.round(255 - 215 * t)}, ${Math.round(255 - 170 * t)}, ${Math.round(255 - 60 * t)})`;
      ctx.fillRect(left + j * cell, top + i * cell, cell, cell);
      if (showLabels && cell >= 24 && v >= 0.005) {
        ctx.fillStyle = t > 0.6 ? '#fff' : '#1d2330';
        ctx.font = '10px system-ui, sans-serif';
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillText(Math.round(v * 100), left + j * cell + cell / 2, top + i * cell + cell / 2);
      }
    }
  }
  ctx.strokeStyle = '#9aa4b1';
  ctx.strokeRect(left + 0.5, top + 0.5, cell * K, cell * K);
  if (groups) {
    // superclass blocks: errors inside a block are "closer" wrong answers
    ctx.strokeStyle = '#c62f2f';
    let at = 0;
    for (const g of groups) {
      ctx.strokeRect(left + at * cell + 0.5, top + at * cell + 0.5, g.size * cell, g.size * cell);
      at += g.size;
    }
  }
  ctx.fillStyle = '#1d2330';
  ctx.font = '600 13px system-ui, sans-serif';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.fillText(title, 4, 6);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#5f6b7a';
  if (showLabels) {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    classes.forEach((c, i) => ctx.fillText(c, left - 4, top + i * cell + cell / 2));
    classes.forEach((c, j) => {
      ctx.save();
      ctx.translate(left + j * cell + cell / 2, top + cell * K + 4);
      ctx.rotate(-Math.PI / 3);
      ctx.textAlign = 'right';
      ctx.fillText(c, 0, 0);
      ctx.restore();
    });
  } else {
    ctx.textAlign = 'left';
    ctx.fillText('true ↓  predicted →', left, top + cell * K + 6);
  }
}

/** Scatter plot of 2-D PCA coordinates coloured by class. */
export function drawEmbedding(canvas, { coords, labels, variance, total, method = 'PCA' }, classes, runId, epoch) {
  const W = 360, H = 360;
  const ctx = setup(canvas, W, H);
  const n = labels.length, K = classes.length;
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = coords[2 * i], y = coords[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  const pad = 14, top = 28;
  const sx = (maxX - minX) || 1, sy = (maxY - minY) || 1;
  const px = (x) => pad + ((x - minX) / sx) * (W - 2 * pad);
  const py = (y) => H - pad - ((y - minY) / sy) * (H - top - pad);
  ctx.strokeStyle = '#e3e7ec';
  ctx.strokeRect(0.5, top - 4.5, W - 1, H - top + 4);
  const r = n > 3000 ? 1.4 : n > 800 ? 2 : 3;
  ctx.globalAlpha = n > 3000 ? 0.6 : 0.8;
  for (let i = 0; i < n; i++) {
    const x = coords[2 * i], y = coords[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    ctx.fillStyle = classColor(labels[i], K);
    ctx.beginPath();
    ctx.arc(px(x), py(y), r, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.globalAlpha = 1;
  ctx.fillStyle = '#1d2330';
  ctx.font = '600 13px system-ui, sans-serif';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.fillText(`${RUN_LABELS[runId] ?? runId} · epoch ${epoch} · ${method}`, 4, 4);
  if (method === 'PCA' && total > 0) {
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#5f6b7a';
    ctx.textAlign = 'right';
    ctx.fillText(`PC1+PC2: ${(((variance[0] + variance[1]) / total) * 100).toFixed(0)}% of variance`, W - 4, 6);
  }
}

export function renderLegend(el, classes) {
  el.textContent = '';
  if (classes.length > 20) {
    el.textContent = `${classes.length} classes, coloured by hue in class order.`;
    return;
  }
  classes.forEach((c, k) => {
    const s = document.createElement('span');
    const sw = document.createElement('i');
    sw.className = 'swatch';
    sw.style.background = classColor(k, classes.length);
    s.append(sw, c);
    el.append(s);
  });
}

/** A canvas showing a 32×32 RGBA test image. */
export function imageCanvas(rgba, size = 32) {
  const c = document.createElement('canvas');
  c.width = size;
  c.height = size;
  const img = new ImageData(new Uint8ClampedArray(rgba), size, size);
  c.getContext('2d').putImageData(img, 0, 0);
  return c;
}

export function argmax(arr, offset = 0, len = arr.length) {
  let best = 0, bv = -Infinity;
  for (let k = 0; k < len; k++) if (arr[offset + k] > bv) { bv = arr[offset + k]; best = k; }
  return best;
}

/**
 * Class-probability bars of several runs side by side.
 * runs: [{ id, probs: ArrayLike<number> (K) }]; truth: class index or null.
 */
export function renderProbBars(el, classes, runs, truth = null, { top = 10 } = {}) {
  const K = classes.length;
  // Show all classes for K ≤ top, else the union of each run's top classes (plus the truth).
  let order = [...Array(K).keys()];
  if (K > top) {
    const keep = new Set(truth != null ? [truth] : []);
    for (const r of runs) {
      const idx = [...Array(K).keys()].sort((a, b) => r.probs[b] - r.probs[a]).slice(0, 5);
      idx.forEach((k) => keep.add(k));
    }
    order = [...keep].sort((a, b) => Math.max(...runs.map((r) => r.probs[b])) - Math.max(...runs.map((r) => r.probs[a])));
  }
  const table = document.createElement('table');
  table.className = 'probs';
  const head = table.createTHead().insertRow();
  head.insertCell().textContent = 'class';
  for (const r of runs) {
    const th = head.insertCell();
    th.innerHTML = `<span class="swatch" style="background:${RUN_COLORS[r.id]}"></span>${RUN_LABELS[r.id] ?? r.id}`;
  }
  const body = table.createTBody();
  for (const k of order) {
    const tr = body.insertRow();
    if (k === truth) tr.className = 'truth';
    const name = tr.insertCell();
    name.className = 'cls';
    name.textContent = classes[k] + (k === truth ? ' ✓' : '');
    for (const r of runs) {
      const p = r.probs[k];
      const td = tr.insertCell();
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.dataset.run = r.id;
      bar.dataset.cls = classes[k];
      bar.dataset.p = String(p);
      const fill = document.createElement('span');
      fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
      fill.style.background = RUN_COLORS[r.id] ?? '#555';
      const label = document.createElement('em');
      label.textContent = `${(p * 100).toFixed(1)}%`;
      bar.append(fill, label);
      td.append(bar);
    }
  }
  el.textContent = '';
  el.append(table);
}

/** Share of canvas pixels that differ from white (used by tests through window.__cskd). */
export function inkShare(canvas) {
  const ctx = canvas.getContext('2d');
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 245 || data[i + 1] < 245 || data[i + 2] < 245)) ink++;
  return ink / (data.length / 4);
}
