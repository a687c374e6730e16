//! Which OCI runtime a sandbox runs under: gVisor first, fail-closed.

use rlm_config::{GeneralConfig, Profile, RuntimeChoice, SandboxConfig};

use crate::error::RuntimeError;
use crate::host::RuntimeInfo;

/// The runtime a sandbox will be created with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenRuntime {
    /// The name to pass as `HostConfig.runtime`.
    pub name: String,
    /// Whether its binary is gVisor's `runsc` (so sessions must see a
    /// kernel other than the host's).
    pub is_gvisor: bool,
    /// One line for logs and `rlm doctor`.
    pub reason: String,
}

/// Picks the runtime for `sandbox` among the daemon's `runtimes`.
///
/// * `auto`: a runtime whose binary is `runsc` (whatever it is named);
///   otherwise `runc` only if unsafe runtimes are allowed (and, under the
///   `maximum` profile, acknowledged); otherwise refused.
/// * `runsc`: a gVisor runtime or refused; never a silent fallback. A
///   runtime *named* `runsc` whose binary is something else does not count.
/// * `runc`: refused under `maximum`; elsewhere it needs
///   `allow_unsafe_runtime` (on by default under `standard`/`development`).
pub fn resolve_runtime(
    sandbox: &SandboxConfig,
    general: &GeneralConfig,
    runtimes: &[RuntimeInfo],
) -> Result<ChosenRuntime, RuntimeError> {
    let gvisor = runtimes
        .iter()
        .filter(|r| r.is_gvisor)
        // Prefer the conventional name when several point at runsc.
        .min_by_key(|r| (r.name != "runsc", r.name.clone()));
    let unsafe_ok = sandbox.allow_unsafe_runtime
        && (general.profile != Profile::Maximum || general.acknowledge_unsafe);
    let runc = || -> Result<ChosenRuntime, RuntimeError> {
        if !runtimes.iter().any(|r| r.name == "runc") {
            return Err(RuntimeError::RuntimeRefused {
                reason: "the Docker daemon has no runtime named runc".to_string(),
                fix: "check `docker info` Runtimes".to_string(),
            });
        }
        Ok(ChosenRuntime {
            name: "runc".to_string(),
            is_gvisor: false,
            reason: "runc: the host kernel is the only boundary (unsafe runtime allowed)"
                .to_string(),
        })
    };
    match sandbox.docker_runtime {
        RuntimeChoice::Auto => match gvisor {
            Some(r) => Ok(ChosenRuntime {
                name: r.name.clone(),
                is_gvisor: true,
                reason: format!("auto: gVisor runtime {} ({})", r.name, r.path),
            }),
            None if unsafe_ok => {
                tracing::warn!("gVisor (runsc) is not registered with Docker: falling back to runc because unsafe runtimes are allowed");
                let mut c = runc()?;
                c.reason = format!("auto: no gVisor runtime registered; {}", c.reason);
                Ok(c)
            }
            None => Err(RuntimeError::RuntimeRefused {
                reason: "no gVisor (runsc) runtime is registered with Docker and runc is not allowed".to_string(),
                fix: "run `cargo xtask setup` to install gVisor, or accept runc with --allow-unsafe-runtime / RLM_ALLOW_UNSAFE_RUNTIME=1 (under the maximum profile also RLM_ACKNOWLEDGE_UNSAFE=1)".to_string(),
            }),
        },
        RuntimeChoice::Runsc => match gvisor {
            Some(r) => Ok(ChosenRuntime {
                name: r.name.clone(),
                is_gvisor: true,
                reason: format!("runsc requested: gVisor runtime {} ({})", r.name, r.path),
            }),
            None => Err(RuntimeError::RuntimeRefused {
                reason: match runtimes.iter().find(|r| r.name == "runsc") {
                    Some(r) => format!("the runtime named runsc runs {}, which is not gVisor", r.path),
                    None => "runsc was requested but no gVisor runtime is registered with Docker".to_string(),
                },
                fix: "run `cargo xtask setup` to install and register gVisor".to_string(),
            }),
        },
        RuntimeChoice::Runc => {
            if general.profile == Profile::Maximum {
                return Err(RuntimeError::RuntimeRefused {
                    reason: "runc is refused under the maximum profile: the host kernel would be the only boundary".to_string(),
                    fix: "use --runtime auto or runsc, or choose RLM_PROFILE=standard to accept runc".to_string(),
                });
            }
            if !sandbox.allow_unsafe_runtime {
                return Err(RuntimeError::RuntimeRefused {
                    reason: "runc was requested but unsafe runtimes are not allowed".to_string(),
                    fix: "pass --allow-unsafe-runtime (RLM_ALLOW_UNSAFE_RUNTIME=1), or use runsc".to_string(),
                });
            }
            runc()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlm_config::{ConfigLoader, Profile, RuntimeChoice};

    fn rt(name: &str, path: &str) -> RuntimeInfo {
        RuntimeInfo::new(name, path, Vec::new())
    }

    fn cfg(
        profile: Profile,
        choice: RuntimeChoice,
        allow: bool,
        ack: bool,
    ) -> (SandboxConfig, GeneralConfig) {
        let mut c = ConfigLoader::new().load().expect("defaults").config;
        c.general.profile = profile;
        c.general.acknowledge_unsafe = ack;
        c.sandbox.docker_runtime = choice;
        c.sandbox.allow_unsafe_runtime = allow;
        (c.sandbox, c.general)
    }

    type Case<'a> = (
        Profile,
        RuntimeChoice,
        bool,
        bool,
        &'a Vec<RuntimeInfo>,
        Option<&'a str>,
    );

    #[test]
    fn matrix() {
        let with_gvisor = vec![rt("runc", "runc"), rt("runsc", "/usr/bin/runsc")];
        let renamed_gvisor = vec![rt("runc", "runc"), rt("gvisor", "/usr/local/bin/runsc")];
        let spoofed = vec![rt("runc", "runc"), rt("runsc", "/usr/bin/runc")];
        let no_gvisor = vec![rt("runc", "runc")];
        use Profile::*;
        use RuntimeChoice::*;
        let cases: Vec<Case<'_>> = vec![
            (Maximum, Auto, false, false, &with_gvisor, Some("runsc")),
            (Maximum, Auto, false, false, &renamed_gvisor, Some("gvisor")),
            (Maximum, Auto, false, false, &spoofed, None),
            (Maximum, Auto, false, false, &no_gvisor, None),
            (Maximum, Auto, true, false, &no_gvisor, None),
            (Maximum, Auto, true, true, &no_gvisor, Some("runc")),
            (Standard, Auto, true, false, &no_gvisor, Some("runc")),
            (Standard, Auto, false, false, &no_gvisor, None),
            (Standard, Auto, true, false, &with_gvisor, Some("runsc")),
            (Maximum, Runsc, false, false, &with_gvisor, Some("runsc")),
            (Maximum, Runsc, true, true, &no_gvisor, None),
            (Standard, Runsc, true, false, &spoofed, None),
            (Maximum, Runc, true, true, &with_gvisor, None),
            (Standard, Runc, true, false, &with_gvisor, Some("runc")),
            (Standard, Runc, false, false, &with_gvisor, None),
            (Development, Runc, true, false, &no_gvisor, Some("runc")),
        ];
        for (i, (p, c, allow, ack, rts, want)) in cases.into_iter().enumerate() {
            let (s, g) = cfg(p, c, allow, ack);
            let got = resolve_runtime(&s, &g, rts);
            match (want, &got) {
                (Some(name), Ok(ch)) => {
                    assert_eq!(ch.name, name, "case {i}");
                    assert_eq!(ch.is_gvisor, name != "runc", "case {i}");
                }
                (None, Err(RuntimeError::RuntimeRefused { .. })) => {}
                _ => panic!("case {i}: {p:?} {c:?} allow={allow} ack={ack}: got {got:?}"),
            }
        }
    }
}
