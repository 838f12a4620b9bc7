//! The method × seed grid of `cskd experiment`, parsed from its text form: methods such as
//! `ce,cskd,cskd+mixup,kd` and seeds such as `1,2,3`. Repeats are dropped (with a warning), so the
//! table never counts one run twice. Pure text in, plain data out: the `grid` fuzz target feeds it.

use super::{Method, Mix};
use crate::error::{Error, Result};

/// One method of the grid: a base method, optional input mixing, optional KD from a teacher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodSpec {
    /// As written (`cskd+mixup`): the run's folder name and the table's row.
    pub name: String,
    pub method: Method,
    pub mix: Mix,
    pub kd: bool,
}

impl MethodSpec {
    /// `ce`, `cskd`, `ls`, `pskd` or `kd` (= `ce+kd`), then optionally `+mixup` or `+cutmix`
    /// and `+kd`, each at most once.
    pub fn parse(spec: &str) -> Result<MethodSpec> {
        let bad = |why: &str| Error::Config(format!("--methods: {spec:?} {why}"));
        let mut parts = spec.split('+');
        let base = parts.next().unwrap_or_default();
        let method = match base {
            "ce" | "kd" => Method::Ce,
            "cskd" => Method::Cskd,
            "ls" => Method::Ls,
            "pskd" => Method::Pskd,
            _ => return Err(bad("is not a method: expected ce, cskd, ls, pskd or kd")),
        };
        let (mut mix, mut kd) = (Mix::None, base == "kd");
        for p in parts {
            match p {
                "mixup" if mix == Mix::None => mix = Mix::Mixup,
                "cutmix" if mix == Mix::None => mix = Mix::Cutmix,
                "kd" if !kd => kd = true,
                _ => return Err(bad(&format!("has an unknown or repeated part {p:?}"))),
            }
        }
        Ok(MethodSpec {
            name: spec.to_string(),
            method,
            mix,
            kd,
        })
    }
}

/// The grid: methods and seeds in the order given, each once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    pub methods: Vec<MethodSpec>,
    pub seeds: Vec<u64>,
    /// One line per repeat dropped.
    pub warnings: Vec<String>,
}

impl Grid {
    /// From the values of `--methods` and `--seeds` (each flag may be repeated: values append).
    pub fn new(methods: &[String], seeds: &[u64]) -> Result<Grid> {
        if methods.is_empty() || seeds.is_empty() {
            return Err(Error::Config(
                "--methods and --seeds need at least one value".into(),
            ));
        }
        let mut warnings = Vec::new();
        let mut specs: Vec<MethodSpec> = Vec::new();
        for m in methods {
            let spec = MethodSpec::parse(m.trim())?;
            if specs.iter().any(|s| s.name == spec.name) {
                warnings.push(format!("--methods lists {} twice: it runs once", spec.name));
            } else {
                specs.push(spec);
            }
        }
        let mut unique: Vec<u64> = Vec::new();
        for &s in seeds {
            if unique.contains(&s) {
                warnings.push(format!("--seeds lists {s} twice: it runs once"));
            } else {
                unique.push(s);
            }
        }
        Ok(Grid {
            methods: specs,
            seeds: unique,
            warnings,
        })
    }

    /// From text: comma-separated methods, then a newline, then comma-separated seeds.
    pub fn parse(text: &str) -> Result<Grid> {
        let (methods, seeds) = text
            .split_once('\n')
            .ok_or_else(|| Error::Config("a grid is methods, a newline, then seeds".into()))?;
        let methods: Vec<String> = methods.split(',').map(str::to_string).collect();
        let seeds = seeds
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<u64>()
                    .map_err(|e| Error::Config(format!("--seeds: {s:?}: {e}")))
            })
            .collect::<Result<Vec<u64>>>()?;
        Grid::new(&methods, &seeds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_run_once_and_say_so() {
        let g = Grid::parse("ce,cskd,ce\n1,1,2").unwrap();
        let names: Vec<&str> = g.methods.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["ce", "cskd"]);
        assert_eq!(g.seeds, [1, 2]);
        assert_eq!(g.warnings.len(), 2, "{:?}", g.warnings);
    }

    #[test]
    fn specs_combine_mixing_and_kd_once_each() {
        let s = MethodSpec::parse("cskd+cutmix+kd").unwrap();
        assert_eq!((s.method, s.mix, s.kd), (Method::Cskd, Mix::Cutmix, true));
        assert!(MethodSpec::parse("kd").unwrap().kd);
        for bad in ["", "resnet", "cskd+mixup+cutmix", "kd+kd", "ce+"] {
            assert!(MethodSpec::parse(bad).is_err(), "{bad}");
        }
        assert!(Grid::parse("ce\n").is_err());
        assert!(Grid::parse("ce\nx").is_err());
    }
}
