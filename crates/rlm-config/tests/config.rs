//! Loading, layering, validation and round-trips of the configuration.

use std::io::Write;

use proptest::prelude::*;
use rlm_config::*;

fn load_env(vars: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    ConfigLoader::new().env(vars.iter().copied()).load()
}

fn toml_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    f
}

#[test]
fn defaults_are_maximum_and_safe() {
    let c = Config::defaults().expect("defaults load");
    assert_eq!(c.general.profile, Profile::Maximum);
    assert_eq!(c.sandbox.docker_runtime, RuntimeChoice::Auto);
    assert!(!c.sandbox.allow_unsafe_runtime);
    assert!(!c.sandbox.network_enabled);
    assert!(c.sandbox.pids_limit >= MIN_PIDS_LIMIT);
    assert!(c.sandbox.denied_imports.iter().any(|m| m == "subprocess"));
}

#[test]
fn layers_apply_in_order_and_origins_are_kept() {
    let file = toml_file("[sandbox]\nmemory_limit = \"1g\"\ncpu_limit = 2\npids_limit = 100\n");
    let loaded = ConfigLoader::new()
        .file(file.path())
        .env([("RLM_CPU_LIMIT", "0.5"), ("RLM_PIDS_LIMIT", "200")])
        .flag("sandbox.pids_limit", "300", "--pids-limit")
        .load()
        .expect("loads");
    let c = &loaded.config;
    assert_eq!(c.sandbox.memory_limit, ByteSize(1 << 30));
    assert_eq!(c.sandbox.cpu_limit, 0.5);
    assert_eq!(c.sandbox.pids_limit, 300);
    assert!(matches!(
        loaded.origins["sandbox.memory_limit"],
        Origin::File(_)
    ));
    assert_eq!(
        loaded.origins["sandbox.cpu_limit"],
        Origin::Env("RLM_CPU_LIMIT".into())
    );
    assert_eq!(
        loaded.origins["sandbox.pids_limit"],
        Origin::Flag("--pids-limit".into())
    );
    assert_eq!(loaded.origins["sandbox.tmpfs_size"], Origin::Default);
}

#[test]
fn profile_defaults_sit_below_explicit_values() {
    let loaded = load_env(&[("RLM_PROFILE", "standard")]).expect("loads");
    assert!(loaded.config.sandbox.allow_unsafe_runtime);
    assert_eq!(
        loaded.origins["sandbox.allow_unsafe_runtime"],
        Origin::Profile(Profile::Standard)
    );
    let loaded = load_env(&[
        ("RLM_PROFILE", "standard"),
        ("RLM_ALLOW_UNSAFE_RUNTIME", "0"),
    ])
    .expect("loads");
    assert!(!loaded.config.sandbox.allow_unsafe_runtime);
}

#[test]
fn rlm_config_env_names_the_file() {
    let file = toml_file("profile = \"development\"\n");
    let path = file.path().display().to_string();
    let loaded = load_env(&[("RLM_CONFIG", &path)]).expect("loads");
    assert_eq!(loaded.config.general.profile, Profile::Development);
}

#[test]
fn invalid_values_name_the_source_and_the_fix() {
    let e = load_env(&[("RLM_MEMORY_LIMIT", "12x")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "RLM_MEMORY_LIMIT='12x': expected a size like 512m or 2g"
    );
    let e = load_env(&[("RLM_EXECUTION_TIMEOUT", "soon")]).unwrap_err();
    assert!(e.to_string().contains("expected a duration"), "{e}");
    let e = load_env(&[("RLM_DOCKER_RUNTIME", "kata")]).unwrap_err();
    assert!(e.to_string().contains("one of auto, runsc, runc"), "{e}");
    let e = load_env(&[("RLM_COST_LIMIT_USD", "1.0000001")]).unwrap_err();
    assert!(e.to_string().contains("at most 6 decimals"), "{e}");
    let e = load_env(&[("RLM_NETWORK_ENABLED", "maybe")]).unwrap_err();
    assert!(
        e.to_string().starts_with("RLM_NETWORK_ENABLED='maybe'"),
        "{e}"
    );
    let e = ConfigLoader::new()
        .flag("sandbox.memory_limit", "lots", "--memory")
        .load()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "--memory='lots': expected a size like 512m or 2g"
    );
    let file = toml_file("[sandbox]\nmemory_limit = \"huge\"\n");
    let e = ConfigLoader::new().file(file.path()).load().unwrap_err();
    assert!(e.to_string().starts_with("sandbox.memory_limit in "), "{e}");
}

#[test]
fn unknown_names_suggest_the_nearest() {
    let e = load_env(&[("RLM_MEMORY_LIMT", "1g")]).unwrap_err();
    assert!(
        e.to_string().contains("did you mean `RLM_MEMORY_LIMIT`"),
        "{e}"
    );
    let file = toml_file("[sandbox]\nmemory_limt = \"1g\"\n");
    let e = ConfigLoader::new().file(file.path()).load().unwrap_err();
    assert!(
        e.to_string()
            .contains("did you mean `sandbox.memory_limit`"),
        "{e}"
    );
    let file = toml_file("[sandbx]\nmemory_limit = \"1g\"\n");
    let e = ConfigLoader::new().file(file.path()).load().unwrap_err();
    assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e}");
}

