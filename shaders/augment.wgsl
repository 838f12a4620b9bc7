// Training augmentation and normalisation, on the GPU, from raw CIFAR bytes.
// Shapes: src (N·3072 bytes packed 4 per u32), CHW 32×32 per image; crops (N, 3) i32 = (dy, dx, flip)
// with dy, dx in [−4, 4] (the 4-pixel zero-padded random crop) and flip 0/1; out (N, 3, 32, 32) T3
// (f32, or f16 under mixed precision: the images are the first activations).
//   out[n,c,y,x] = (v/255 − mean[c]) / std[c],  v = src[n, c, y + dy, x' + dx] (0 outside the image),
//   x' = 31 − x when flipped, else x.
// Padding happens before normalisation (as torchvision: pad the image, then ToTensor, Normalize).
// Test images use crops (0, 0, 0): normalisation only.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32, mean: vec4<f32>, sdev: vec4<f32> }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> crops: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<T3>;

@compute @workgroup_size(WG_1D)
fn augment(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * 3072u) { return; }
    let n = i / 3072u;
    let c = (i / 1024u) % 3u;
    let yy = (i / 32u) % 32u;
    let xx = i % 32u;
    let sy = i32(yy) + crops[3u * n];
    let xf = select(xx, 31u - xx, crops[3u * n + 2u] != 0);
    let sx = i32(xf) + crops[3u * n + 1u];
    var v = 0.0;
    if (sy >= 0 && sy < 32 && sx >= 0 && sx < 32) {
        let byte = n * 3072u + c * 1024u + u32(sy) * 32u + u32(sx);
        v = f32((src[byte / 4u] >> (8u * (byte % 4u))) & 255u);
    }
    out[i] = T3((v / 255.0 - p.mean[c]) / p.sdev[c]);
}
