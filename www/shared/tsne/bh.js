// The t-SNE gradient with Barnes–Hut repulsion (van der Maaten 2014), O(nnz + n log n) per iteration.
//
//   ∂KL/∂y_i = 4 [ α Σ_j p_ij q̃_ij (y_i − y_j)  −  Σ_j q̃_ij² (y_i − y_j) / Z ],   q̃_ij = 1 / (1 + |y_i − y_j|²),
//   Z = Σ_{k≠l} q̃_kl,  α the exaggeration.
// The attractive sum runs over the sparse P (CSR); the repulsive sums and Z come from a quadtree over Y:
// a cell of side w whose centre of mass is at distance d from y_i counts as one point of mass m when
// w < θ d. θ = 0 opens every cell, which is the exact O(n²) gradient (what the tests compare against).
// Shapes: Y, grad Float64Array n × 2 (row-major); P = { rowPtr, col, val } with Σ val = 1.

const MAX_DEPTH = 48; // coincident points stop splitting here and share one leaf
const LEAF = 16;      // points a leaf holds before it splits

/**
 * Writes the gradient into `grad` (overwrites). `scratch` is an object reused across calls for the
 * tree's buffers. Returns KL(P‖Q) when `withKl`, else NaN (the log per edge is only paid when asked).
 */
export function gradient(Y, n, P, exaggeration, theta, grad, scratch = {}, withKl = false) {
  const tree = buildTree(Y, n, scratch);
  const { rowPtr, col, val } = P;
  const rep = scratch.rep?.length === 2 * n ? scratch.rep : (scratch.rep = new Float64Array(2 * n));
  let Z = 0;
  for (let i = 0; i < n; i++) Z += repulsion(tree, Y, i, theta, rep);
  for (let i = 0; i < n; i++) {
    const xi = Y[2 * i], yi = Y[2 * i + 1];
    let ax = 0, ay = 0;
    for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) {
      const j = col[e];
      const dx = xi - Y[2 * j], dy = yi - Y[2 * j + 1];
      const f = val[e] / (1 + dx * dx + dy * dy);
      ax += f * dx; ay += f * dy;
    }
    grad[2 * i] = 4 * (exaggeration * ax - rep[2 * i] / Z);
    grad[2 * i + 1] = 4 * (exaggeration * ay - rep[2 * i + 1] / Z);
  }
  return withKl ? kl(Y, n, P, Z) : NaN;
}

// KL(P‖Q) = Σ p log(p / q) with q = q̃ / Z and Σ p = 1, so = Σ p log(p (1 + d²)) + log Z.
function kl(Y, n, { rowPtr, col, val }, Z) {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) {
      if (!(val[e] > 0)) continue;
      const j = col[e];
      const dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
      sum += val[e] * Math.log(val[e] * (1 + dx * dx + dy * dy));
    }
  }
  return sum + Math.log(Z);
}

// Quadtree in flat typed arrays (grown by doubling, kept in `scratch` between iterations).
// Node fields: centre (cx, cy), half side hw, mass, centre-of-mass sums (sx, sy → mean after build),
// first child (4 consecutive nodes; −1 = leaf), first point of a leaf (−1 = empty); next[] links
// the points of a leaf (at most LEAF, except at MAX_DEPTH where coincident points pile up).
function buildTree(Y, n, s) {
  if (!s.next || s.next.length !== n) {
    s.next = new Int32Array(n);
    s.stack = new Int32Array(4 * MAX_DEPTH + 8);
    allocate(s, Math.max(64, 4 * n));
  }
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = Y[2 * i], y = Y[2 * i + 1];
    if (x < minX) minX = x; if (x > maxX) maxX = x;
    if (y < minY) minY = y; if (y > maxY) maxY = y;
  }
  s.count = 0;
  const root = newNode(s, (minX + maxX) / 2, (minY + maxY) / 2, Math.max(maxX - minX, maxY - minY) / 2 * (1 + 1e-6) + 1e-12);
  for (let p = 0; p < n; p++) insert(s, Y, root, p, 0);
  for (let k = 0; k < s.count; k++) if (s.mass[k] > 0) { s.sx[k] /= s.mass[k]; s.sy[k] /= s.mass[k]; }
  return s;
}

