//! # rlm-budget
//!
//! Spend limits for recursive LLM sessions: a pricing table, exact money in
//! integer micro-dollars, and reservations of a call's worst case before
//! the call is made, settled or released after it.
//!
//! The principal types, and how they compose:
//!
//! * [`PricingTable`] maps a model name to its [`Price`] (per million input,
//!   output and cached-input tokens). It ships a built-in table, merges
//!   overrides from `RLM_PRICING_PATH` (`pricing.json` shape, or TOML), and
//!   normalises dated names (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`). An
//!   unknown model is refused or priced at a fallback ([`UnknownModel`]).
//! * [`Money`] is integer micro-dollars; [`cost_of`] is the one rounding
//!   rule (`ceil(tokens * price / 1e6)`, in `u128`).
//! * [`BudgetLimits`] are the run's limits (money, tokens, calls,
//!   iterations, depth, wall time), built from rlm-config's
//!   [`BudgetConfig`](rlm_config::BudgetConfig).
//! * [`Budget`] is a handle on the run's shared ledger for one session.
//!   [`Budget::reserve`] returns a [`Reservation`] guard holding the call's
//!   worst case; [`Reservation::settle`] records the real [`Usage`] and
//!   returns a [`Charge`]; dropping the guard releases it.
//!   [`Budget::child`] gives a recursive session a handle that draws on what
//!   its parent has left (with optional [`ChildLimits`]), so the whole tree
//!   shares one limit. [`Budget::begin_iteration`] and
//!   [`Budget::check_deadline`] bound the loop.
//! * [`BudgetReport`] (from [`Budget::report`]) is what was spent, reserved
//!   and left, per model; it serialises for `--json`.
//!
//! Every refusal is a [`BudgetError`] naming the limit that stopped the
//! call and the `RLM_*` setting that raises it.
//!
//! The crate has no async runtime: the guard is `Send + 'static`, so async
//! callers hold it across `.await` themselves.
//!
//! ```
//! use rlm_budget::{Budget, BudgetLimits, Money, PricingTable, Usage};
//!
//! let budget = Budget::new(
//!     BudgetLimits::unlimited().with_cost(Money::from_usd(1)),
//!     PricingTable::builtin(),
//! );
//! let r = budget.reserve("gpt-4o-mini-2024-07-18", 1_000, 500).unwrap();
//! let charge = r.settle(Usage::new(900, 120));
//! assert_eq!(charge.cost, Money::from_micros(135 + 72));
//! assert_eq!(budget.report().reserved, Money::ZERO);
//! ```

mod error;
mod ledger;
mod limits;
mod money;
mod pricing;
mod report;
mod reservation;

pub use error::{BudgetError, Scope};
pub use ledger::Budget;
pub use limits::{BudgetLimits, ChildLimits};
pub use money::{cost_of, Money, MoneyParseError, MICROS_PER_USD};
pub use pricing::{
    Price, PricedModel, PricingError, PricingTable, UnknownModel, Usage, PRICING_PATH_ENV,
};
pub use report::{BudgetReport, ModelUsage, SessionReport};
pub use reservation::{Charge, Reservation};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
