//! The shared ledger of a run and the [`Budget`] handles that draw on it.
//!
//! One mutex guards every counter of the tree. A reservation walks from its
//! session up to the root, checks every cap on the way, and only then adds
//! to all of them, all under that one lock: so spent + reserved never passes
//! any limit, whatever the interleaving of threads. The critical section is
//! a hash look-up and a few additions per level; depth is small (the
//! recursion limit), so a lock is cheaper and far easier to prove than a
//! CAS loop over several counters.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{BudgetError, Scope};
use crate::limits::{BudgetLimits, ChildLimits};
use crate::money::Money;
use crate::pricing::{PricedModel, PricingTable, Usage};
use crate::report::{BudgetReport, ModelUsage, SessionReport};
use crate::reservation::{Amounts, Charge, Reservation};

/// A handle on a run's budget, for one session of the recursion tree.
///
/// Cloning gives another handle on the same session; [`Budget::child`]
/// gives a handle for a recursive session that draws on what this one has
/// left. Every handle of a run shares one ledger, so the tree has one limit.
#[derive(Clone, Debug)]
pub struct Budget {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) node: usize,
    depth: u32,
    /// This session's deadline and limit, copied from its node: fixed at
    /// creation, so checking it needs neither the lock nor the clock when
    /// there is none.
    deadline: Option<(Instant, Duration)>,
    started: Instant,
}

#[derive(Debug)]
pub(crate) struct Ledger {
    state: Mutex<State>,
    pricing: PricingTable,
    limits: BudgetLimits,
    started: Instant,
}

#[derive(Debug, Default)]
struct State {
    nodes: Vec<Node>,
    /// Model name as given → index into `models`, so the hot path neither
    /// prices nor allocates once a model has been seen.
    model_index: HashMap<String, usize, BuildHasherDefault<Fnv>>,
    models: Vec<ModelEntry>,
    overrun: bool,
}

#[derive(Debug)]
struct ModelEntry {
    priced: PricedModel,
    usage: ModelUsage,
}

/// Counters of one session's subtree.
#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    spent: Money,
    reserved: Money,
    input: u64,
    input_reserved: u64,
    output: u64,
    output_reserved: u64,
    calls: u64,
    calls_reserved: u64,
}

/// Caps of one node; the root's are the run's limits.
#[derive(Debug, Default, Clone, Copy)]
struct Caps {
    cost: Option<Money>,
    input: Option<u64>,
    output: Option<u64>,
    calls: Option<u64>,
}

#[derive(Debug)]
struct Node {
    parent: Option<usize>,
    depth: u32,
    caps: Caps,
    used: Counters,
    iterations: u32,
    max_iterations: Option<u32>,
}

impl Budget {
    /// A budget with these limits and prices; the wall clock starts now.
    pub fn new(limits: BudgetLimits, pricing: PricingTable) -> Budget {
        Budget::starting_at(limits, pricing, Instant::now())
    }

    /// A budget whose wall clock started at `started` (tests, or a run that
    /// began before its budget was built).
    pub fn starting_at(limits: BudgetLimits, pricing: PricingTable, started: Instant) -> Budget {
        let root = Node {
            parent: None,
            depth: 0,
            caps: Caps {
                cost: limits.cost,
                input: limits.input_tokens,
                output: limits.output_tokens,
                calls: limits.llm_calls,
            },
            used: Counters::default(),
            iterations: 0,
            max_iterations: limits.iterations_per_session,
        };
        let deadline = limits
            .wall_time
            .map(|w| (started.checked_add(w).unwrap_or(started), w));
        let state = State {
            nodes: vec![root],
            ..State::default()
        };
        Budget {
            ledger: Arc::new(Ledger {
                state: Mutex::new(state),
                pricing,
                limits,
                started,
            }),
            node: 0,
            depth: 0,
            deadline,
            started,
        }
    }

