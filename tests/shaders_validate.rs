//! Every WGSL file, as it is compiled (prelude + file), parses and validates with naga — no GPU
//! needed, so this runs everywhere.

#[test]
fn all_shaders_parse_and_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_stem().unwrap() != "prelude")
        .collect();
    files.sort();
    assert!(files.len() >= 9, "expected the kernel files in {dir:?}");
    for path in &files {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let src = cskd::shaders::source(stem)
            .unwrap_or_else(|| panic!("{stem}.wgsl is not registered in src/shaders.rs"));
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {:?}", path.display(), e));
    }
    assert_eq!(
        files.len(),
        cskd::shaders::ALL.len(),
        "src/shaders.rs lists a shader that is not on disk"
    );
}
