//! The limits of a run, and the sub-limits a parent may put on a child.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// The limits of a whole run, recursion included. `None` means unlimited.
///
/// Values are taken literally: a limit of zero allows nothing, because a
/// zero that silently meant "unlimited" would be the expensive surprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLimits {
    /// Money, spent plus reserved (`RLM_COST_LIMIT_USD`).
    pub cost: Option<Money>,
    /// Input tokens (`RLM_MAX_INPUT_TOKENS`).
    pub input_tokens: Option<u64>,
    /// Output tokens (`RLM_MAX_OUTPUT_TOKENS`).
    pub output_tokens: Option<u64>,
    /// LLM calls (`RLM_MAX_LLM_CALLS`).
    pub llm_calls: Option<u64>,
    /// Iterations of each session's loop (`RLM_MAX_ITERATIONS`).
    pub iterations_per_session: Option<u32>,
    /// Deepest recursion; the root session is depth 0
    /// (`RLM_MAX_RECURSION_DEPTH`).
    pub recursion_depth: Option<u32>,
    /// Wall-clock time of the run from the budget's creation
    /// (`RLM_MAX_WALL_TIME`).
    pub wall_time: Option<Duration>,
}

impl BudgetLimits {
    /// No limit at all (tests and tools that meter without capping).
    pub const fn unlimited() -> BudgetLimits {
        BudgetLimits {
            cost: None,
            input_tokens: None,
            output_tokens: None,
            llm_calls: None,
            iterations_per_session: None,
            recursion_depth: None,
            wall_time: None,
        }
    }

    /// The limits of rlm-config's `[budget]` section.
    pub fn from_config(cfg: &rlm_config::BudgetConfig) -> BudgetLimits {
        BudgetLimits {
            cost: Some(cfg.cost_limit_usd.into()),
            input_tokens: Some(cfg.max_input_tokens),
            output_tokens: Some(cfg.max_output_tokens),
            llm_calls: Some(u64::from(cfg.max_llm_calls)),
            iterations_per_session: Some(cfg.max_iterations),
            recursion_depth: Some(cfg.max_recursion_depth),
            wall_time: Some(cfg.max_wall_time.get()),
        }
    }

    /// Sets the money limit.
    pub fn with_cost(mut self, cost: Money) -> Self {
        self.cost = Some(cost);
        self
    }
    /// Sets the input-token limit.
    pub fn with_input_tokens(mut self, n: u64) -> Self {
        self.input_tokens = Some(n);
        self
    }
    /// Sets the output-token limit.
    pub fn with_output_tokens(mut self, n: u64) -> Self {
        self.output_tokens = Some(n);
        self
    }
    /// Sets the call limit.
    pub fn with_llm_calls(mut self, n: u64) -> Self {
        self.llm_calls = Some(n);
        self
    }
    /// Sets the per-session iteration limit.
    pub fn with_iterations(mut self, n: u32) -> Self {
        self.iterations_per_session = Some(n);
        self
    }
    /// Sets the recursion-depth limit.
    pub fn with_recursion_depth(mut self, n: u32) -> Self {
        self.recursion_depth = Some(n);
        self
    }
    /// Sets the wall-clock limit.
    pub fn with_wall_time(mut self, d: Duration) -> Self {
        self.wall_time = Some(d);
        self
    }
}

impl From<&rlm_config::BudgetConfig> for BudgetLimits {
    fn from(cfg: &rlm_config::BudgetConfig) -> Self {
        BudgetLimits::from_config(cfg)
    }
}

/// A child session's own limits, on top of the tree's: the child can never
/// use more than the parent has left, and with these not even that much.
/// `None` fields inherit (iterations inherit the run's per-session limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildLimits {
    /// Money this child and its descendants may spend and reserve.
    pub cost: Option<Money>,
    /// Input tokens of this subtree.
    pub input_tokens: Option<u64>,
    /// Output tokens of this subtree.
    pub output_tokens: Option<u64>,
    /// LLM calls of this subtree.
    pub llm_calls: Option<u64>,
    /// Iterations of the child's own loop.
    pub iterations: Option<u32>,
    /// A deadline earlier than the run's, from now.
    pub wall_time: Option<Duration>,
}

impl ChildLimits {
    /// No sub-limit: the child draws on whatever the tree has left.
    pub const fn inherit() -> ChildLimits {
        ChildLimits {
            cost: None,
            input_tokens: None,
            output_tokens: None,
            llm_calls: None,
            iterations: None,
            wall_time: None,
        }
    }
}
