//! Named breakers, one per dependency, built from rlm-config.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::breaker::CircuitBreaker;
use crate::clock::{Clock, SystemClock};
use crate::policy::{BreakerPolicy, PolicyError};
use crate::state::BreakerSnapshot;

/// The model provider's breaker.
pub const LLM: &str = "llm";
/// The Docker daemon's breaker.
pub const DOCKER: &str = "docker";
/// The filesystem's breaker (contexts, records).
pub const FILESYSTEM: &str = "filesystem";

/// Breakers by name, sharing one clock. Cheap to share (`Arc` inside the
/// map); look a breaker up once and keep its `Arc`.
#[derive(Debug)]
pub struct BreakerRegistry {
    clock: Arc<dyn Clock>,
    breakers: RwLock<BTreeMap<String, Arc<CircuitBreaker>>>,
}

impl Default for BreakerRegistry {
    fn default() -> Self {
        BreakerRegistry::new(Arc::new(SystemClock))
    }
}

impl BreakerRegistry {
    /// An empty registry on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> BreakerRegistry {
        BreakerRegistry {
            clock,
            breakers: RwLock::new(BTreeMap::new()),
        }
    }

    /// The `llm`, `docker` and `filesystem` breakers of rlm-config's
    /// `[circuit.*]` sections, on the system clock.
    pub fn from_config(cfg: &rlm_config::CircuitConfig) -> Result<BreakerRegistry, PolicyError> {
        BreakerRegistry::from_config_with_clock(cfg, Arc::new(SystemClock))
    }

    /// [`BreakerRegistry::from_config`] on a given clock.
    pub fn from_config_with_clock(
        cfg: &rlm_config::CircuitConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<BreakerRegistry, PolicyError> {
        let r = BreakerRegistry::new(clock);
        r.insert(LLM, BreakerPolicy::from(&cfg.llm))?;
        r.insert(DOCKER, BreakerPolicy::from(&cfg.docker))?;
        r.insert(FILESYSTEM, BreakerPolicy::from(&cfg.filesystem))?;
        Ok(r)
    }

    /// Adds (or replaces) a breaker.
    pub fn insert(
        &self,
        name: &str,
        policy: BreakerPolicy,
    ) -> Result<Arc<CircuitBreaker>, PolicyError> {
        let b = Arc::new(CircuitBreaker::with_clock(
            name,
            policy,
            self.clock.clone(),
        )?);
        self.write().insert(name.to_string(), b.clone());
        Ok(b)
    }

    /// The breaker named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<CircuitBreaker>> {
        self.read().get(name).cloned()
    }

    /// The breaker named `name`, created with the default policy if absent.
    pub fn get_or_default(&self, name: &str) -> Arc<CircuitBreaker> {
        if let Some(b) = self.get(name) {
            return b;
        }
        let mut w = self.write();
        w.entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(CircuitBreaker::from_valid(
                    name,
                    BreakerPolicy::default(),
                    self.clock.clone(),
                ))
            })
            .clone()
    }

    /// The model provider's breaker.
    pub fn llm(&self) -> Arc<CircuitBreaker> {
        self.get_or_default(LLM)
    }

    /// The Docker daemon's breaker.
    pub fn docker(&self) -> Arc<CircuitBreaker> {
        self.get_or_default(DOCKER)
    }

    /// The filesystem's breaker.
    pub fn filesystem(&self) -> Arc<CircuitBreaker> {
        self.get_or_default(FILESYSTEM)
    }

    /// Every breaker's state, by name (for reports and `--json`).
    pub fn snapshots(&self) -> Vec<BreakerSnapshot> {
        self.read().values().map(|b| b.snapshot()).collect()
    }

    /// Operator: forces `name` open; false if there is no such breaker.
    pub fn force_open(&self, name: &str) -> bool {
        self.get(name).map(|b| b.force_open()).is_some()
    }

    /// Operator: disables `name`; false if there is no such breaker.
    pub fn disable(&self, name: &str) -> bool {
        self.get(name).map(|b| b.disable()).is_some()
    }

    /// Operator: resets `name` to closed; false if there is no such breaker.
    pub fn reset(&self, name: &str) -> bool {
        self.get(name).map(|b| b.reset()).is_some()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<CircuitBreaker>>> {
        // The map is only ever replaced whole-entry; a poisoned lock still
        // holds a valid map.
        self.breakers.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<CircuitBreaker>>> {
        self.breakers.write().unwrap_or_else(|e| e.into_inner())
    }
}
