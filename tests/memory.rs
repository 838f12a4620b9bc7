//! `cskd bench --memory`: what a step allocates can never be below the floor (if it were, the floor
//! formula would be wrong).

mod common;

#[test]
fn w1_memory_report_is_consistent() {
    let gpu = common::gpu();
    for cskd in [true, false] {
        let m = pollster::block_on(cskd::bench::w1_memory(gpu, cskd, 4)).expect("memory report");
        assert!(
            m.pool_bytes >= m.floor_activation_bytes,
            "{}: the pool ({} B) holds less than the activations a backward must read ({} B)",
            m.method,
            m.pool_bytes,
            m.floor_activation_bytes
        );
        assert!(
            m.model_bytes >= m.floor_state_bytes,
            "{}: model arenas",
            m.method
        );
        assert!(
            m.ratio >= 1.0 && m.ratio.is_finite(),
            "{}: ratio {}",
            m.method,
            m.ratio
        );
    }
    // CE moves its 8 images through the taped forward: twice the activation floor of CS-KD's 4.
    let cs = pollster::block_on(cskd::bench::w1_memory(gpu, true, 4)).unwrap();
    let ce = pollster::block_on(cskd::bench::w1_memory(gpu, false, 4)).unwrap();
    assert_eq!(ce.floor_activation_bytes, 2 * cs.floor_activation_bytes);
}

/// The goal (docs/BENCHMARKS.md, Memory floor): a W1 step (64 CS-KD anchors + 64 partners,
/// or 128 CE anchors) holds at most 1.5× its floor. Buffer sizes are deterministic, so the ratio
/// is too: a tape that keeps a tensor alive longer, or a pool that stops sharing memory between
/// sizes, fails here.
#[test]
fn w1_step_holds_at_most_one_and_a_half_times_its_floor() {
    let gpu = common::gpu();
    for cskd in [true, false] {
        let m = pollster::block_on(cskd::bench::w1_memory(gpu, cskd, 64)).expect("memory report");
        assert!(m.ratio <= 1.5, "{}", m.line());
    }
}
