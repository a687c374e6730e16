//! The settings every layer reads: one table of keys, environment names,
//! defaults and help, from which the typed sections are built.

use std::path::PathBuf;

use crate::error::ConfigError;
use crate::resolve::Resolved;
use crate::value::*;

/// One setting: its TOML key, environment name, built-in default and help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Dotted TOML key, e.g. `sandbox.memory_limit`.
    pub key: String,
    /// Environment variable, e.g. `RLM_MEMORY_LIMIT`.
    pub env: String,
    /// Built-in default in text form (before any profile).
    pub default: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Whether the value is a secret that is never printed.
    pub secret: bool,
}

/// Declares a configuration section: the struct, its specs, and its
/// conversions from and to resolved text values.
macro_rules! section {
    (
        $(#[$m:meta])* $name:ident {
            $( $(#[$fm:meta])* $field:ident : $ty:ty = $default:literal, $env:literal, $help:literal $(, $secret:ident)?; )*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fm])* pub $field: $ty, )*
        }

        impl $name {
            /// The specs of this section under `prefix` (TOML) and
            /// `env_prefix` (environment).
            pub fn specs(prefix: &str, env_prefix: &str) -> Vec<Spec> {
                vec![$(
                    Spec {
                        key: format!("{prefix}.{}", stringify!($field)),
                        env: format!("{env_prefix}{}", $env),
                        default: $default,
                        help: $help,
                        secret: section!(@secret $($secret)?),
                    },
                )*]
            }

            // The general section's keys stand at the top of the file, so
            // it is built by hand in `Config::from_resolved`.
            #[allow(dead_code)]
            pub(crate) fn from_resolved(r: &Resolved, prefix: &str) -> Result<Self, ConfigError> {
                Ok(Self { $( $field: r.parse::<$ty>(&format!("{prefix}.{}", stringify!($field)))?, )* })
            }

            #[allow(dead_code)]
            pub(crate) fn render_into(&self, prefix: &str, out: &mut Vec<(String, String)>) {
                $( out.push((format!("{prefix}.{}", stringify!($field)), SettingValue::render(&self.$field))); )*
            }
        }
    };
    (@secret secret) => { true };
    (@secret) => { false };
}

section!(
    /// Settings of the session itself.
    GeneralConfig {
        /// The security profile.
        profile: Profile = "maximum", "PROFILE", "security profile: maximum, standard or development";
        /// The user's explicit acceptance of an unsafe choice under `maximum`.
        acknowledge_unsafe: bool = "false", "ACKNOWLEDGE_UNSAFE", "accept network or unsafe runtime under the maximum profile";
    }
);

section!(
    /// Isolation settings (rlm-runtime).
    SandboxConfig {
        /// Where model code runs.
        execution_mode: ExecutionMode = "docker", "EXECUTION_MODE", "docker, or local (development profile only)";
        /// The sandbox image.
        docker_image: String = "rlm-sandbox:bookworm", "DOCKER_IMAGE", "image with python3 (cargo xtask setup builds rlm-sandbox:bookworm)";
        /// Requested OCI runtime.
        docker_runtime: RuntimeChoice = "auto", "DOCKER_RUNTIME", "auto (gVisor when present), runsc or runc";
        /// Whether a runtime other than gVisor may be used.
        allow_unsafe_runtime: bool = "false", "ALLOW_UNSAFE_RUNTIME", "allow runc when gVisor is missing";
        /// Whether the sandbox has a network.
        network_enabled: bool = "false", "NETWORK_ENABLED", "give the sandbox a network (never in production)";
        /// Memory limit (swap is set equal: no swap).
        memory_limit: ByteSize = "512m", "MEMORY_LIMIT", "memory limit of a sandbox";
        /// CPU quota in cores.
        cpu_limit: f64 = "1.0", "CPU_LIMIT", "CPU quota in cores";
        /// Docker pids limit (gVisor counts its own threads against it).
        pids_limit: u32 = "512", "PIDS_LIMIT", "pids limit of the container (64 or more: gVisor counts its own threads; processes inside are bounded by nproc)";
        /// `ulimit -u` inside the sandbox: what bounds tasks under gVisor.
        nproc_limit: u32 = "32", "NPROC_LIMIT", "ulimit nproc inside the sandbox";
        /// `ulimit -n` inside the sandbox.
        nofile_limit: u32 = "256", "NOFILE_LIMIT", "ulimit nofile inside the sandbox";
        /// `ulimit -f` inside the sandbox.
        fsize_limit: ByteSize = "64m", "FSIZE_LIMIT", "largest file the sandbox may write";
        /// Size of the noexec tmpfs at /tmp.
        tmpfs_size: ByteSize = "64m", "TMPFS_SIZE", "size of /tmp (tmpfs, noexec)";
        /// Time one code cell may run.
        execution_timeout: Span = "30s", "EXECUTION_TIMEOUT", "time one code cell may run";
        /// Time an interrupted cell gets before its container is killed.
        kill_grace: Span = "2s", "KILL_GRACE", "grace after an interrupt before the container is killed";
        /// Bytes of stdout/stderr the sandbox captures per cell.
        max_capture_bytes: ByteSize = "1m", "MAX_CAPTURE_BYTES", "stdout/stderr captured per cell inside the sandbox";
        /// Modules the sandbox refuses to import.
        denied_imports: Vec<String> = "subprocess,_posixsubprocess,pty,ctypes,_ctypes", "DENIED_IMPORTS", "modules whose import raises ImportError (defense in depth)";
        /// Pre-started sessions kept ready.
        warm_pool_size: u32 = "0", "WARM_POOL_SIZE", "pre-started sandbox sessions kept ready";
    }
);

section!(
    /// Leak filter settings (rlm-egress).
    EgressConfig {
        /// Redact findings or block the whole output.
        mode: EgressMode = "redact", "EGRESS_MODE", "redact or block";
        /// Override of the entropy threshold (bits per character).
        entropy_threshold: Option<f64> = "", "ENTROPY_THRESHOLD", "fixed entropy threshold in bits/char (unset: derived per alphabet and length)";
        /// Largest output shown to a model.
        max_stdout_bytes: ByteSize = "64k", "MAX_STDOUT_BYTES", "largest output shown to a model (head and tail kept)";
        /// Longest verbatim run of the protected context that may leave.
        max_context_echo: ByteSize = "64", "MAX_CONTEXT_ECHO", "longest verbatim run of the context that may leave in one output";
        /// Total bytes of the protected context one session may release.
        disclosure_budget: ByteSize = "64m", "DISCLOSURE_BUDGET", "bytes of the context one session may release in all";
    }
);

section!(
    /// Spend limits (rlm-budget).
    BudgetConfig {
        /// Money limit of a whole run, recursion included.
        cost_limit_usd: Usd = "5", "COST_LIMIT_USD", "money limit of a whole run in USD";
        /// Deepest recursion of `rlm_query`.
        max_recursion_depth: u32 = "2", "MAX_RECURSION_DEPTH", "deepest rlm_query recursion";
        /// Iterations of the root loop.
        max_iterations: u32 = "30", "MAX_ITERATIONS", "iterations of one session's loop";
        /// LLM calls of a whole run.
        max_llm_calls: u32 = "500", "MAX_LLM_CALLS", "LLM calls of a whole run";
        /// Input tokens of a whole run.
        max_input_tokens: u64 = "20000000", "MAX_INPUT_TOKENS", "input tokens of a whole run";
        /// Output tokens of a whole run.
        max_output_tokens: u64 = "2000000", "MAX_OUTPUT_TOKENS", "output tokens of a whole run";
        /// Wall-clock limit of a whole run.
        max_wall_time: Span = "30m", "MAX_WALL_TIME", "wall-clock limit of a whole run";
        /// Pricing overrides (`pricing.json` shape or TOML).
        pricing_path: Option<PathBuf> = "", "PRICING_PATH", "pricing overrides (pricing.json shape or TOML)";
        /// What to do with a model missing from the pricing table.
        unknown_model: UnknownModelPolicy = "refuse", "UNKNOWN_MODEL", "refuse, or fallback to the fallback prices";
        /// Fallback input price per million tokens.
        fallback_input_cost_per_m: Usd = "10", "FALLBACK_INPUT_COST_PER_M", "fallback input price, USD per million tokens";
        /// Fallback output price per million tokens.
        fallback_output_cost_per_m: Usd = "30", "FALLBACK_OUTPUT_COST_PER_M", "fallback output price, USD per million tokens";
    }
);

section!(
    /// Model provider settings (rlm-orchestrator).
    ProviderConfig {
        /// The provider's API.
        api_provider: ApiProvider = "openai", "API_PROVIDER", "openai (any OpenAI-compatible server) or anthropic";
        /// The API key.
        api_key: Secret = "", "API_KEY", "API key (never printed)", secret;
        /// Base URL of the API.
        api_base_url: Option<String> = "", "API_BASE_URL", "base URL (unset: the provider's own)";
        /// The root model.
        model_name: String = "gpt-4o-mini", "MODEL_NAME", "root model";
        /// The model of `llm_query` (unset: the root model).
        sub_model_name: Option<String> = "", "SUB_MODEL_NAME", "sub-call model (unset: the root model)";
        /// Timeout of one HTTP request.
        request_timeout: Span = "120s", "REQUEST_TIMEOUT", "timeout of one provider request";
        /// Requests per minute to the provider (0: unlimited).
        requests_per_minute: u32 = "120", "REQUESTS_PER_MINUTE", "requests per minute to the provider (0: unlimited)";
        /// `max_tokens` of each call: the worst case a reservation covers.
        max_tokens: u32 = "4096", "MAX_TOKENS", "max output tokens of one call";
        /// Concurrent sub-calls of `llm_query_batched`.
        max_parallel_subcalls: u32 = "16", "MAX_PARALLEL_SUBCALLS", "concurrent sub-calls of llm_query_batched";
    }
);

section!(
    /// One circuit breaker (rlm-circuit).
    BreakerConfig {
        /// Consecutive failures that open the breaker.
        failure_threshold: u32 = "5", "FAILURE_THRESHOLD", "consecutive failures that open the breaker";
        /// Time open before a probe is let through.
        recovery_timeout: Span = "30s", "RECOVERY_TIMEOUT", "time open before probing again";
        /// Calls in the sliding window of the failure-rate policy.
        window_size: u32 = "20", "WINDOW_SIZE", "calls in the failure-rate window";
        /// Calls needed in the window before the rate counts.
        min_calls: u32 = "10", "MIN_CALLS", "calls needed before the failure rate counts";
        /// Failure rate (0..1) that opens the breaker.
        failure_rate: f64 = "0.5", "FAILURE_RATE", "failure rate in the window that opens the breaker";
        /// Calls slower than this count as failures (0s: never).
        slow_call: Span = "0s", "SLOW_CALL", "calls slower than this count as failures (0s: off)";
    }
);

section!(
    /// Where a run's records go (rlm-orchestrator).
    RecordsConfig {
        /// Trajectory log (JSONL).
        trajectory_path: Option<PathBuf> = "", "TRAJECTORY_PATH", "trajectory log, JSONL";
        /// Hash-chained audit log.
        audit_path: Option<PathBuf> = "", "AUDIT_PATH", "hash-chained audit log";
    }
);

/// The breakers, one per dependency.
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitConfig {
    /// The model provider.
    pub llm: BreakerConfig,
    /// The Docker daemon.
    pub docker: BreakerConfig,
    /// The filesystem (contexts, records).
    pub filesystem: BreakerConfig,
}

/// The whole configuration of rlm: one section per layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Profile and acknowledgements.
    pub general: GeneralConfig,
    /// Isolation.
    pub sandbox: SandboxConfig,
    /// Leak filter.
    pub egress: EgressConfig,
    /// Spend limits.
    pub budget: BudgetConfig,
    /// Model provider.
    pub provider: ProviderConfig,
    /// Circuit breakers.
    pub circuit: CircuitConfig,
    /// Records.
    pub records: RecordsConfig,
}

/// The three breaker names, as TOML sections `circuit.NAME` and environment
/// prefixes `RLM_CIRCUIT_NAME_`.
pub const BREAKERS: [&str; 3] = ["llm", "docker", "filesystem"];

/// Every setting, in display order.
pub fn all_specs() -> Vec<Spec> {
    // The general section has no TOML table: its keys stand at the top.
    let mut specs: Vec<Spec> = GeneralConfig::specs("general", "RLM_");
    for s in &mut specs {
        s.key = s.key.trim_start_matches("general.").to_string();
    }
    specs.extend(SandboxConfig::specs("sandbox", "RLM_"));
    specs.extend(EgressConfig::specs("egress", "RLM_"));
    specs.extend(BudgetConfig::specs("budget", "RLM_"));
    specs.extend(ProviderConfig::specs("provider", "RLM_"));
    for b in BREAKERS {
        specs.extend(BreakerConfig::specs(
            &format!("circuit.{b}"),
            &format!("RLM_CIRCUIT_{}_", b.to_ascii_uppercase()),
        ));
    }
    specs.extend(RecordsConfig::specs("records", "RLM_"));
    specs
}

impl Config {
    pub(crate) fn from_resolved(r: &Resolved) -> Result<Self, ConfigError> {
        Ok(Config {
            general: GeneralConfig {
                profile: r.parse("profile")?,
                acknowledge_unsafe: r.parse("acknowledge_unsafe")?,
            },
            sandbox: SandboxConfig::from_resolved(r, "sandbox")?,
            egress: EgressConfig::from_resolved(r, "egress")?,
            budget: BudgetConfig::from_resolved(r, "budget")?,
            provider: ProviderConfig::from_resolved(r, "provider")?,
            circuit: CircuitConfig {
                llm: BreakerConfig::from_resolved(r, "circuit.llm")?,
                docker: BreakerConfig::from_resolved(r, "circuit.docker")?,
                filesystem: BreakerConfig::from_resolved(r, "circuit.filesystem")?,
            },
            records: RecordsConfig::from_resolved(r, "records")?,
        })
    }

    /// Every setting as `(key, text)`, secrets included: callers that print
    /// must mask through [`Spec::secret`].
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("profile".to_string(), self.general.profile.render()),
            (
                "acknowledge_unsafe".to_string(),
                self.general.acknowledge_unsafe.render(),
            ),
        ];
        self.sandbox.render_into("sandbox", &mut out);
        self.egress.render_into("egress", &mut out);
        self.budget.render_into("budget", &mut out);
        self.provider.render_into("provider", &mut out);
        self.circuit.llm.render_into("circuit.llm", &mut out);
        self.circuit.docker.render_into("circuit.docker", &mut out);
        self.circuit
            .filesystem
            .render_into("circuit.filesystem", &mut out);
        self.records.render_into("records", &mut out);
        out
    }

    /// The model that serves `llm_query`: the sub-model, or the root model.
    pub fn sub_model(&self) -> &str {
        self.provider
            .sub_model_name
            .as_deref()
            .unwrap_or(&self.provider.model_name)
    }
}

/// Built-in defaults a profile changes.
pub(crate) fn profile_defaults(profile: Profile) -> &'static [(&'static str, &'static str)] {
    match profile {
        Profile::Maximum => &[],
        Profile::Standard => &[("sandbox.allow_unsafe_runtime", "true")],
        Profile::Development => &[
            ("sandbox.allow_unsafe_runtime", "true"),
            ("sandbox.execution_timeout", "60s"),
        ],
    }
}