#[test]
fn broken_files_are_clear_errors() {
    let file = toml_file("[sandbox\nmemory_limit = ");
    let e = ConfigLoader::new().file(file.path()).load().unwrap_err();
    assert!(e.to_string().contains("is not valid TOML"), "{e}");
    let e = ConfigLoader::new()
        .file("/nonexistent/rlm.toml")
        .load()
        .unwrap_err();
    assert!(e.to_string().contains("cannot read config file"), "{e}");
    let file = toml_file("[sandbox]\nmemory_limit = { a = 1 }\n");
    let e = ConfigLoader::new().file(file.path()).load().unwrap_err();
    assert!(matches!(e, ConfigError::TomlType { .. }), "{e}");
    let file = toml_file("sandbox = 3\n");
    let e = ConfigLoader::new().file(file.path()).load().unwrap_err();
    assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e}");
}

#[test]
fn unsafe_choices_are_refused_under_maximum() {
    let e = load_env(&[("RLM_DOCKER_RUNTIME", "runc")]).unwrap_err();
    assert!(
        e.to_string().contains("refused under the maximum profile"),
        "{e}"
    );
    let e = load_env(&[("RLM_NETWORK_ENABLED", "1")]).unwrap_err();
    assert!(e.to_string().contains("RLM_ACKNOWLEDGE_UNSAFE"), "{e}");
    let e = load_env(&[("RLM_ALLOW_UNSAFE_RUNTIME", "true")]).unwrap_err();
    assert!(e.to_string().contains("RLM_ALLOW_UNSAFE_RUNTIME"), "{e}");
    let e = load_env(&[("RLM_EXECUTION_MODE", "local")]).unwrap_err();
    assert!(e.to_string().contains("development"), "{e}");
    let e = load_env(&[("RLM_PROFILE", "standard"), ("RLM_EXECUTION_MODE", "local")]).unwrap_err();
    assert!(e.to_string().contains("development"), "{e}");
    // Stated explicitly, they pass with a warning.
    let ok = load_env(&[
        ("RLM_NETWORK_ENABLED", "1"),
        ("RLM_ACKNOWLEDGE_UNSAFE", "1"),
    ])
    .expect("acknowledged");
    assert!(!ok.warnings.is_empty());
    let ok = load_env(&[("RLM_PROFILE", "standard"), ("RLM_DOCKER_RUNTIME", "runc")])
        .expect("standard allows runc");
    assert!(ok.warnings.iter().any(|w| w.contains("runc")));
    let ok = load_env(&[
        ("RLM_PROFILE", "development"),
        ("RLM_EXECUTION_MODE", "local"),
    ])
    .expect("dev allows local");
    assert!(ok.warnings.iter().any(|w| w.contains("UNSAFE")));
}

#[test]
fn ranges_are_checked() {
    for (name, value, needle) in [
        ("RLM_PIDS_LIMIT", "30", "gVisor counts its own threads"),
        ("RLM_MEMORY_LIMIT", "1m", "32m"),
        ("RLM_CPU_LIMIT", "0", "CPU quota"),
        ("RLM_CPU_LIMIT", "-1", "CPU quota"),
        ("RLM_EXECUTION_TIMEOUT", "0s", "zero timeout"),
        ("RLM_COST_LIMIT_USD", "0", "zero limit"),
        ("RLM_ENTROPY_THRESHOLD", "9", "outside 0..8"),
        ("RLM_MAX_STDOUT_BYTES", "10", "256"),
        ("RLM_NOFILE_LIMIT", "3", "nofile"),
        ("RLM_CIRCUIT_LLM_FAILURE_RATE", "1.5", "failure rate"),
        (
            "RLM_CIRCUIT_DOCKER_FAILURE_THRESHOLD",
            "0",
            "failure threshold",
        ),
        ("RLM_PIDS_LIMIT", "99999999999999999999", "whole number"),
        ("RLM_CPU_LIMIT", "NaN", "a number"),
    ] {
        let e = load_env(&[(name, value)]).unwrap_err();
        assert!(e.to_string().contains(needle), "{name}={value}: {e}");
    }
}

#[test]
fn the_api_key_never_prints() {
    let loaded = load_env(&[("RLM_API_KEY", "sk-verysecretkeyvalue1234567890")]).expect("loads");
    let c = &loaded.config;
    assert_eq!(
        c.provider.api_key.expose(),
        "sk-verysecretkeyvalue1234567890"
    );
    assert!(!format!("{c:?}").contains("verysecret"));
    assert!(!format!("{}", c.provider.api_key).contains("verysecret"));
    let shown = loaded.describe();
    assert!(shown.iter().all(|(_, v, _)| !v.contains("verysecret")));
    assert!(!to_toml(c).contains("verysecret"));
}