    /// The budget of rlm-config's `[budget]` section: its limits, and the
    /// built-in prices with its unknown-model policy and `pricing_path`
    /// overrides (`RLM_PRICING_PATH`).
    pub fn from_config(cfg: &rlm_config::BudgetConfig) -> Result<Budget, BudgetError> {
        let pricing = PricingTable::from_config(cfg)?;
        Ok(Budget::new(BudgetLimits::from_config(cfg), pricing))
    }

    /// The run's limits.
    pub fn limits(&self) -> &BudgetLimits {
        &self.ledger.limits
    }

    /// The pricing table.
    pub fn pricing(&self) -> &PricingTable {
        &self.ledger.pricing
    }

    /// This session's depth (root = 0).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Prices a model without reserving anything.
    pub fn price(&self, model: &str) -> Result<PricedModel, BudgetError> {
        Ok(self.ledger.pricing.lookup(model)?)
    }

    /// Reserves the worst case of a call before it is made: `prompt_tokens`
    /// (an estimate of the prompt) at the input price plus
    /// `max_output_tokens` at the output price, one call, and the tokens.
    ///
    /// Refused, with nothing held, when the deadline has passed or any limit
    /// of this session or an ancestor would be exceeded. The returned guard
    /// must be [settled](Reservation::settle) with the real usage; dropped
    /// unsettled, it releases.
    pub fn reserve(
        &self,
        model: &str,
        prompt_tokens: u64,
        max_output_tokens: u64,
    ) -> Result<Reservation, BudgetError> {
        if self.deadline.is_some() {
            self.check_deadline_at(Instant::now())?;
        }
        self.reserve_unchecked(model, prompt_tokens, max_output_tokens)
    }

    /// [`Budget::reserve`] with the clock read by the caller.
    pub fn reserve_at(
        &self,
        model: &str,
        prompt_tokens: u64,
        max_output_tokens: u64,
        now: Instant,
    ) -> Result<Reservation, BudgetError> {
        self.check_deadline_at(now)?;
        self.reserve_unchecked(model, prompt_tokens, max_output_tokens)
    }

    fn reserve_unchecked(
        &self,
        model: &str,
        prompt_tokens: u64,
        max_output_tokens: u64,
    ) -> Result<Reservation, BudgetError> {
        let mut st = self.ledger.lock();
        let (model_idx, price) = match st.model_index.get(model) {
            Some(&i) => (i, st.models[i].priced.price),
            None => {
                let priced = self.ledger.pricing.lookup(model)?;
                if priced.fallback {
                    tracing::warn!(
                        model,
                        input_per_m = %priced.price.input_per_m,
                        output_per_m = %priced.price.output_per_m,
                        "model has no price; using the fallback prices (RLM_UNKNOWN_MODEL=fallback)"
                    );
                }
                let i = st.models.len();
                let price = priced.price;
                st.models.push(ModelEntry {
                    usage: ModelUsage {
                        priced_as: priced.priced_as.to_string(),
                        fallback_price: priced.fallback,
                        ..ModelUsage::default()
                    },
                    priced,
                });
                st.model_index.insert(model.to_string(), i);
                (i, price)
            }
        };
        let amounts = Amounts {
            cost: price.worst_case(prompt_tokens, max_output_tokens),
            input: prompt_tokens,
            output: max_output_tokens,
        };
        st.check_fits(self.node, &amounts)?;
        st.for_chain(self.node, |c| {
            c.reserved += amounts.cost;
            c.input_reserved = c.input_reserved.saturating_add(amounts.input);
            c.output_reserved = c.output_reserved.saturating_add(amounts.output);
            c.calls_reserved += 1;
        });
        drop(st);
        Ok(Reservation::new(self.clone(), model_idx, price, amounts))
    }

