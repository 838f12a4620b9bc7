//! A minimal reverse-mode tape: each op records, beside its forward dispatch, a closure that
//! records its backward dispatches. Models stay plain Rust (residuals are just `add`), and the
//! tape order is already topological, so backward walks it in reverse.

use crate::gpu::{Recorder, Tensor};
use crate::ops::elementwise;
use std::collections::HashMap;

pub type VarId = usize;

/// A tensor in a computation: `id` is `None` for constants (inputs, partner-branch values).
#[derive(Clone)]
pub struct Var {
    pub value: Tensor,
    pub id: Option<VarId>,
}

impl Var {
    pub fn constant(value: Tensor) -> Var {
        Var { value, id: None }
    }
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }
}

/// What a backward is asked for, per input.
#[derive(Clone)]
pub enum Want {
    /// No gradient (a constant input).
    Nothing,
    /// A gradient in a new tensor.
    Grad,
    /// A gradient written into this tensor (a parameter's slot in the gradient arena). An op that
    /// cannot write there may return a new tensor: the tape then copies it in.
    Into(Tensor),
}

impl Want {
    pub fn any(&self) -> bool {
        !matches!(self, Want::Nothing)
    }

    /// Where the gradient should go, if somewhere in particular.
    pub fn target(&self) -> Option<&Tensor> {
        match self {
            Want::Into(t) => Some(t),
            _ => None,
        }
    }
}

/// Given the output gradient and what each input wants, records the backward kernels and
/// returns one gradient per input (`None` where not wanted). The output gradient is the tape's,
/// dropped when the call returns: a backward may overwrite it when nothing else holds it
/// (`Tensor::unshared`), as batch norm's does with its dx.
pub type Backward = Box<dyn FnOnce(&mut Recorder<'_>, &Tensor, &[Want]) -> Vec<Option<Tensor>>>;

struct Node {
    output: VarId,
    inputs: Vec<Option<VarId>>,
    backward: Backward,
}

/// The tape. A disabled tape (`Tape::off()`) records nothing: the partner forward of CS-KD and
/// evaluation run through the same model code without keeping anything alive for a backward.
pub struct Tape {
    enabled: bool,
    next: VarId,
    nodes: Vec<Node>,
    /// Leaves: value, id, and where their gradient must end up (if anywhere in particular).
    leaves: Vec<(Tensor, VarId, Option<Tensor>)>,
}

impl Tape {
    pub fn new() -> Tape {
        Tape {
            enabled: true,
            next: 0,
            nodes: Vec::new(),
            leaves: Vec::new(),
        }
    }

    pub fn off() -> Tape {
        Tape {
            enabled: false,
            ..Tape::new()
        }
    }

    /// A variable whose gradient is wanted (an input under test).
    pub fn leaf(&mut self, value: &Tensor) -> Var {
        self.leaf_with_grad(value, None)
    }

    /// A parameter whose gradient the backward writes into `grad` (its slot in the gradient arena).
    pub fn param(&mut self, value: &Tensor, grad: &Tensor) -> Var {
        assert_eq!(value.numel(), grad.numel(), "gradient slot size");
        self.leaf_with_grad(value, Some(grad.clone()))
    }

    fn leaf_with_grad(&mut self, value: &Tensor, grad: Option<Tensor>) -> Var {
        if !self.enabled {
            return Var::constant(value.clone());
        }
        let id = self.fresh();
        self.leaves.push((value.clone(), id, grad));
        Var {
            value: value.clone(),
            id: Some(id),
        }
    }

    /// Records an op's output. Nothing is recorded when no input needs a gradient.
    pub fn record(&mut self, inputs: &[&Var], output: Tensor, backward: Backward) -> Var {
        if !self.enabled || inputs.iter().all(|v| v.id.is_none()) {
            return Var::constant(output);
        }
        let id = self.fresh();
        self.nodes.push(Node {
            output: id,
            inputs: inputs.iter().map(|v| v.id).collect(),
            backward,
        });
        Var {
            value: output,
            id: Some(id),
        }
    }

    /// Runs the backward from `root` with gradient `droot`, consuming the tape.
    pub fn backward(self, rec: &mut Recorder<'_>, root: &Var, droot: Tensor) -> Grads {
        let mut grads: HashMap<VarId, Tensor> = HashMap::new();
        if let Some(id) = root.id {
            grads.insert(id, droot);
        }
        let targets: HashMap<VarId, Tensor> = self
            .leaves
            .iter()
            .filter_map(|(_, id, g)| g.clone().map(|g| (*id, g)))
            .collect();
        for node in self.nodes.into_iter().rev() {
            let Some(dy) = grads.remove(&node.output) else {
                continue;
            };
            // A target is offered only to a leaf's first gradient: later ones are summed into a new tensor.
            let wants: Vec<Want> = node
                .inputs
                .iter()
                .map(|input| match input {
                    None => Want::Nothing,
                    Some(id) => match targets.get(id) {
                        Some(t) if !grads.contains_key(id) => Want::Into(t.clone()),
                        _ => Want::Grad,
                    },
                })
                .collect();
            let dxs = (node.backward)(rec, &dy, &wants);
            for (input, dx) in node.inputs.iter().zip(dxs) {
                if let (Some(id), Some(dx)) = (input, dx) {
                    let sum = match grads.remove(id) {
                        Some(prev) => elementwise::add(rec, &prev, &dx),
                        None => dx,
                    };
                    grads.insert(*id, sum);
                }
            }
        }
        let leaves = self
            .leaves
            .into_iter()
            .filter_map(|(t, id, target)| {
                let g = grads.remove(&id)?;
                Some(match target {
                    Some(target) if !g.same_view(&target) => {
                        rec.copy(&g, &target);
                        (t, target)
                    }
                    Some(target) => (t, target),
                    None => (t, g),
                })
            })
            .collect();
        Grads { leaves }
    }

    fn fresh(&mut self) -> VarId {
        self.next += 1;
        self.next - 1
    }
}

impl Default for Tape {
    fn default() -> Self {
        Self::new()
    }
}

/// Gradients of the leaves, looked up by the leaf's tensor.
pub struct Grads {
    leaves: Vec<(Tensor, Tensor)>,
}

impl Grads {
    pub fn of(&self, leaf: &Tensor) -> Option<&Tensor> {
        self.leaves
            .iter()
            .find(|(t, _)| t.same_view(leaf))
            .map(|(_, g)| g)
    }
}