#[test]
fn empty_environment_values_mean_unset() {
    let loaded = load_env(&[("RLM_MEMORY_LIMIT", "")]).expect("loads");
    assert_eq!(loaded.origins["sandbox.memory_limit"], Origin::Default);
}

#[test]
fn every_spec_has_a_unique_key_and_env_name() {
    let specs = all_specs();
    let mut keys: Vec<_> = specs.iter().map(|s| s.key.clone()).collect();
    let mut envs: Vec<_> = specs.iter().map(|s| s.env.clone()).collect();
    keys.sort();
    keys.dedup();
    envs.sort();
    envs.dedup();
    assert_eq!(keys.len(), specs.len());
    assert_eq!(envs.len(), specs.len());
    for name in [
        "RLM_PROFILE",
        "RLM_EXECUTION_MODE",
        "RLM_DOCKER_IMAGE",
        "RLM_DOCKER_RUNTIME",
        "RLM_ALLOW_UNSAFE_RUNTIME",
        "RLM_NETWORK_ENABLED",
        "RLM_MEMORY_LIMIT",
        "RLM_CPU_LIMIT",
        "RLM_PIDS_LIMIT",
        "RLM_EXECUTION_TIMEOUT",
        "RLM_ENTROPY_THRESHOLD",
        "RLM_MAX_STDOUT_BYTES",
        "RLM_COST_LIMIT_USD",
        "RLM_MAX_RECURSION_DEPTH",
        "RLM_API_PROVIDER",
        "RLM_API_KEY",
        "RLM_API_BASE_URL",
        "RLM_MODEL_NAME",
        "RLM_SUB_MODEL_NAME",
        "RLM_PRICING_PATH",
    ] {
        assert!(
            envs.iter().any(|e| e == name),
            "seed-compatible {name} missing"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sizes_round_trip(n in 0u64..(1u64 << 50)) {
        let s = ByteSize(n);
        prop_assert_eq!(ByteSize::parse(&s.render()), Ok(s));
    }

    #[test]
    fn sizes_with_units_scale(n in 0u64..100_000, unit in prop::sample::select(vec![("k", 1u64 << 10), ("m", 1 << 20), ("g", 1 << 30)])) {
        prop_assert_eq!(ByteSize::parse(&format!("{n}{}", unit.0)), Ok(ByteSize(n * unit.1)));
        prop_assert_eq!(ByteSize::parse(&format!("{n}{}", unit.0.to_uppercase())), Ok(ByteSize(n * unit.1)));
    }

    #[test]
    fn durations_round_trip(ms in 0u64..(1u64 << 40)) {
        let d = Span(std::time::Duration::from_millis(ms));
        prop_assert_eq!(Span::parse(&d.render()), Ok(d));
    }

    #[test]
    fn dollars_round_trip(micros in 0u64..(1u64 << 50)) {
        let u = Usd { micros };
        prop_assert_eq!(Usd::parse(&u.render()), Ok(u));
    }

    #[test]
    fn garbage_never_panics(text in "\\PC{0,40}") {
        let _ = ByteSize::parse(&text);
        let _ = Span::parse(&text);
        let _ = Usd::parse(&text);
        let _ = <f64 as SettingValue>::parse(&text);
        let _ = load_env(&[("RLM_MEMORY_LIMIT", text.as_str())]);
        let file = toml_file(&text);
        let _ = ConfigLoader::new().file(file.path()).load();
    }

    #[test]
    fn configs_round_trip_through_toml(
        mem_mib in 32u64..65536,
        cpu_tenths in 1u32..160,
        pids in 64u32..100_000,
        timeout_ms in 1u64..10_000_000,
        cost in 1u64..1_000_000_000,
        depth in 0u32..10,
        profile in prop::sample::select(vec!["maximum", "standard", "development"]),
        mode in prop::sample::select(vec!["redact", "block"]),
        model in "[a-z0-9.-]{1,20}",
        entropy in prop::option::of(0.0f64..8.0),
    ) {
        let entropy_text = entropy.map(|e| format!("{e:?}")).unwrap_or_default();
        let first = ConfigLoader::new().env([
            ("RLM_PROFILE", profile.to_string()),
            ("RLM_MEMORY_LIMIT", format!("{mem_mib}m")),
            ("RLM_CPU_LIMIT", format!("{}", f64::from(cpu_tenths) / 10.0)),
            ("RLM_PIDS_LIMIT", pids.to_string()),
            ("RLM_EXECUTION_TIMEOUT", format!("{timeout_ms}ms")),
            ("RLM_COST_LIMIT_USD", Usd { micros: cost }.render()),
            ("RLM_MAX_RECURSION_DEPTH", depth.to_string()),
            ("RLM_EGRESS_MODE", mode.to_string()),
            ("RLM_MODEL_NAME", model.clone()),
            ("RLM_ENTROPY_THRESHOLD", entropy_text),
        ]).load().expect("valid");
        let text = to_toml(&first.config);
        let file = toml_file(&text);
        let second = ConfigLoader::new().file(file.path()).load().expect("reloads");
        prop_assert_eq!(first.config, second.config);
    }
}
