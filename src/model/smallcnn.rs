//! SmallCNN (docs/BENCHMARKS.md W1): five 3×3 conv-BN-ReLU layers with two 2×2 max pools, global average
//! pooling and a linear classifier. Widths w, w, 2w, 2w, 4w (w = 32 in the benchmark).
//! PyTorch twin (names match): `features = nn.Sequential(conv, bn, relu, conv, bn, relu,
//! maxpool, conv, bn, relu, conv, bn, relu, maxpool, conv, bn, relu)`, then
//! `AdaptiveAvgPool2d(1)`, flatten, `fc = nn.Linear(4w, classes)`; convs have `bias=False`.

use super::layers::{BatchNorm2d, Conv2d, Ctx, Linear};
use super::store::Store;
use super::Output;
use crate::gpu::Gpu;
use crate::ops::pool;
use crate::rng::Rng;
use crate::tape::Var;

pub struct SmallCnn {
    convs: Vec<(Conv2d, BatchNorm2d)>,
    fc: Linear,
}

/// Index in `features` of each conv, and whether a max pool follows its ReLU.
const LAYOUT: [(usize, bool); 5] = [(0, false), (3, true), (7, false), (10, true), (14, false)];

impl SmallCnn {
    pub fn new(
        gpu: &Gpu,
        rng: &mut Rng,
        store: &mut Store,
        width: usize,
        classes: usize,
    ) -> SmallCnn {
        let widths = [width, width, 2 * width, 2 * width, 4 * width];
        let mut cin = 3;
        let convs = LAYOUT
            .iter()
            .zip(widths)
            .map(|(&(i, _), w)| {
                let conv = Conv2d::new(gpu, rng, store, &format!("features.{i}"), cin, w, 3, 1);
                let bn = BatchNorm2d::new(gpu, rng, store, &format!("features.{}", i + 1), w);
                cin = w;
                (conv, bn)
            })
            .collect();
        let fc = Linear::new(gpu, rng, store, "fc", 4 * width, classes);
        SmallCnn { convs, fc }
    }

    pub fn forward(&self, ctx: &mut Ctx, x: &Var) -> Output {
        let mut h = x.clone();
        for ((conv, bn), &(_, pool_after)) in self.convs.iter().zip(&LAYOUT) {
            h = conv.apply(ctx, &h);
            h = bn.apply_relu(ctx, &h);
            if pool_after {
                h = pool::max_pool2(ctx.rec, ctx.tape, &h);
            }
        }
        let features = pool::global_avg_pool(ctx.rec, ctx.tape, &h);
        let logits = self.fc.apply(ctx, &features);
        Output { logits, features }
    }
}
