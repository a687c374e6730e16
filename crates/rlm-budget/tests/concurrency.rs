//! Property tests: whatever the interleaving of reserve, settle, release and
//! drop across threads and sessions, spent + reserved never passes a limit,
//! and once every guard is gone nothing is left reserved and spent is the
//! sum of what was settled.

use std::sync::{Arc, Barrier};

use proptest::prelude::*;
use rlm_budget::{Budget, BudgetLimits, ChildLimits, Money, Price, PricingTable, Usage};

#[derive(Debug, Clone)]
enum Op {
    Reserve {
        prompt: u64,
        max_out: u64,
    },
    /// Settle the i-th held guard (mod count) at a fraction of what it holds.
    Settle {
        i: usize,
        num: u64,
    },
    Release {
        i: usize,
    },
    Drop {
        i: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..400, 0u64..400).prop_map(|(prompt, max_out)| Op::Reserve { prompt, max_out }),
        2 => (any::<usize>(), 0u64..=4).prop_map(|(i, num)| Op::Settle { i, num }),
        1 => any::<usize>().prop_map(|i| Op::Release { i }),
        1 => any::<usize>().prop_map(|i| Op::Drop { i }),
    ]
}

fn table() -> PricingTable {
    let mut t = PricingTable::empty();
    t.insert("m", Price::per_m_micros(1_000_000, 3_000_000, None));
    t
}

const COST: u64 = 4_000;
const CHILD_COST: u64 = 1_500;
const CALLS: u64 = 25;

fn check(b: &Budget, child: &Budget) {
    let r = b.report();
    assert!(r.spent + r.reserved <= Money::from_micros(COST), "{r:?}");
    assert!(r.llm_calls + r.calls_in_flight <= CALLS, "{r:?}");
    let c = child.session_report();
    assert!(
        c.spent + c.reserved <= Money::from_micros(CHILD_COST),
        "{c:?}"
    );
}

/// Runs one thread's ops on `b`; returns the sum of its settled charges.
fn run(b: &Budget, root: &Budget, child: &Budget, ops: &[Op]) -> Money {
    let mut held = Vec::new();
    let mut settled = Money::ZERO;
    for op in ops {
        match *op {
            Op::Reserve { prompt, max_out } => {
                if let Ok(r) = b.reserve("m", prompt, max_out) {
                    held.push(r);
                }
            }
            Op::Settle { i, num } if !held.is_empty() => {
                let r = held.swap_remove(i % held.len());
                // Never more than reserved: an honest estimate.
                let u = Usage::new(
                    r.held_input_tokens() * num / 4,
                    r.held_output_tokens() * num / 4,
                );
                let c = r.settle(u);
                assert!(!c.overrun);
                settled += c.cost;
            }
            Op::Release { i } if !held.is_empty() => {
                held.swap_remove(i % held.len()).release();
            }
            Op::Drop { i } if !held.is_empty() => {
                drop(held.swap_remove(i % held.len()));
            }
            _ => {}
        }
        check(root, child);
    }
    settled
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn threads_never_exceed_and_never_leak(
        threads in prop::collection::vec(prop::collection::vec(op(), 1..60), 2..5)
    ) {
        let root = Budget::new(
            BudgetLimits::unlimited()
                .with_cost(Money::from_micros(COST))
                .with_llm_calls(CALLS),
            table(),
        );
        let child = root
            .child(ChildLimits { cost: Some(Money::from_micros(CHILD_COST)), ..ChildLimits::inherit() })
            .unwrap();
        let grandchild = child.child(ChildLimits::inherit()).unwrap();
        let barrier = Arc::new(Barrier::new(threads.len()));
        let handles: Vec<_> = threads
            .into_iter()
            .enumerate()
            .map(|(k, ops)| {
                // Threads spread over the root, the capped child and its child.
                let b = [&root, &child, &grandchild][k % 3].clone();
                let (root, child, barrier) = (root.clone(), child.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    run(&b, &root, &child, &ops)
                })
            })
            .collect();
        let settled: Money = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let r = root.report();
        prop_assert_eq!(r.reserved, Money::ZERO);
        prop_assert_eq!(r.calls_in_flight, 0);
        prop_assert_eq!(r.reserved_input_tokens, 0);
        prop_assert_eq!(r.reserved_output_tokens, 0);
        prop_assert_eq!(r.spent, settled);
        let per_model: Money = r.per_model.values().map(|m| m.cost).sum();
        prop_assert_eq!(per_model, settled);
        prop_assert!(!r.overrun);
    }

    /// A sequential model of the ledger: each reservation is admitted exactly
    /// when the model says it fits under both the root's and the child's cap.
    #[test]
    fn admissions_match_a_model(ops in prop::collection::vec((any::<bool>(), op()), 1..80)) {
        let root = Budget::new(
            BudgetLimits::unlimited().with_cost(Money::from_micros(COST)),
            table(),
        );
        let child = root
            .child(ChildLimits { cost: Some(Money::from_micros(CHILD_COST)), ..ChildLimits::inherit() })
            .unwrap();
        // (held guard, in child?, held cost)
        let mut held: Vec<(rlm_budget::Reservation, bool)> = Vec::new();
        let (mut tree, mut sub) = (0u64, 0u64); // committed = spent + reserved
        for (in_child, op) in ops {
            match op {
                Op::Reserve { prompt, max_out } => {
                    let cost = prompt + 3 * max_out;
                    let fits = tree + cost <= COST && (!in_child || sub + cost <= CHILD_COST);
                    let b = if in_child { &child } else { &root };
                    let got = b.reserve("m", prompt, max_out);
                    prop_assert_eq!(got.is_ok(), fits);
                    if let Ok(r) = got {
                        tree += cost;
                        if in_child { sub += cost; }
                        held.push((r, in_child));
                    }
                }
                Op::Settle { i, num } if !held.is_empty() => {
                    let (r, c) = held.swap_remove(i % held.len());
                    let (hi, ho) = (r.held_input_tokens(), r.held_output_tokens());
                    let cost = hi + 3 * ho;
                    let real = hi * num / 4 + 3 * (ho * num / 4);
                    prop_assert_eq!(r.settle(Usage::new(hi * num / 4, ho * num / 4)).cost.micros(), real);
                    tree = tree - cost + real;
                    if c { sub = sub - cost + real; }
                }
                Op::Release { i } | Op::Drop { i } if !held.is_empty() => {
                    let (r, c) = held.swap_remove(i % held.len());
                    let cost = r.held_input_tokens() + 3 * r.held_output_tokens();
                    drop(r);
                    tree -= cost;
                    if c { sub -= cost; }
                }
                _ => {}
            }
            let rep = root.report();
            prop_assert_eq!((rep.spent + rep.reserved).micros(), tree);
            let c = child.session_report();
            prop_assert_eq!((c.spent + c.reserved).micros(), sub);
        }
    }
}
