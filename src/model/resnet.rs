//! CIFAR pre-activation ResNet (docs/ALGORITHM.md): 3×3 stem conv → BN → ReLU, four stages of
//! pre-activation basic blocks (widths w, 2w, 4w, 8w; strides 1, 2, 2, 2), 4×4 average pool,
//! linear with bias. ResNet-18 = blocks [2, 2, 2, 2], w = 64 (11.2 M parameters);
//! ResNet-10 = blocks [1, 1, 1, 1] (narrow by default, for the browser).
//! PyTorch twin, names matching (`conv1`, `bn1`, `layer{1..4}.{i}.{bn1,conv1,bn2,conv2,shortcut.0}`, `linear`):
//! ```text
//! class PreActBlock(nn.Module):
//!     def forward(self, x):
//!         out = F.relu(self.bn1(x))
//!         shortcut = self.shortcut(out) if hasattr(self, 'shortcut') else x
//!         out = self.conv1(out)
//!         out = self.conv2(F.relu(self.bn2(out)))
//!         return out + shortcut
//! ```
//! where `shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False))` exists only when
//! the stride or the width changes.

use super::layers::{BatchNorm2d, Conv2d, Ctx, Linear};
use super::store::Store;
use super::Output;
use crate::gpu::Gpu;
use crate::ops::{elementwise, pool};
use crate::rng::Rng;
use crate::tape::Var;

struct Block {
    bn1: BatchNorm2d,
    conv1: Conv2d,
    bn2: BatchNorm2d,
    conv2: Conv2d,
    shortcut: Option<Conv2d>,
}

impl Block {
    fn new(
        gpu: &Gpu,
        rng: &mut Rng,
        store: &mut Store,
        name: &str,
        cin: usize,
        cout: usize,
        stride: usize,
    ) -> Block {
        Block {
            bn1: BatchNorm2d::new(gpu, rng, store, &format!("{name}.bn1"), cin),
            conv1: Conv2d::new(
                gpu,
                rng,
                store,
                &format!("{name}.conv1"),
                cin,
                cout,
                3,
                stride,
            ),
            bn2: BatchNorm2d::new(gpu, rng, store, &format!("{name}.bn2"), cout),
            conv2: Conv2d::new(gpu, rng, store, &format!("{name}.conv2"), cout, cout, 3, 1),
            shortcut: (stride != 1 || cin != cout).then(|| {
                Conv2d::new(
                    gpu,
                    rng,
                    store,
                    &format!("{name}.shortcut.0"),
                    cin,
                    cout,
                    1,
                    stride,
                )
            }),
        }
    }

    fn forward(&self, ctx: &mut Ctx, x: &Var) -> Var {
        let out = self.bn1.apply_relu(ctx, x);
        let shortcut = match &self.shortcut {
            Some(conv) => conv.apply(ctx, &out),
            None => x.clone(),
        };
        let h = self.conv1.apply(ctx, &out);
        let h = self.bn2.apply_relu(ctx, &h);
        let h = self.conv2.apply(ctx, &h);
        elementwise::add_vars(ctx.rec, ctx.tape, &h, &shortcut)
    }
}

pub struct PreActResNet {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    blocks: Vec<Block>,
    linear: Linear,
}

impl PreActResNet {
    pub fn new(
        gpu: &Gpu,
        rng: &mut Rng,
        store: &mut Store,
        blocks_per_stage: [usize; 4],
        width: usize,
        classes: usize,
    ) -> PreActResNet {
        let conv1 = Conv2d::new(gpu, rng, store, "conv1", 3, width, 3, 1);
        let bn1 = BatchNorm2d::new(gpu, rng, store, "bn1", width);
        let mut blocks = Vec::new();
        let mut cin = width;
        for (stage, &count) in blocks_per_stage.iter().enumerate() {
            let cout = width << stage;
            for i in 0..count {
                let stride = if i == 0 && stage > 0 { 2 } else { 1 };
                blocks.push(Block::new(
                    gpu,
                    rng,
                    store,
                    &format!("layer{}.{i}", stage + 1),
                    cin,
                    cout,
                    stride,
                ));
                cin = cout;
            }
        }
        let linear = Linear::new(gpu, rng, store, "linear", cin, classes);
        PreActResNet {
            conv1,
            bn1,
            blocks,
            linear,
        }
    }

    pub fn forward(&self, ctx: &mut Ctx, x: &Var) -> Output {
        let h = self.conv1.apply(ctx, x);
        let mut h = self.bn1.apply_relu(ctx, &h);
        for block in &self.blocks {
            h = block.forward(ctx, &h);
        }
        // avg_pool2d(out, 4) on the 4×4 map of a 32×32 input = global average pooling.
        let features = pool::global_avg_pool(ctx.rec, ctx.tape, &h);
        let logits = self.linear.apply(ctx, &features);
        Output { logits, features }
    }
}