    /// Settles a reservation: moves it from reserved to spent at the real
    /// usage. Called through [`Reservation::settle`].
    pub(crate) fn settle_amounts(
        &self,
        model_idx: usize,
        price: &crate::pricing::Price,
        held: &Amounts,
        usage: &Usage,
    ) -> Charge {
        let cost = price.cost(usage);
        let mut st = self.ledger.lock();
        st.for_chain(self.node, |c| {
            c.reserved = c.reserved.saturating_sub(held.cost);
            c.input_reserved = c.input_reserved.saturating_sub(held.input);
            c.output_reserved = c.output_reserved.saturating_sub(held.output);
            c.calls_reserved = c.calls_reserved.saturating_sub(1);
            c.spent += cost;
            c.input = c.input.saturating_add(usage.input_tokens);
            c.output = c.output.saturating_add(usage.output_tokens);
            c.calls += 1;
        });
        if let Some(m) = st.models.get_mut(model_idx) {
            let u = &mut m.usage;
            u.calls += 1;
            u.input_tokens = u.input_tokens.saturating_add(usage.input_tokens);
            u.cached_input_tokens = u
                .cached_input_tokens
                .saturating_add(usage.cached_input_tokens);
            u.output_tokens = u.output_tokens.saturating_add(usage.output_tokens);
            u.cost += cost;
        }
        // The real usage can exceed the reservation (a prompt estimate that
        // was short). The money is spent either way, so it is recorded as
        // it is; the overrun is flagged and every later reservation refused.
        let overrun = cost > held.cost || usage.output_tokens > held.output;
        if overrun {
            let exceeded = st.exceeded(self.node);
            if exceeded {
                st.overrun = true;
            }
            tracing::warn!(
                reserved = %held.cost,
                charged = %cost,
                limit_exceeded = exceeded,
                "call used more than its reservation; the prompt estimate was short"
            );
        }
        Charge { cost, overrun }
    }

    /// Returns a reservation unused (the call failed before the provider
    /// charged). Called through [`Reservation::release`] or drop.
    pub(crate) fn release_amounts(&self, held: &Amounts) {
        let mut st = self.ledger.lock();
        st.for_chain(self.node, |c| {
            c.reserved = c.reserved.saturating_sub(held.cost);
            c.input_reserved = c.input_reserved.saturating_sub(held.input);
            c.output_reserved = c.output_reserved.saturating_sub(held.output);
            c.calls_reserved = c.calls_reserved.saturating_sub(1);
        });
    }

    /// Counts one iteration of this session's loop; refused once the
    /// session ran `RLM_MAX_ITERATIONS` or the deadline passed. Returns the
    /// iteration's number, from 1.
    pub fn begin_iteration(&self) -> Result<u32, BudgetError> {
        self.begin_iteration_at(Instant::now())
    }

    /// [`Budget::begin_iteration`] with the clock read by the caller.
    pub fn begin_iteration_at(&self, now: Instant) -> Result<u32, BudgetError> {
        self.check_deadline_at(now)?;
        let mut st = self.ledger.lock();
        let node = &mut st.nodes[self.node];
        if let Some(max) = node.max_iterations {
            if node.iterations >= max {
                return Err(BudgetError::Iterations {
                    limit: max,
                    depth: node.depth,
                });
            }
        }
        node.iterations += 1;
        Ok(node.iterations)
    }

    /// Fails once the run's (or this child's) wall-clock limit has passed.
    pub fn check_deadline(&self) -> Result<(), BudgetError> {
        self.check_deadline_at(Instant::now())
    }

    /// [`Budget::check_deadline`] at a given instant.
    pub fn check_deadline_at(&self, now: Instant) -> Result<(), BudgetError> {
        match self.deadline {
            Some((deadline, limit)) if now >= deadline => Err(BudgetError::Deadline {
                elapsed: now.saturating_duration_since(self.started),
                limit,
            }),
            _ => Ok(()),
        }
    }

    /// Time left before this session's deadline (`None`: no deadline), to
    /// bound a request or sandbox timeout.
    pub fn remaining_time(&self) -> Option<Duration> {
        self.remaining_time_at(Instant::now())
    }

    /// [`Budget::remaining_time`] at a given instant.
    pub fn remaining_time_at(&self, now: Instant) -> Option<Duration> {
        self.deadline.map(|(d, _)| d.saturating_duration_since(now))
    }

