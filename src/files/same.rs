//! Whether an output path is (or resolves to) one of a command's inputs: through `..`, symbolic
//! links or hard links. A command refuses such an output instead of replacing what it reads.

use std::path::{Path, PathBuf};

/// The path made absolute with every existing part resolved (a file not yet written resolves
/// through its folder).
fn resolved(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = std::fs::canonicalize(p) {
        return Some(c);
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => std::fs::canonicalize(d).ok()?,
        _ => std::env::current_dir().ok()?,
    };
    Some(parent.join(p.file_name()?))
}

/// `a` and `b` name the same file (or would, once written).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            if x.dev() == y.dev() && x.ino() == y.ino() {
                return true;
            }
        }
    }
    matches!((resolved(a), resolved(b)), (Some(x), Some(y)) if x == y)
}

/// The first `(flag, input)` that `output` would overwrite, as an error message.
pub fn refuse_overwriting_input(output: &Path, inputs: &[(&str, &Path)]) -> Result<(), String> {
    match inputs.iter().find(|(_, i)| same_file(output, i)) {
        Some((flag, input)) => Err(format!(
            "{} would overwrite {flag} {}, an input of this command: write the output elsewhere",
            output.display(),
            input.display()
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_dotted_and_linked_paths_are_the_same_file() {
        let d = std::env::temp_dir().join(format!("cskd-same-{}", std::process::id()));
        std::fs::create_dir_all(d.join("sub")).unwrap();
        let f = d.join("a.safetensors");
        std::fs::write(&f, b"x").unwrap();
        assert!(same_file(&f, &d.join("sub/../a.safetensors")));
        #[cfg(unix)]
        {
            let l = d.join("link.safetensors");
            let _ = std::fs::remove_file(&l);
            std::os::unix::fs::symlink(&f, &l).unwrap();
            assert!(same_file(&l, &f));
        }
        assert!(same_file(
            &d.join("new.safetensors"),
            &d.join("sub/../new.safetensors")
        ));
        assert!(!same_file(&f, &d.join("b.safetensors")));
        assert!(refuse_overwriting_input(&f, &[("--checkpoint", &f)]).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
