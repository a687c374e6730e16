//! The guard of one call's reservation: settle it with the real usage, or
//! let it go and it is released.

use serde::{Deserialize, Serialize};

use crate::ledger::Budget;
use crate::money::Money;
use crate::pricing::{Price, Usage};

/// What a reservation holds: the call's worst case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Amounts {
    pub(crate) cost: Money,
    pub(crate) input: u64,
    pub(crate) output: u64,
}

/// The worst case of one call, held against every limit until the call
/// ends.
///
/// [`settle`](Reservation::settle) it with the provider's reported usage;
/// [`release`](Reservation::release) it when the call failed before anything
/// was charged. A guard dropped without either (an early `?`, a panic, a
/// cancelled future) releases, so a failed call never leaks budget.
///
/// The guard owns a handle on the ledger (`Send + 'static`), so async code
/// can hold it across `.await`.
#[must_use = "a reservation dropped at once is released: settle it after the call"]
#[derive(Debug)]
pub struct Reservation {
    budget: Budget,
    model_idx: usize,
    price: Price,
    held: Amounts,
    done: bool,
}

/// What a settled call cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// The real cost.
    pub cost: Money,
    /// Whether the real usage exceeded the reservation (a short prompt
    /// estimate); the money is recorded anyway.
    pub overrun: bool,
}

impl Reservation {
    pub(crate) fn new(budget: Budget, model_idx: usize, price: Price, held: Amounts) -> Self {
        Reservation {
            budget,
            model_idx,
            price,
            held,
            done: false,
        }
    }

    /// The worst-case cost held.
    pub fn held_cost(&self) -> Money {
        self.held.cost
    }

    /// The prompt tokens held.
    pub fn held_input_tokens(&self) -> u64 {
        self.held.input
    }

    /// The output tokens held (the call's `max_tokens`).
    pub fn held_output_tokens(&self) -> u64 {
        self.held.output
    }

    /// The price the call is charged at.
    pub fn price(&self) -> Price {
        self.price
    }

    /// Records the call's real usage and frees the rest of the reservation.
    pub fn settle(mut self, usage: Usage) -> Charge {
        self.done = true;
        self.budget
            .settle_amounts(self.model_idx, &self.price, &self.held, &usage)
    }

    /// Frees the reservation: the call was not made, or failed before the
    /// provider charged for it.
    pub fn release(mut self) {
        self.done = true;
        self.budget.release_amounts(&self.held);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            self.budget.release_amounts(&self.held);
        }
    }
}
