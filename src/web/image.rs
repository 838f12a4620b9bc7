//! Image conversions between the browser (RGBA, any size) and the model (CHW 32×32).

/// CIFAR CHW bytes → 32×32 RGBA.
pub fn chw_to_rgba(chw: &[u8]) -> Vec<u8> {
    let mut out = vec![255u8; 32 * 32 * 4];
    for i in 0..1024 {
        for c in 0..3 {
            out[i * 4 + c] = chw[c * 1024 + i];
        }
    }
    out
}

/// RGBA (width × height) → CHW 32×32 bytes, by area averaging (box filter) for downscaling and
/// nearest neighbour for upscaling.
pub fn rgba_to_chw32(rgba: &[u8], width: usize, height: usize) -> Result<Vec<u8>, String> {
    if width == 0 || height == 0 || width > 8192 || height > 8192 {
        return Err(format!(
            "image size {width}×{height} is not usable (1..=8192 pixels per side)"
        ));
    }
    if rgba.len() != width * height * 4 {
        return Err(format!(
            "expected {} RGBA bytes for {width}×{height}, got {}",
            width * height * 4,
            rgba.len()
        ));
    }
    let mut out = vec![0u8; 3 * 1024];
    for y in 0..32 {
        let (y0, y1) = (
            y * height / 32,
            ((y + 1) * height / 32).max(y * height / 32 + 1),
        );
        for x in 0..32 {
            let (x0, x1) = (
                x * width / 32,
                ((x + 1) * width / 32).max(x * width / 32 + 1),
            );
            for c in 0..3 {
                let mut s = 0u32;
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        s += rgba[(yy * width + xx) * 4 + c] as u32;
                    }
                }
                out[c * 1024 + y * 32 + x] = (s / ((y1 - y0) * (x1 - x0)) as u32) as u8;
            }
        }
    }
    Ok(out)
}
