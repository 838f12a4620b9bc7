//! Every WGSL `Params` uniform, reflected with naga, has exactly the size and field offsets of the
//! Rust struct that fills it (`cskd::ops::layout`): one owner per layout, checked, no GPU needed.

use naga::{Module, TypeInner};
use std::collections::BTreeSet;

/// (name, offset) of every member of the shader's `Params` struct, and its size.
fn wgsl_params(shader: &str) -> (Vec<(String, u32)>, u32) {
    let src = cskd::shaders::source(shader, 0).unwrap_or_else(|e| panic!("{e}"));
    let module: Module = naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{shader}: {}", e.emit_to_string(&src)));
    let (_, ty) = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some("Params"))
        .unwrap_or_else(|| panic!("{shader}.wgsl has no `struct Params`"));
    match &ty.inner {
        TypeInner::Struct { members, span } => (
            members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                .collect(),
            *span,
        ),
        other => panic!("{shader}: Params is not a struct: {other:?}"),
    }
}

#[test]
fn every_wgsl_params_matches_its_rust_struct() {
    let mut checked = BTreeSet::new();
    for layout in cskd::ops::layout::all() {
        for &shader in layout.shaders {
            let (members, span) = wgsl_params(shader);
            assert_eq!(
                span as usize, layout.size,
                "{shader}.wgsl Params is {span} bytes, {} is {}",
                layout.rust, layout.size
            );
            for &(name, offset, _) in &layout.fields {
                let wgsl = members.iter().find(|(m, _)| m == name).unwrap_or_else(|| {
                    panic!("{shader}.wgsl Params has no `{name}` ({} has)", layout.rust)
                });
                assert_eq!(
                    wgsl.1 as usize, offset,
                    "{shader}.wgsl Params.{name} at byte {}, {} puts it at {offset}",
                    wgsl.1, layout.rust
                );
            }
            // A named WGSL member outside every Rust field would only ever read padding.
            for (name, offset) in members.iter().filter(|(m, _)| !m.starts_with('_')) {
                let at = *offset as usize;
                assert!(
                    layout
                        .fields
                        .iter()
                        .any(|&(_, o, len)| (o..o + len).contains(&at)),
                    "{shader}.wgsl Params.{name} (byte {at}) is not filled by {}",
                    layout.rust
                );
            }
            checked.insert(shader);
        }
    }
    // Every shader that declares a Params struct is covered by some Rust struct.
    for (name, file) in cskd::shaders::ALL {
        if file.contains("struct Params") {
            assert!(
                checked.contains(name),
                "{name}.wgsl has a Params struct that no Rust layout claims (add it to cskd::ops::layout)"
            );
        }
    }
}
