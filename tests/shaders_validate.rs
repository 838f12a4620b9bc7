//! Every WGSL file, as it is compiled (prelude + file), parses and validates with naga — all f32,
//! and with every typed binding (`array<Ti>`) f16 as mixed precision compiles it — and the
//! generated one is what its script writes — no GPU needed, so this runs everywhere.

/// Parses and validates one full source.
fn validate(what: &str, src: &str) {
    let module = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{what}: {}", e.emit_to_string(src)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{what}: {e:?}"));
}

/// The bindings a kernel file leaves to the tensor's dtype (`array<Ti>`), as an f16 mask.
fn typed_bindings(name: &str) -> u16 {
    let file = cskd::shaders::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1;
    (1..=cskd::shaders::TYPED_BINDINGS)
        .filter(|i| file.contains(&format!("array<T{i}>")))
        .fold(0, |m, i| m | 1 << i)
}

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
        let src = cskd::shaders::source(stem, 0)
            .unwrap_or_else(|e| panic!("{stem}.wgsl is not registered in src/shaders.rs: {e}"));
        validate(&path.display().to_string(), &src);
        let f16 = typed_bindings(stem);
        if f16 != 0 {
            let src = cskd::shaders::source(stem, f16).unwrap();
            assert!(src.starts_with("enable f16;"), "{stem}");
            validate(&format!("{} (f16 bindings {f16:#b})", path.display()), &src);
        }
    }
    // The kernels that carry activations all take f16 ones (mixed precision).
    for name in [
        "augment",
        "batchnorm",
        "conv2d_generic",
        "conv2d_compact3",
        "conv2d_shared",
        "conv2d_tiled",
        "elementwise",
        "mix",
        "pool",
    ] {
        assert_ne!(typed_bindings(name), 0, "{name} has no typed binding");
    }
    // An f16 tensor where a file declares f32 is refused by name.
    let err = cskd::shaders::source("sgd", 1 << 1).unwrap_err();
    assert!(err.contains("sgd") && err.contains("binding 1"), "{err}");
    // The subgroup variants, as compiled natively (no `enable`: naga takes the capability).
    for (base, variant) in cskd::shaders::SUBGROUP_VARIANTS {
        let src = cskd::shaders::source(variant, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(src, cskd::shaders::source(base, 0).unwrap(), "{variant}");
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
