//! Element-wise kernels: ReLU and its gradient, addition.

/// max(x, 0).
pub fn relu(x: &[f64]) -> Vec<f64> {
    x.iter().map(|v| v.max(0.0)).collect()
}

/// Gradient of `relu` (`y` its input or its output: the mask is the same): dy where y > 0, else 0.
pub fn relu_backward(y: &[f64], dy: &[f64]) -> Vec<f64> {
    y.iter()
        .zip(dy)
        .map(|(&v, &d)| if v > 0.0 { d } else { 0.0 })
        .collect()
}

/// a + b.
pub fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}
