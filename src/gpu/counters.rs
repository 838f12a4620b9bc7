//! What the host asks of the GPU, counted per device: submits, waits, dispatches, bind groups
//! created and bytes written from the host. `cskd bench --profile` and the JS `profileStep` print
//! them per training step: after warm-up a step should be one submit, no wait with the GPU idle
//! behind it (the loss of step i is read while step i+1 runs), and no bind group created.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default, Debug)]
pub(crate) struct Counters {
    submits: AtomicU64,
    idle_waits: AtomicU64,
    overlapped_waits: AtomicU64,
    dispatches: AtomicU64,
    bind_groups: AtomicU64,
    bytes_written: AtomicU64,
}

/// The counters at one moment; `since` gives what happened between two snapshots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterSnapshot {
    /// Command buffers handed to the queue.
    pub submits: u64,
    /// Host waits for the GPU with nothing queued behind (the GPU idles until the host records more).
    pub host_waits: u64,
    /// Host waits for an earlier submission while later work is already queued (no GPU idle).
    pub overlapped_waits: u64,
    pub dispatches: u64,
    pub bind_groups_created: u64,
    /// Bytes the host wrote into existing buffers (uploads, kernel parameters).
    pub bytes_written: u64,
}

impl Counters {
    pub fn submit(&self) {
        self.submits.fetch_add(1, Relaxed);
    }
    pub fn wait(&self, overlapped: bool) {
        match overlapped {
            true => &self.overlapped_waits,
            false => &self.idle_waits,
        }
        .fetch_add(1, Relaxed);
    }
    pub fn dispatch(&self) {
        self.dispatches.fetch_add(1, Relaxed);
    }
    pub fn bind_group(&self) {
        self.bind_groups.fetch_add(1, Relaxed);
    }
    pub fn written(&self, bytes: u64) {
        self.bytes_written.fetch_add(bytes, Relaxed);
    }
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            submits: self.submits.load(Relaxed),
            host_waits: self.idle_waits.load(Relaxed),
            overlapped_waits: self.overlapped_waits.load(Relaxed),
            dispatches: self.dispatches.load(Relaxed),
            bind_groups_created: self.bind_groups.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
        }
    }
}

impl CounterSnapshot {
    /// What was counted after `earlier`.
    pub fn since(&self, earlier: &CounterSnapshot) -> CounterSnapshot {
        CounterSnapshot {
            submits: self.submits - earlier.submits,
            host_waits: self.host_waits - earlier.host_waits,
            overlapped_waits: self.overlapped_waits - earlier.overlapped_waits,
            dispatches: self.dispatches - earlier.dispatches,
            bind_groups_created: self.bind_groups_created - earlier.bind_groups_created,
            bytes_written: self.bytes_written - earlier.bytes_written,
        }
    }

    /// The counts divided by `steps`, as one line of text.
    pub fn per_step(&self, steps: u64) -> String {
        let s = steps.max(1) as f64;
        format!(
            "per step: {:.1} submits, {:.1} host waits with the GPU idle, {:.1} overlapped waits, {:.1} dispatches, {:.1} bind groups created, {:.0} bytes written from the host",
            self.submits as f64 / s,
            self.host_waits as f64 / s,
            self.overlapped_waits as f64 / s,
            self.dispatches as f64 / s,
            self.bind_groups_created as f64 / s,
            self.bytes_written as f64 / s
        )
    }
}