    /// Money this session may still reserve: the least of what its own cap
    /// and every ancestor's leave. `None`: no money limit anywhere.
    pub fn remaining_cost(&self) -> Option<Money> {
        let st = self.ledger.lock();
        st.remaining_cost(self.node)
    }

    /// A handle for a recursive child session, one level deeper, drawing on
    /// what this session has left, with optional caps of its own.
    ///
    /// Refused when the child would pass `RLM_MAX_RECURSION_DEPTH` or the
    /// deadline has passed.
    pub fn child(&self, caps: ChildLimits) -> Result<Budget, BudgetError> {
        self.child_at(caps, Instant::now())
    }

    /// [`Budget::child`] with the clock read by the caller.
    pub fn child_at(&self, caps: ChildLimits, now: Instant) -> Result<Budget, BudgetError> {
        let depth = self.depth + 1;
        if let Some(limit) = self.ledger.limits.recursion_depth {
            if depth > limit {
                return Err(BudgetError::RecursionDepth { depth, limit });
            }
        }
        self.check_deadline_at(now)?;
        let parent_deadline = self.deadline;
        let own_deadline = caps
            .wall_time
            .map(|w| (now.checked_add(w).unwrap_or(now), w));
        // The earlier deadline wins; elapsed time in its message is
        // counted from the start of whoever set it.
        let (deadline, started) = match (parent_deadline, own_deadline) {
            (Some(p), Some(o)) if o.0 < p.0 => (Some(o), now),
            (Some(p), _) => (Some(p), self.started),
            (None, o) => (o, now),
        };
        let node = Node {
            parent: Some(self.node),
            depth,
            caps: Caps {
                cost: caps.cost,
                input: caps.input_tokens,
                output: caps.output_tokens,
                calls: caps.llm_calls,
            },
            used: Counters::default(),
            iterations: 0,
            max_iterations: caps
                .iterations
                .or(self.ledger.limits.iterations_per_session),
        };
        let mut st = self.ledger.lock();
        let idx = st.nodes.len();
        st.nodes.push(node);
        drop(st);
        tracing::debug!(depth, "child budget created");
        Ok(Budget {
            ledger: Arc::clone(&self.ledger),
            node: idx,
            depth,
            deadline,
            started,
        })
    }

    /// The whole run's report: every session of the tree, every model.
    pub fn report(&self) -> BudgetReport {
        self.report_at(Instant::now())
    }

    /// [`Budget::report`] at a given instant.
    pub fn report_at(&self, now: Instant) -> BudgetReport {
        let st = self.ledger.lock();
        let root = &st.nodes[0];
        let u = root.used;
        let limits = self.ledger.limits;
        BudgetReport {
            limits,
            spent: u.spent,
            reserved: u.reserved,
            remaining: limits
                .cost
                .map(|l| l.saturating_sub(u.spent.saturating_add(u.reserved))),
            input_tokens: u.input,
            output_tokens: u.output,
            reserved_input_tokens: u.input_reserved,
            reserved_output_tokens: u.output_reserved,
            llm_calls: u.calls,
            calls_in_flight: u.calls_reserved,
            iterations: st.nodes.iter().map(|n| u64::from(n.iterations)).sum(),
            sessions: st.nodes.len(),
            deepest: st.nodes.iter().map(|n| n.depth).max().unwrap_or(0),
            elapsed_ms: u64::try_from(
                now.saturating_duration_since(self.ledger.started)
                    .as_millis(),
            )
            .unwrap_or(u64::MAX),
            overrun: st.overrun,
            per_model: st
                .models
                .iter()
                .map(|m| (m.priced.model.to_string(), m.usage.clone()))
                .collect(),
        }
    }