function allocate(s, cap) {
  const grow = (old, T) => { const a = new T(cap); if (old) a.set(old.subarray(0, Math.min(old.length, cap))); return a; };
  for (const f of ['cx', 'cy', 'hw', 'sx', 'sy']) s[f] = grow(s[f], Float64Array);
  s.mass = grow(s.mass, Int32Array);
  s.child = grow(s.child, Int32Array);
  s.head = grow(s.head, Int32Array);
  s.cap = cap;
}

function newNode(s, cx, cy, hw) {
  if (s.count === s.cap) allocate(s, s.cap * 2);
  const k = s.count++;
  s.cx[k] = cx; s.cy[k] = cy; s.hw[k] = hw;
  s.sx[k] = 0; s.sy[k] = 0; s.mass[k] = 0; s.child[k] = -1; s.head[k] = -1;
  return k;
}

const quadrant = (s, k, x, y) => (x >= s.cx[k] ? 1 : 0) + (y >= s.cy[k] ? 2 : 0);

// Adds point p below node k (at `depth`). A leaf keeps up to LEAF points in a list (fewer, deeper nodes
// cost more to visit than a few exact terms); one more splits it and its points go down a level.
function insert(s, Y, k, p, depth) {
  const x = Y[2 * p], y = Y[2 * p + 1];
  for (; ; depth++) {
    s.mass[k]++; s.sx[k] += x; s.sy[k] += y;
    if (s.child[k] >= 0) { k = s.child[k] + quadrant(s, k, x, y); continue; }
    s.next[p] = s.head[k]; s.head[k] = p;
    if (s.mass[k] <= LEAF || depth >= MAX_DEPTH) return;
    let q = s.head[k];
    s.head[k] = -1;
    const h = s.hw[k] / 2, cx = s.cx[k], cy = s.cy[k];
    const first = newNode(s, cx - h, cy - h, h); // (may reallocate: `s` fields are re-read on every access)
    newNode(s, cx + h, cy - h, h);
    newNode(s, cx - h, cy + h, h);
    newNode(s, cx + h, cy + h, h);
    s.child[k] = first;
    while (q >= 0) {
      const after = s.next[q];
      insert(s, Y, first + quadrant(s, k, Y[2 * q], Y[2 * q + 1]), q, depth + 1);
      q = after;
    }
    return;
  }
}

// Σ_j q̃_ij² (y_i − y_j) into rep[2i..], returns Σ_j q̃_ij (this point's share of Z).
function repulsion(s, Y, i, theta, rep) {
  const { stack, mass, child, head, next, sx, sy, hw } = s; // locals: this loop is the hot path
  const xi = Y[2 * i], yi = Y[2 * i + 1];
  const theta2 = theta * theta;
  let top = 0, z = 0, fx = 0, fy = 0;
  stack[top++] = 0;
  while (top > 0) {
    const k = stack[--top];
    const m = mass[k];
    const dx = xi - sx[k], dy = yi - sy[k];
    const d2 = dx * dx + dy * dy, w = 2 * hw[k];
    if (w * w < theta2 * d2) { // far enough: the whole cell as one point at its centre of mass
      const q = 1 / (1 + d2), mq = m * q;
      z += mq; fx += mq * q * dx; fy += mq * q * dy;
      continue;
    }
    const c = child[k];
    if (c >= 0) {
      for (let t = c; t < c + 4; t++) if (mass[t] > 0) stack[top++] = t;
      continue;
    }
    for (let p = head[k]; p >= 0; p = next[p]) {
      if (p === i) continue;
      const ex = xi - Y[2 * p], ey = yi - Y[2 * p + 1];
      const q = 1 / (1 + ex * ex + ey * ey);
      z += q; fx += q * q * ex; fy += q * q * ey;
    }
  }
  rep[2 * i] = fx; rep[2 * i + 1] = fy;
  return z;
}
