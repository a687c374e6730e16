//! # rlm-config
//!
//! One typed configuration for every rlm layer.
//!
//! A [`ConfigLoader`] gathers text values from its sources, lowest first:
//! built-in defaults, the chosen [`Profile`]'s defaults, a TOML file
//! (`--config FILE` or `RLM_CONFIG`), `RLM_*` environment variables, and
//! command-line flags. It types them into a [`Config`] (one section per
//! layer: [`SandboxConfig`], [`EgressConfig`], [`BudgetConfig`],
//! [`ProviderConfig`], [`CircuitConfig`], [`RecordsConfig`]), validates the
//! combination, and returns a [`Loaded`] that also says where every value
//! came from ([`Origin`]).
//!
//! Every setting is one [`Spec`] row: TOML key, environment name, default,
//! help. Values have text forms ([`SettingValue`]): sizes like `512m`
//! ([`ByteSize`]), durations like `30s` ([`Span`]), exact dollars ([`Usd`]),
//! and the API key as a [`Secret`] that never prints.
//!
//! ```
//! use rlm_config::{ConfigLoader, ConfigError};
//!
//! let err = ConfigLoader::new()
//!     .env([("RLM_MEMORY_LIMIT", "12x")])
//!     .load()
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "RLM_MEMORY_LIMIT='12x': expected a size like 512m or 2g"
//! );
//! assert!(matches!(err, ConfigError::InvalidValue { .. }));
//! ```

mod error;
mod resolve;
mod schema;
mod validate;
mod value;

pub use error::ConfigError;
pub use resolve::{to_toml, ConfigLoader, Loaded, Origin};
pub use schema::{
    all_specs, BreakerConfig, BudgetConfig, CircuitConfig, Config, EgressConfig, GeneralConfig,
    ProviderConfig, RecordsConfig, SandboxConfig, Spec, BREAKERS,
};
pub use validate::{MIN_MEMORY, MIN_PIDS_LIMIT};
pub use value::{
    ApiProvider, ByteSize, EgressMode, ExecutionMode, Profile, RuntimeChoice, Secret, SettingValue,
    Span, UnknownModelPolicy, Unparsable, Usd,
};

impl Config {
    /// The built-in defaults of the `maximum` profile.
    pub fn defaults() -> Result<Config, ConfigError> {
        ConfigLoader::new().load().map(|l| l.config)
    }
}
