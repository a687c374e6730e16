//! The `rlm run` contract on the bundled demo (replayed model, real
//! sandbox): the answer, the `--json` keys, limit exit codes, and no
//! sandbox left behind by Ctrl-C.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rlm_tests::{docker_available, rlm};

/// `rlm run EXTRA… --context <demo> --llm replay:<demo> <question>`.
fn demo_run(extra: &[&str]) -> Command {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/demo");
    let question = std::fs::read_to_string(dir.join("question.txt")).expect("question");
    let mut cmd = rlm();
    cmd.arg("run")
        .args(extra)
        .arg("--context")
        .arg(dir.join("context.txt"))
        .arg("--llm")
        .arg(format!("replay:{}", dir.join("trajectory.jsonl").display()))
        .arg(question.trim());
    cmd
}

fn containers_of(pid: u32) -> usize {
    let out = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=org.rlm.owner-pid={pid}"),
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn answers_with_the_contract_json() {
    if !docker_available("answers_with_the_contract_json") {
        return;
    }
    let out = demo_run(&["--json"]).output().expect("rlm runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in [
        "answer",
        "iterations",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "llm_calls",
    ] {
        assert!(v.get(key).is_some(), "--json lacks {key}: {v}");
    }
    assert!(
        v["answer"].as_str().is_some_and(|a| a.contains("7731")),
        "{v}"
    );
    assert!(
        v["llm_calls"].as_u64().is_some_and(|n| n > 1),
        "sub-calls were made: {v}"
    );
}

#[test]
fn limits_have_their_own_exit_codes() {
    if !docker_available("limits_have_their_own_exit_codes") {
        return;
    }
    let out = demo_run(&["--max-iterations", "1"])
        .output()
        .expect("rlm runs");
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-iterations"));
    let out = demo_run(&["--cost-limit-usd", "0.000001"])
        .output()
        .expect("rlm runs");
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = rlm()
        .args(["run", "--max-depth", "deep", "q"])
        .output()
        .expect("rlm runs");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn ctrl_c_leaves_no_sandbox() {
    if !docker_available("ctrl_c_leaves_no_sandbox") {
        return;
    }
    for delay_ms in [200u64, 500, 700, 900, 1100] {
        let child = demo_run(&[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("rlm runs");
        let pid = child.id();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        let out = child.wait_with_output().expect("rlm ends");
        // 130 when interrupted mid-run; 0 if the run was already done; killed
        // by the signal itself if it came before any sandbox existed.
        assert!(
            matches!(out.status.code(), Some(130) | Some(0) | None),
            "{:?}",
            out.status
        );
        assert_eq!(
            containers_of(pid),
            0,
            "a sandbox of pid {pid} outlived Ctrl-C at {delay_ms} ms"
        );
    }
}
