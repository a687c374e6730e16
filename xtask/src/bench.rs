//! `cargo xtask bench`: every criterion bench, and one JSON report.
//!
//! Criterion writes `target/criterion/<id>/new/estimates.json`; benches that
//! measure things criterion cannot (a cold container start next to `docker
//! run`) write `target/bench-figures/<name>.json`. Both are gathered into
//! `target/bench-report.json`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::cmd::{self, root};

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// Only this package (default: the whole workspace).
    #[arg(long, short)]
    package: Option<String>,
}

pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    match &args.package {
        Some(p) => cmd::run("cargo", &["bench", "-p", p])?,
        None => cmd::run("cargo", &["bench", "--workspace"])?,
    }
    let target = root().join("target");
    let mut criterion = Map::new();
    collect_estimates(
        &target.join("criterion"),
        &target.join("criterion"),
        &mut criterion,
    )?;
    let mut figures = Map::new();
    if let Ok(entries) = fs::read_dir(target.join("bench-figures")) {
        for e in entries.flatten() {
            let text = fs::read_to_string(e.path())?;
            if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(&text) {
                figures.extend(obj);
            }
        }
    }
    let report = json!({ "figures": figures, "criterion": criterion });
    let path = target.join("bench-report.json");
    fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("bench: report written to {}", path.display());
    Ok(())
}

fn collect_estimates(base: &Path, dir: &Path, out: &mut Map<String, Value>) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            let est = path.join("new").join("estimates.json");
            if est.is_file() {
                let v: Value = serde_json::from_str(&fs::read_to_string(&est)?)?;
                let id = path
                    .strip_prefix(base)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                out.insert(
                    id,
                    json!({
                        "median_ns": v["median"]["point_estimate"],
                        "mean_ns": v["mean"]["point_estimate"],
                    }),
                );
            } else if path.file_name().is_some_and(|n| n != "report") {
                collect_estimates(base, &path, out)?;
            }
        }
    }
    Ok(())
}
