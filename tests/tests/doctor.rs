//! `rlm doctor` against the real engine: green when the host is set up,
//! non-zero with a fix when the configured profile cannot run.

use rlm_tests::{docker_available, rlm};

#[test]
fn doctor_is_green_on_a_set_up_host() {
    if !docker_available("doctor_is_green_on_a_set_up_host") {
        return;
    }
    let out = rlm().args(["doctor"]).output().expect("rlm runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("runsc isolates"), "{stdout}");
    assert!(stdout.contains("profile maximum can run here"), "{stdout}");
    assert!(stdout.contains("provider.api_key"), "{stdout}");
}

#[test]
fn doctor_json_names_every_check() {
    if !docker_available("doctor_json_names_every_check") {
        return;
    }
    let out = rlm()
        .args(["doctor", "--json"])
        .env("RLM_API_KEY", "sk-ant-api03-doctorsecretvalue0123456789")
        .output()
        .expect("rlm runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["ok"], true);
    let checks: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["check"].as_str())
        .collect();
    for name in [
        "configuration",
        "docker",
        "runtimes",
        "image",
        "gvisor probe",
        "runtime choice",
    ] {
        assert!(checks.contains(&name), "{name} missing from {checks:?}");
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains("doctorsecretvalue"));
}

#[test]
fn doctor_fails_with_a_fix_when_the_image_is_missing() {
    if !docker_available("doctor_fails_with_a_fix_when_the_image_is_missing") {
        return;
    }
    let out = rlm()
        .args(["doctor"])
        .env("RLM_DOCKER_IMAGE", "rlm-no-such-image:never")
        .output()
        .expect("rlm runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("fix: run `cargo xtask setup`"), "{stdout}");
    assert!(stdout.contains("cannot run here"), "{stdout}");
}

#[test]
fn doctor_fails_when_docker_is_unreachable() {
    let out = rlm()
        .args(["doctor"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("rlm runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[FAIL] docker"), "{stdout}");
    assert!(stdout.contains("cargo xtask setup"), "{stdout}");
}

#[test]
fn doctor_exits_2_on_bad_configuration() {
    let out = rlm()
        .args(["doctor"])
        .env("RLM_PIDS_LIMIT", "ten")
        .output()
        .expect("rlm runs");
    assert_eq!(out.status.code(), Some(2));
}
