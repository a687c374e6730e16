//! The container definition every sandbox gets: one function, so no caller
//! can forget an option. `docs/layers/runtime.md` explains each choice.

use std::collections::HashMap;
use std::path::Path;

use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType, ResourcesUlimits,
};
use rlm_config::SandboxConfig;

/// The uid:gid code runs as: `nobody`, which owns nothing in the image.
pub const SANDBOX_USER: &str = "65534:65534";
/// Where a context file is mounted inside the sandbox (read-only).
pub const CONTEXT_MOUNT: &str = "/rlm/context";
/// Where a warm-pool container's context directory is mounted (read-only);
/// the context is hard-linked into it on the host when the session is taken.
pub const CONTEXT_DIR_MOUNT: &str = "/rlm/ctxdir";

/// The bootstrap the container runs: read a decimal length line and that
/// many bytes of agent source from stdin, unbuffered (so no frame that
/// follows is swallowed by a read-ahead buffer), and execute it. Any image
/// with `python3` works; nothing is baked in.
pub(crate) const BOOTSTRAP: &str = "import os
def _r(n):
    b = b''
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c:
            raise SystemExit(3)
        b += c
    return b
h = b''
while not h.endswith(b'\\n'):
    h += _r(1)
    if len(h) > 16:
        raise SystemExit(3)
exec(compile(_r(int(h)), '<rlm-agent>', 'exec'), {'__name__': '__rlm_agent__'})
";

