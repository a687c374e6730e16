//! Bad configuration of every kind gives a clear error and exit 2 from the
//! real binary, never a panic.

use std::io::Write;

use rlm_tests::rlm;

fn check(env: &[(&str, &str)], args: &[&str], needle: &str) {
    let out = rlm()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("rlm runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{env:?} {args:?}: stderr {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "{env:?} {args:?}: expected `{needle}` in {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_values_and_names() {
    let show = ["config", "check"];
    check(
        &[("RLM_MEMORY_LIMIT", "12x")],
        &show,
        "RLM_MEMORY_LIMIT='12x': expected a size like 512m or 2g",
    );
    check(&[("RLM_CPU_LIMIT", "lots")], &show, "RLM_CPU_LIMIT='lots'");
    check(&[("RLM_PIDS_LIMIT", "-5")], &show, "whole number");
    check(
        &[("RLM_PIDS_LIMIT", "10")],
        &show,
        "gVisor counts its own threads",
    );
    check(&[("RLM_EXECUTION_TIMEOUT", "forever")], &show, "duration");
    check(
        &[("RLM_PROFILE", "paranoid")],
        &show,
        "maximum, standard, development",
    );
    check(
        &[("RLM_DOCKER_RUNTIME", "kata")],
        &show,
        "auto, runsc, runc",
    );
    check(&[("RLM_COST_LIMIT_USD", "ten")], &show, "dollars");
    check(
        &[("RLM_API_PROVIDER", "cohere")],
        &show,
        "openai, anthropic",
    );
    check(
        &[("RLM_MEMROY_LIMIT", "1g")],
        &show,
        "did you mean `RLM_MEMORY_LIMIT`",
    );
    check(
        &[("RLM_DOCKER_RUNTIME", "runc")],
        &show,
        "refused under the maximum profile",
    );
    check(
        &[("RLM_NETWORK_ENABLED", "true")],
        &show,
        "RLM_ACKNOWLEDGE_UNSAFE",
    );
    check(&[("RLM_EXECUTION_MODE", "local")], &show, "development");
    check(
        &[],
        &["--profile", "bogus", "config", "check"],
        "--profile='bogus'",
    );
}

#[test]
fn bad_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &[u8]| {
        let p = dir.path().join(name);
        std::fs::File::create(&p)
            .and_then(|mut f| f.write_all(text))
            .expect("write");
        p.display().to_string()
    };
    let typo = write("typo.toml", b"[sandbox]\nmemroy_limit = \"1g\"\n");
    check(
        &[],
        &["--config", &typo, "config", "check"],
        "did you mean `sandbox.memory_limit`",
    );
    let broken = write("broken.toml", b"[sandbox\n");
    check(
        &[],
        &["--config", &broken, "config", "check"],
        "is not valid TOML",
    );
    let binary = write("binary.toml", &[0xff, 0xfe, 0x00, 0x80]);
    check(
        &[],
        &["--config", &binary, "config", "check"],
        "not UTF-8 text",
    );
    let table = write("table.toml", b"[sandbox.memory_limit]\nx = 1\n");
    check(
        &[],
        &["--config", &table, "config", "check"],
        "not a setting value",
    );
    check(
        &[],
        &["--config", "/nonexistent/rlm.toml", "config", "check"],
        "cannot read config file",
    );
    check(
        &[("RLM_CONFIG", "/nonexistent/x.toml")],
        &["config", "check"],
        "RLM_CONFIG",
    );
}

#[test]
fn secrets_are_masked_in_show() {
    let out = rlm()
        .env(
            "RLM_API_KEY",
            "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
        )
        .args(["config", "show"])
        .output()
        .expect("rlm runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("provider.api_key"));
    assert!(!stdout.contains("abcdefghijklmnop"), "{stdout}");
}

#[test]
fn usage_errors_exit_2() {
    let out = rlm().args(["no-such-command"]).output().expect("rlm runs");
    assert_eq!(out.status.code(), Some(2));
}
