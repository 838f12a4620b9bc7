// Saved runs in the origin's IndexedDB (usable from the page and from the worker).
// Stores: runs (what the page lists: config, progress, epoch records), checkpoints (the safetensors
// bytes of Trainer.saveCheckpoint, with the training state) and data (the bytes of a local data file,
// so a reload can resume without asking for it again). A run's metadata and checkpoint are written in
// ONE transaction: IndexedDB commits all of it or none, so a tab closed mid-save keeps the previous save.

const DB_NAME = 'cskd';
const DB_VERSION = 1;
const STORES = ['runs', 'checkpoints', 'data'];

let dbPromise = null;
function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      if (typeof indexedDB === 'undefined') { reject(new Error('IndexedDB is unavailable in this browser')); return; }
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        for (const s of STORES) if (!req.result.objectStoreNames.contains(s)) req.result.createObjectStore(s);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('could not open IndexedDB'));
      req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this page'));
    });
    dbPromise.catch(() => { dbPromise = null; });
  }
  return dbPromise;
}

/** Runs fn(stores) in one transaction; resolves with fn's result once the transaction committed. */
async function tx(names, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, t.objectStore(n)]));
    let result;
    t.oncomplete = () => resolve(result);
    t.onabort = () => reject(t.error ?? new Error('the IndexedDB transaction was aborted'));
    t.onerror = () => {}; // onabort follows with the error
    Promise.resolve(fn(stores)).then((r) => { result = r; }, (e) => { try { t.abort(); } catch { /* done */ } reject(e); });
  });
}

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

/** Saves a run: `meta` (plain object with `id`) and its checkpoint bytes, atomically. */
export function putRun(meta, checkpoint) {
  return tx(['runs', 'checkpoints'], 'readwrite', (s) => {
    s.runs.put(meta, meta.id);
    s.checkpoints.put(checkpoint, meta.id);
  });
}

/** Metadata of every saved run (without the checkpoint bytes). */
export function listRuns() {
  return tx(['runs'], 'readonly', (s) => request(s.runs.getAll()));
}

/** { meta, checkpoint } of one saved run, or null. */
export function getRun(id) {
  return tx(['runs', 'checkpoints'], 'readonly', async (s) => {
    const [meta, checkpoint] = await Promise.all([request(s.runs.get(id)), request(s.checkpoints.get(id))]);
    return meta && checkpoint ? { meta, checkpoint } : null;
  });
}

/** Forgets every saved run and stored data file. */
export function clearAll() {
  return tx(STORES, 'readwrite', (s) => { for (const n of STORES) s[n].clear(); });
}

/** Keeps the bytes of a local data file under `key` (the only one kept). */
export function putData(key, bytes) {
  return tx(['data'], 'readwrite', (s) => { s.data.clear(); s.data.put(bytes, key); });
}

export function getData(key) {
  return tx(['data'], 'readonly', (s) => request(s.data.get(key)));
}
