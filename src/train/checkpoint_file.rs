//! Checkpoint files on disk (native): bounded reads and atomic writes.
//!
//! A safetensors file states its own size: 8 bytes of header length, the JSON header, and the
//! tensors at the offsets the header gives. The file is read only when it is a regular file of
//! exactly that size (and at most `MAX_BYTES`), so `/dev/zero`, a FIFO or a huge file is refused
//! before it is read.

use crate::error::{Error, Result};
use crate::files::{read_regular, write_atomic};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// safetensors' own cap on the header.
const MAX_HEADER: u64 = 100 * 1024 * 1024;
/// Far above any model cskd trains (ResNet-18 with momentum: ~90 MB).
const MAX_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Reads a checkpoint file; every error names the file.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        source: e,
    };
    // Refuses special files and absurd sizes before anything is opened for reading.
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return read_regular(path, 0, "a checkpoint (.safetensors)").map_err(io);
    }
    let declared = declared_size(path).map_err(|e| e.in_file(path))?;
    if meta.len() != declared {
        return Err(Error::Checkpoint(format!(
            "{}: the file is {} bytes but its header describes {declared} bytes (truncated or not a safetensors file)",
            path.display(),
            meta.len()
        )));
    }
    read_regular(path, declared.min(MAX_BYTES), "a checkpoint (.safetensors)").map_err(io)
}

/// Writes a checkpoint so that the previous file survives any crash or a full disk.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}

/// Bytes per element of a safetensors dtype name (`None` for names this reader does not size).
fn dtype_bytes(name: &str) -> Option<u64> {
    Some(match name {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" => 8,
        _ => return None,
    })
}

/// The file size the safetensors header declares.
fn declared_size(path: &Path) -> Result<u64> {
    let bad = |m: String| Error::Checkpoint(format!("not a safetensors checkpoint: {m}"));
    let mut f = File::open(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| bad("shorter than its 8-byte header length".into()))?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER {
        return Err(bad(format!("header length {n} is over the 100 MB limit")));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header)
        .map_err(|_| bad(format!("the file ends inside its {n}-byte header")))?;
    let json: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header is not JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| bad("header is not a JSON object".into()))?;
    let mut end = 0u64;
    for (name, t) in obj {
        if name == "__metadata__" {
            continue;
        }
        let offsets: Vec<u64> = t
            .get("data_offsets")
            .and_then(|o| o.as_array())
            .map(|o| o.iter().filter_map(|e| e.as_u64()).collect())
            .filter(|o: &Vec<u64>| o.len() == 2 && o[0] <= o[1])
            .ok_or_else(|| bad(format!("tensor {name:?} has no valid data_offsets")))?;
        // The shape must describe exactly the bytes the offsets give (a huge shape is named here,
        // not left to overflow inside the safetensors reader).
        let elements = t.get("shape").and_then(|s| s.as_array()).and_then(|s| {
            s.iter()
                .try_fold(1u64, |n, d| d.as_u64().and_then(|d| n.checked_mul(d)))
        });
        let width = t
            .get("dtype")
            .and_then(|d| d.as_str())
            .and_then(dtype_bytes);
        match (elements, width) {
            (Some(n), Some(w)) if n.checked_mul(w) == Some(offsets[1] - offsets[0]) => {}
            (Some(_), None) => {}
            _ => {
                return Err(bad(format!(
                    "tensor {name:?}: its shape {} {} does not match its {} data bytes",
                    t.get("dtype").unwrap_or(&serde_json::Value::Null),
                    t.get("shape").unwrap_or(&serde_json::Value::Null),
                    offsets[1] - offsets[0]
                )))
            }
        }
        end = end.max(offsets[1]);
    }
    Ok(8 + n + end)
}