    /// This session's subtree alone.
    pub fn session_report(&self) -> SessionReport {
        let st = self.ledger.lock();
        let n = &st.nodes[self.node];
        SessionReport {
            depth: n.depth,
            spent: n.used.spent,
            reserved: n.used.reserved,
            remaining: st.remaining_cost(self.node),
            input_tokens: n.used.input,
            output_tokens: n.used.output,
            llm_calls: n.used.calls,
            iterations: n.iterations,
        }
    }
}

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, and every update keeps the
        // counters consistent step by step, so a poisoned lock still holds
        // a valid ledger: recover it rather than fail every later call.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn for_chain(&mut self, mut node: usize, mut f: impl FnMut(&mut Counters)) {
        loop {
            let n = &mut self.nodes[node];
            f(&mut n.used);
            match n.parent {
                Some(p) => node = p,
                None => return,
            }
        }
    }

    fn scope(&self, node: usize) -> Scope {
        match self.nodes[node].parent {
            None => Scope::Run,
            Some(_) => Scope::Child {
                depth: self.nodes[node].depth,
            },
        }
    }

    fn check_fits(&self, mut node: usize, a: &Amounts) -> Result<(), BudgetError> {
        loop {
            let n = &self.nodes[node];
            let (c, u) = (&n.caps, &n.used);
            if let Some(limit) = c.cost {
                let committed = u.spent.saturating_add(u.reserved);
                if committed.checked_add(a.cost).is_none_or(|t| t > limit) {
                    return Err(BudgetError::Cost {
                        needed: a.cost,
                        spent: u.spent,
                        reserved: u.reserved,
                        limit,
                        scope: self.scope(node),
                    });
                }
            }
            if let Some(limit) = c.input {
                if exceeds(u.input, u.input_reserved, a.input, limit) {
                    return Err(BudgetError::InputTokens {
                        needed: a.input,
                        used: u.input,
                        reserved: u.input_reserved,
                        limit,
                        scope: self.scope(node),
                    });
                }
            }
            if let Some(limit) = c.output {
                if exceeds(u.output, u.output_reserved, a.output, limit) {
                    return Err(BudgetError::OutputTokens {
                        needed: a.output,
                        used: u.output,
                        reserved: u.output_reserved,
                        limit,
                        scope: self.scope(node),
                    });
                }
            }
            if let Some(limit) = c.calls {
                if exceeds(u.calls, u.calls_reserved, 1, limit) {
                    return Err(BudgetError::LlmCalls {
                        made: u.calls,
                        in_flight: u.calls_reserved,
                        limit,
                        scope: self.scope(node),
                    });
                }
            }
            match n.parent {
                Some(p) => node = p,
                None => return Ok(()),
            }
        }
    }

    /// Whether any cap on the chain is passed by spent + reserved (only an
    /// under-estimated settle can do that).
    fn exceeded(&self, mut node: usize) -> bool {
        loop {
            let n = &self.nodes[node];
            let (c, u) = (&n.caps, &n.used);
            let over = c
                .cost
                .is_some_and(|l| u.spent.saturating_add(u.reserved) > l)
                || c.input
                    .is_some_and(|l| u.input.saturating_add(u.input_reserved) > l)
                || c.output
                    .is_some_and(|l| u.output.saturating_add(u.output_reserved) > l);
            if over {
                return true;
            }
            match n.parent {
                Some(p) => node = p,
                None => return false,
            }
        }
    }

    fn remaining_cost(&self, mut node: usize) -> Option<Money> {
        let mut least: Option<Money> = None;
        loop {
            let n = &self.nodes[node];
            if let Some(l) = n.caps.cost {
                let left = l.saturating_sub(n.used.spent.saturating_add(n.used.reserved));
                least = Some(least.map_or(left, |m| m.min(left)));
            }
            match n.parent {
                Some(p) => node = p,
                None => return least,
            }
        }
    }
}

fn exceeds(used: u64, reserved: u64, needed: u64, limit: u64) -> bool {
    used.checked_add(reserved)
        .and_then(|c| c.checked_add(needed))
        .is_none_or(|t| t > limit)
}

/// FNV-1a: model names are short, trusted keys (the caller's own config),
/// so a DoS-resistant hasher buys nothing and costs a third of `reserve`.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
