//! The sandbox image, built without any registry: a debootstrap minbase
//! rootfs with python3, imported with `docker import`.
//!
//! The image carries a label with a hash of its recipe, so it is rebuilt
//! only when the recipe below changes.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::cmd::{self, output};

/// Repository and tag of the image `rlm-config` names by default.
pub(crate) const REPOSITORY: &str = "rlm-sandbox";
const TAG: &str = "bookworm";
const LABEL: &str = "org.rlm.recipe";
const SUITE: &str = "bookworm";
const PACKAGES: &str = "python3";
/// What is removed from the rootfs: caches, docs, and the package tools
/// model code has no use for.
const PRUNE: &[&str] = &[
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
    "usr/share/info",
];
/// Changes applied at import. No registry, no Dockerfile: the image runs
/// as an unprivileged user and has no entrypoint beyond python3.
const CHANGES: &[&str] = &[
    "USER 65534:65534",
    "WORKDIR /tmp",
    "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8",
    "CMD [\"python3\"]",
];

/// `rlm-sandbox:bookworm`.
pub(crate) fn reference() -> String {
    format!("{REPOSITORY}:{TAG}")
}

/// A content hash of the recipe (FNV-1a 64: stable across Rust versions,
/// unlike `DefaultHasher`).
pub(crate) fn recipe_hash() -> String {
    let recipe = format!(
        "{SUITE}|{PACKAGES}|{}|{}|v1",
        PRUNE.join(","),
        CHANGES.join(";")
    );
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in recipe.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn mirror() -> String {
    // Use the mirror apt already reaches; registries are all this machine can reach.
    let sources = [
        "/etc/apt/sources.list.d/debian.sources",
        "/etc/apt/sources.list",
    ];
    for path in sources {
        let Ok(text) = fs::read_to_string(path) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            if let Some(uri) = line.strip_prefix("URIs:") {
                if let Some(u) = uri.split_whitespace().find(|u| !u.contains("security")) {
                    return u.to_string();
                }
            }
            if line.starts_with("deb ") && !line.contains("security") {
                if let Some(u) = line.split_whitespace().find(|w| w.starts_with("http")) {
                    return u.to_string();
                }
            }
        }
    }
    "http://deb.debian.org/debian".to_string()
}

/// Builds the image unless one with the current recipe exists.
pub(crate) fn ensure(force: bool) -> Result<String> {
    let reference = reference();
    let hash = recipe_hash();
    let current = output(
        "docker",
        &[
            "image",
            "inspect",
            "--format",
            &format!("{{{{ index .Config.Labels \"{LABEL}\" }}}}"),
            &reference,
        ],
    );
    if !force && current.as_deref() == Some(hash.as_str()) {
        return Ok(format!("{reference} is current (recipe {hash})"));
    }
    let work = PathBuf::from(format!("/var/cache/rlm/rootfs-{hash}"));
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    }
    fs::create_dir_all(&work)?;
    let work_s = work.display().to_string();
    let mirror = mirror();
    cmd::run(
        "debootstrap",
        &[
            "--variant=minbase",
            &format!("--include={PACKAGES}"),
            SUITE,
            &work_s,
            &mirror,
        ],
    )
    .context("debootstrap failed: check that the Debian mirror answers (`apt-get update`)")?;
    for p in PRUNE {
        let dir = work.join(p);
        if dir.is_dir() {
            for entry in fs::read_dir(&dir)?.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
            }
        }
    }
    let mut import = Command::new("docker");
    import.arg("import");
    for c in CHANGES {
        import.args(["--change", c]);
    }
    import
        .args(["--change", &format!("LABEL {LABEL}={hash}")])
        .args(["-", &reference])
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let mut tar = Command::new("tar")
        .args(["--numeric-owner", "-C", &work_s, "-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run tar")?;
    let tar_out = tar.stdout.take().context("tar has no stdout")?;
    let status = import
        .stdin(tar_out)
        .status()
        .context("cannot run docker import")?;
    let tar_status = tar.wait()?;
    if !status.success() || !tar_status.success() {
        bail!("importing the rootfs as {reference} failed");
    }
    let _ = fs::remove_dir_all(&work);
    let size = output(
        "docker",
        &["image", "inspect", "--format", "{{.Size}}", &reference],
    )
    .and_then(|s| s.parse::<u64>().ok())
    .unwrap_or(0);
    Ok(format!(
        "built {reference} ({} MB, recipe {hash})",
        size / 1_000_000
    ))
}