/// The command line of a sandbox: isolated mode (`-I`: no user site, no
/// PYTHON* environment, no script directory on the path), no `site` (`-S`),
/// unbuffered streams.
pub(crate) fn sandbox_cmd() -> Vec<String> {
    ["python3", "-I", "-S", "-u", "-c", BOOTSTRAP]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The only environment a sandbox sees. Nothing from the host is forwarded:
/// no API key, no proxy settings, no `RLM_*`.
pub(crate) fn sandbox_env() -> Vec<String> {
    vec![
        "LANG=C.UTF-8".to_string(),
        "HOME=/tmp".to_string(),
        "PYTHONDONTWRITEBYTECODE=1".to_string(),
        "PATH=/usr/local/bin:/usr/bin:/bin".to_string(),
    ]
}

/// What is mounted into the container.
#[derive(Debug, Clone)]
pub(crate) enum ContextMount<'a> {
    /// Nothing.
    None,
    /// One file at [`CONTEXT_MOUNT`].
    File(&'a Path),
    /// A directory at [`CONTEXT_DIR_MOUNT`] (warm pool).
    Dir(&'a Path),
}

/// The full, hardened container definition.
pub(crate) fn container_body(
    cfg: &SandboxConfig,
    image: &str,
    runtime: &str,
    cmd: Vec<String>,
    labels: HashMap<String, String>,
    mount: ContextMount<'_>,
    interactive: bool,
) -> ContainerCreateBody {
    let memory = i64::try_from(cfg.memory_limit.bytes()).unwrap_or(i64::MAX);
    let nano_cpus = (cfg.cpu_limit * 1e9).round() as i64;
    let fsize = i64::try_from(cfg.fsize_limit.bytes()).unwrap_or(i64::MAX);
    let ulimit = |name: &str, v: i64| ResourcesUlimits {
        name: Some(name.to_string()),
        soft: Some(v),
        hard: Some(v),
    };
    let mut tmpfs = HashMap::new();
    tmpfs.insert(
        "/tmp".to_string(),
        format!(
            "rw,noexec,nosuid,nodev,size={},mode=1777",
            cfg.tmpfs_size.bytes()
        ),
    );
    let mounts = match mount {
        ContextMount::None => None,
        ContextMount::File(p) => Some(vec![ro_bind(p, CONTEXT_MOUNT)]),
        ContextMount::Dir(p) => Some(vec![ro_bind(p, CONTEXT_DIR_MOUNT)]),
    };
    let host_config = HostConfig {
        runtime: Some(runtime.to_string()),
        network_mode: Some(
            if cfg.network_enabled {
                "bridge"
            } else {
                "none"
            }
            .to_string(),
        ),
        memory: Some(memory),
        // Equal to memory: no swap, so the limit is the limit.
        memory_swap: Some(memory),
        nano_cpus: Some(nano_cpus),
        pids_limit: Some(i64::from(cfg.pids_limit)),
        cap_drop: Some(vec!["ALL".to_string()]),
        security_opt: Some(vec!["no-new-privileges".to_string()]),
        readonly_rootfs: Some(true),
        tmpfs: Some(tmpfs),
        ulimits: Some(vec![
            ulimit("nofile", i64::from(cfg.nofile_limit)),
            ulimit("nproc", i64::from(cfg.nproc_limit)),
            ulimit("fsize", fsize),
            // No core dumps: a crash must not write memory (the context) to disk.
            ulimit("core", 0),
        ]),
        ipc_mode: Some("none".to_string()),
        privileged: Some(false),
        // Removed explicitly by the session, so an exited container can
        // still be inspected (OOMKilled, exit code) before it goes.
        auto_remove: Some(false),
        // Output is read from the attach stream with caps; a log driver
        // would keep an unbounded copy (possibly of the context) on disk.
        log_config: Some(HostConfigLogConfig {
            typ: Some("none".to_string()),
            config: None,
        }),
        init: Some(false),
        mounts,
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(cmd),
        entrypoint: Some(Vec::new()),
        env: Some(sandbox_env()),
        user: Some(SANDBOX_USER.to_string()),
        working_dir: Some("/tmp".to_string()),
        hostname: Some("sandbox".to_string()),
        network_disabled: Some(!cfg.network_enabled),
        labels: Some(labels),
        tty: Some(false),
        attach_stdin: Some(interactive),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(interactive),
        // When the host's attach connection closes (the host died), the
        // container's stdin closes and the agent exits.
        stdin_once: Some(interactive),
        host_config: Some(host_config),
        ..Default::default()
    }
}

fn ro_bind(source: &Path, target: &str) -> Mount {
    Mount {
        target: Some(target.to_string()),
        source: Some(source.to_string_lossy().into_owned()),
        typ: Some(MountType::BIND),
        read_only: Some(true),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_set() {
        let cfg = rlm_config::Config::defaults().expect("defaults").sandbox;
        let body = container_body(
            &cfg,
            "img",
            "runsc",
            sandbox_cmd(),
            HashMap::new(),
            ContextMount::File(Path::new("/data/ctx.txt")),
            true,
        );
        let hc = body.host_config.clone().expect("host config");
        assert_eq!(hc.network_mode.as_deref(), Some("none"));
        assert_eq!(hc.memory, hc.memory_swap);
        assert_eq!(hc.memory, Some(512 * 1024 * 1024));
        assert_eq!(hc.nano_cpus, Some(1_000_000_000));
        assert_eq!(hc.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(hc.readonly_rootfs, Some(true));
        assert_eq!(hc.ipc_mode.as_deref(), Some("none"));
        assert!(hc.tmpfs.expect("tmpfs")["/tmp"].contains("noexec,nosuid,nodev,size="));
        let names: Vec<_> = hc
            .ulimits
            .expect("ulimits")
            .into_iter()
            .filter_map(|u| u.name)
            .collect();
        for n in ["nofile", "nproc", "fsize"] {
            assert!(names.iter().any(|x| x == n), "{n}");
        }
        assert_eq!(body.user.as_deref(), Some(SANDBOX_USER));
        let env = body.env.expect("env");
        assert!(env
            .iter()
            .all(|e| !e.contains("KEY") && !e.starts_with("RLM_")));
        let m = &hc.mounts.expect("mounts")[0];
        assert_eq!(m.read_only, Some(true));
        assert!(hc.binds.is_none(), "no docker socket or other bind");
    }
}
