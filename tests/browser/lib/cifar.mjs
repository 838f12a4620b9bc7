// Synthetic, learnable CIFAR-10 data in the official binary layout, for tests that must not depend
// on the real data set: cifar-10-batches-bin/{data_batch_1..5.bin,test_batch.bin,batches.meta.txt}
// inside a .tar.gz. Each record is 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B).
// Every class has its own colour and stripe orientation, plus noise, so a tiny CNN learns it fast.
import zlib from 'node:zlib';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function record(label, rand) {
  const out = new Uint8Array(3073);
  out[0] = label;
  const hue = (label * 36) * Math.PI / 180;
  const base = [Math.cos(hue), Math.cos(hue - 2.09), Math.cos(hue + 2.09)].map((c) => 128 + 80 * c);
  const angle = (label % 5) * Math.PI / 5;
  const freq = 0.35 + 0.15 * Math.floor(label / 5);
  const phase = rand() * 6.28;
  const dx = Math.cos(angle), dy = Math.sin(angle);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const stripe = Math.sin((x * dx + y * dy) * freq + phase) * 45;
      for (let c = 0; c < 3; c++) {
        const v = base[c] + stripe * (c === label % 3 ? 1 : 0.4) + (rand() - 0.5) * 60;
        out[1 + c * 1024 + y * 32 + x] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return out;
}

function batch(labels, rand) {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((l, i) => out.set(record(l, rand), i * 3073));
  return out;
}

function tarHeader(name, size, type) {
  const h = Buffer.alloc(512, 0);
  const put = (str, off, len) => h.write(str, off, Math.min(len, Buffer.byteLength(str)), 'ascii');
  const oct = (n, len) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(type === '5' ? 0o755 : 0o644, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(1262304000, 12), 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** A tar archive (Buffer) of [{name, data}] entries; names ending in '/' are directories. */
export function tar(entries) {
  const parts = [];
  for (const { name, data } of entries) {
    if (name.endsWith('/')) { parts.push(tarHeader(name, 0, '5')); continue; }
    const buf = Buffer.from(data);
    parts.push(tarHeader(name, buf.length, '0'), buf, Buffer.alloc((512 - (buf.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Synthetic CIFAR-10 .tar.gz bytes with `perClass` training and `testPerClass` test images per class. */
export function syntheticCifar10({ perClass = 20, testPerClass = 10, seed = 1 } = {}) {
  const rand = rng(seed);
  const train = [];
  for (let i = 0; i < perClass; i++) for (let c = 0; c < 10; c++) train.push(c);
  const test = [];
  for (let i = 0; i < testPerClass; i++) for (let c = 0; c < 10; c++) test.push(c);
  const dir = 'cifar-10-batches-bin/';
  const entries = [{ name: dir }];
  for (let b = 0; b < 5; b++) {
    const lo = Math.floor((train.length * b) / 5), hi = Math.floor((train.length * (b + 1)) / 5);
    entries.push({ name: `${dir}data_batch_${b + 1}.bin`, data: batch(train.slice(lo, hi), rand) });
  }
  entries.push({ name: `${dir}test_batch.bin`, data: batch(test, rand) });
  entries.push({ name: `${dir}batches.meta.txt`, data: Buffer.from(CIFAR10_CLASSES.join('\n') + '\n\n') });
  return zlib.gzipSync(tar(entries));
}

// `node lib/cifar.mjs OUT.tar.gz [perClass] [testPerClass]`
if (import.meta.url === `file://${process.argv[1]}`) {
  const fs = await import('node:fs');
  const [out, perClass = '20', testPerClass = '10'] = process.argv.slice(2);
  if (!out) { console.error('usage: node lib/cifar.mjs OUT.tar.gz [perClass] [testPerClass]'); process.exit(2); }
  fs.writeFileSync(out, syntheticCifar10({ perClass: +perClass, testPerClass: +testPerClass }));
  console.log(`wrote ${out}`);
}
