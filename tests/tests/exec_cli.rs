//! The exact `rlm exec` contract against the real engine: exit codes 0, 1,
//! 124, 137, 2, 3, the `--json` keys, the context, and egress on output.

use std::io::Write;
use std::process::{Output, Stdio};

use rlm_tests::{docker_available, rlm};

fn exec(args: &[&str], env: &[(&str, &str)], code: &str) -> Output {
    let mut child = rlm()
        .arg("exec")
        .args(args)
        .arg("-")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rlm runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(code.as_bytes())
        .expect("write code");
    child.wait_with_output().expect("rlm finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn exit_codes_follow_the_contract() {
    if !docker_available("exit_codes_follow_the_contract") {
        return;
    }
    let ok = exec(&[], &[], "x = 6 * 7\nprint(x)\n");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim(), "42");

    let raised = exec(&[], &[], "raise ValueError('boom')\n");
    assert_eq!(raised.status.code(), Some(1));
    assert!(text(&raised.stderr).contains("ValueError: boom"));

    let exited = exec(&[], &[], "import sys\nsys.exit(3)\n");
    assert_eq!(exited.status.code(), Some(1));

    let timeout = exec(&["--timeout", "1"], &[], "import time\ntime.sleep(30)\n");
    assert_eq!(timeout.status.code(), Some(124));

    let oom = exec(&["--memory", "128m"], &[], "x = 'a' * 10**9\n");
    assert_eq!(oom.status.code(), Some(137), "{}", text(&oom.stderr));
}

#[test]
fn json_has_the_contract_keys() {
    if !docker_available("json_has_the_contract_keys") {
        return;
    }
    let out = exec(&["--json"], &[], "print('hi')\n");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in [
        "stdout",
        "stderr",
        "exit_code",
        "exception",
        "duration_ms",
        "runtime",
        "timed_out",
        "oom",
    ] {
        assert!(v.get(key).is_some(), "--json lacks {key}: {v}");
    }
    assert_eq!(v["stdout"], "hi\n");
    assert_eq!(v["runtime"], "runsc");
    assert_eq!(v["exit_code"], 0);
}

#[test]
fn usage_and_config_errors_exit_2() {
    let missing = rlm()
        .args(["exec", "/nonexistent/code.py"])
        .output()
        .expect("rlm runs");
    assert_eq!(missing.status.code(), Some(2));
    let bad = exec(&["--memory", "lots"], &[], "print(1)\n");
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("expected a size"));
    let runc = exec(&["--runtime", "runc"], &[], "print(1)\n");
    assert_eq!(runc.status.code(), Some(2));
    assert!(text(&runc.stderr).contains("refused under the maximum profile"));
    let flag = rlm()
        .args(["exec", "--no-such-flag", "-"])
        .output()
        .expect("rlm runs");
    assert_eq!(flag.status.code(), Some(2));
}

#[test]
fn unavailable_sandbox_exits_3() {
    let out = exec(
        &[],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
        "print(1)\n",
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cargo xtask setup"));
}

#[test]
fn context_is_readable_and_protected() {
    if !docker_available("context_is_readable_and_protected") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("context.txt");
    let secret_line = "the vault code is 7d1f0c5e9a3b4c2d8e6f1a0b9c8d7e6f5a4b3c2d1e0f9a8b\n";
    let mut body = String::new();
    for i in 0..2000 {
        body.push_str(&format!(
            "line {i}: ordinary log text about request handling\n"
        ));
    }
    body.push_str(secret_line);
    std::fs::write(&path, &body).expect("write context");
    // The sandbox user must be able to read the mounted file.
    let _ = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir.path())
        .status();
    let ctx = path.display().to_string();

    let small = exec(
        &["--context", &ctx],
        &[],
        "print(len(context))\nprint(context.search('vault', max_results=1)[0][0])\n",
    );
    assert_eq!(small.status.code(), Some(0), "{}", text(&small.stderr));
    let lines: Vec<String> = text(&small.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines[0], body.len().to_string());

    // Dumping the context: verbatim runs over the echo limit are redacted.
    let dump = exec(&["--context", &ctx], &[], "print(context[:])\n");
    let stdout = text(&dump.stdout);
    assert!(
        !stdout.contains("7d1f0c5e9a3b4c2d8e6f1a0b9c8d7e6f"),
        "secret left the sandbox"
    );
    assert!(
        stdout.contains("[REDACTED"),
        "{}",
        &stdout[..stdout.len().min(300)]
    );
}
