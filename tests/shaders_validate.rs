//! Every WGSL file, as it is compiled (prelude + file), parses and validates with naga, and the
//! generated one is what its script writes — no GPU needed, so this runs everywhere.

#[test]
fn all_shaders_parse_and_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            !p.file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("prelude")
        })
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
    // The subgroup variants, as compiled natively (no `enable`: naga takes the capability).
    for (base, variant) in cskd::shaders::SUBGROUP_VARIANTS {
        let src = cskd::shaders::source(variant).unwrap_or_else(|| panic!("no {variant}"));
        assert_ne!(
            Some(&src),
            cskd::shaders::source(base).as_ref(),
            "{variant}"
        );
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{variant}: {}", e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{variant}: {e:?}"));
    }
    assert_eq!(
        files.len(),
        cskd::shaders::ALL.len(),
        "src/shaders.rs lists a shader that is not on disk"
    );
}

/// The compact family's unrolled kernels are generated: the committed shader must be exactly what
/// its script writes (edit the script, then run it with the shader's path).
#[test]
fn compact_conv_shader_is_what_its_script_writes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out =
        std::env::temp_dir().join(format!("cskd-conv2d-compact3-{}.wgsl", std::process::id()));
    let status = std::process::Command::new("python3")
        .arg(root.join("scripts/gen-conv2d-compact3.py"))
        .arg(&out)
        .status()
        .expect("python3 runs the shader generator");
    assert!(status.success(), "scripts/gen-conv2d-compact3.py failed");
    let written = std::fs::read(&out).expect("the generated shader");
    std::fs::remove_file(&out).ok();
    let committed = std::fs::read(root.join("shaders/conv2d_compact3.wgsl")).unwrap();
    assert!(
        written == committed,
        "shaders/conv2d_compact3.wgsl is not what scripts/gen-conv2d-compact3.py writes: run `python3 scripts/gen-conv2d-compact3.py shaders/conv2d_compact3.wgsl`"
    );
}
