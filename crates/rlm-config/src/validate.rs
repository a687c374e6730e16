//! Rules across settings: ranges, and the unsafe combinations each profile
//! refuses.

use std::collections::BTreeMap;

use crate::error::{setting_name, ConfigError};
use crate::resolve::Origin;
use crate::schema::{all_specs, Config};
use crate::value::{ByteSize, ExecutionMode, Profile, RuntimeChoice};

/// The smallest pids limit with which a gVisor sandbox starts on the
/// machines this was measured on: runsc counts its own host threads.
pub const MIN_PIDS_LIMIT: u32 = 64;
/// The smallest memory limit in which the sandbox's Python REPL starts.
pub const MIN_MEMORY: u64 = 32 * ByteSize::MIB;

/// Checks `config`; returns warnings for what is allowed but risky.
pub(crate) fn validate(
    config: &Config,
    origins: &BTreeMap<String, Origin>,
) -> Result<Vec<String>, ConfigError> {
    let specs = all_specs();
    let name = |key: &str| {
        let origin = origins.get(key).cloned().unwrap_or(Origin::Default);
        setting_name(key, specs.iter().find(|s| s.key == key), &origin)
    };
    let refuse = |key: &str, problem: String, fix: &str| ConfigError::Refused {
        setting: name(key),
        problem,
        fix: fix.to_string(),
    };
    let s = &config.sandbox;
    let profile = config.general.profile;
    let mut warnings = Vec::new();

    if s.memory_limit.bytes() < MIN_MEMORY {
        return Err(refuse(
            "sandbox.memory_limit",
            format!(
                "{} is below the 32m the sandbox needs to start",
                s.memory_limit
            ),
            "set 32m or more (512m is the default)",
        ));
    }
    if !(s.cpu_limit > 0.0 && s.cpu_limit <= 1024.0) {
        return Err(refuse(
            "sandbox.cpu_limit",
            format!("{} cores is not a usable CPU quota", s.cpu_limit),
            "set a number of cores above 0, like 0.5 or 2",
        ));
    }
    if s.pids_limit < MIN_PIDS_LIMIT {
        return Err(refuse(
            "sandbox.pids_limit",
            format!(
                "{} is below {MIN_PIDS_LIMIT}: gVisor counts its own threads against it and the sandbox dies at start",
                s.pids_limit
            ),
            "set 64 or more; processes inside are bounded by RLM_NPROC_LIMIT",
        ));
    }
    if s.nproc_limit == 0 || s.nofile_limit < 16 {
        return Err(refuse(
            "sandbox.nofile_limit",
            "nproc must be at least 1 and nofile at least 16 for Python to start".to_string(),
            "raise RLM_NPROC_LIMIT / RLM_NOFILE_LIMIT",
        ));
    }
    if s.execution_timeout.get().is_zero() {
        return Err(refuse(
            "sandbox.execution_timeout",
            "a zero timeout would interrupt every cell".to_string(),
            "set a duration like 30s",
        ));
    }
    if s.docker_image.trim().is_empty() {
        return Err(refuse(
            "sandbox.docker_image",
            "no image named".to_string(),
            "name an image with python3, or run `cargo xtask setup` to build rlm-sandbox:bookworm",
        ));
    }
    if config.egress.max_stdout_bytes.bytes() < 256 {
        return Err(refuse(
            "egress.max_stdout_bytes",
            "below 256 bytes no useful output is left".to_string(),
            "set 256 or more (64k is the default)",
        ));
    }
    if config.budget.cost_limit_usd.micros == 0 {
        return Err(refuse(
            "budget.cost_limit_usd",
            "a zero limit refuses every call".to_string(),
            "set a positive amount like 5 or 0.50",
        ));
    }
    if let Some(t) = config.egress.entropy_threshold {
        if !(0.0..=8.0).contains(&t) {
            return Err(refuse(
                "egress.entropy_threshold",
                format!("{t} bits per character is outside 0..8"),
                "set a value like 4.5, or unset it to derive thresholds per alphabet",
            ));
        }
    }
    for (bname, b) in [
        ("llm", &config.circuit.llm),
        ("docker", &config.circuit.docker),
        ("filesystem", &config.circuit.filesystem),
    ] {
        if b.failure_threshold == 0 || !(b.failure_rate > 0.0 && b.failure_rate <= 1.0) {
            return Err(refuse(
                &format!("circuit.{bname}.failure_threshold"),
                "a breaker needs a failure threshold of 1 or more and a failure rate in (0, 1]"
                    .to_string(),
                "set failure_threshold like 5 and failure_rate like 0.5",
            ));
        }
    }

    // Unsafe choices, per profile.
    match profile {
        Profile::Maximum => {
            if s.docker_runtime == RuntimeChoice::Runc {
                return Err(refuse(
                    "sandbox.docker_runtime",
                    "runc is refused under the maximum profile: the host kernel would be the only boundary".to_string(),
                    "use auto or runsc, or choose RLM_PROFILE=standard to accept runc",
                ));
            }
            if s.execution_mode == ExecutionMode::Local {
                return Err(refuse(
                    "sandbox.execution_mode",
                    "local execution runs model code on this host with no isolation".to_string(),
                    "use docker; local is only possible under RLM_PROFILE=development",
                ));
            }
            let ack = config.general.acknowledge_unsafe;
            if s.network_enabled && !ack {
                return Err(refuse(
                    "sandbox.network_enabled",
                    "a network in the sandbox is refused under the maximum profile".to_string(),
                    "turn it off, or state it explicitly with RLM_ACKNOWLEDGE_UNSAFE=1",
                ));
            }
            if s.allow_unsafe_runtime && !ack {
                return Err(refuse(
                    "sandbox.allow_unsafe_runtime",
                    "an unsafe runtime is refused under the maximum profile".to_string(),
                    "turn it off, state it explicitly with RLM_ACKNOWLEDGE_UNSAFE=1, or choose RLM_PROFILE=standard",
                ));
            }
            if s.network_enabled || s.allow_unsafe_runtime {
                warnings.push("maximum profile with an acknowledged unsafe choice (network or unsafe runtime)".to_string());
            }
        }
        Profile::Standard => {
            if s.execution_mode == ExecutionMode::Local {
                return Err(refuse(
                    "sandbox.execution_mode",
                    "local execution runs model code on this host with no isolation".to_string(),
                    "use docker; local is only possible under RLM_PROFILE=development",
                ));
            }
            if s.docker_runtime == RuntimeChoice::Runc || s.allow_unsafe_runtime {
                warnings.push("standard profile: sandboxes may run under runc, where the host kernel is the only boundary".to_string());
            }
            if s.network_enabled {
                warnings.push(
                    "the sandbox has a network: model code can send data anywhere".to_string(),
                );
            }
        }
        Profile::Development => {
            if s.execution_mode == ExecutionMode::Local {
                warnings.push("UNSAFE: development profile with local execution: model code runs on this host with your privileges".to_string());
            }
            if s.network_enabled {
                warnings.push(
                    "the sandbox has a network: model code can send data anywhere".to_string(),
                );
            }
        }
    }
    Ok(warnings)
}
