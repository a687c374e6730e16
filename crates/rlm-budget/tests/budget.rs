//! Deterministic tests of the ledger: limits, guards, children, reports.

use std::time::{Duration, Instant};

use rlm_budget::{
    Budget, BudgetError, BudgetLimits, ChildLimits, Money, Price, PricingTable, Scope,
    UnknownModel, Usage,
};

/// A model at $1 / $2 per million tokens: 1 micro-dollar per input token,
/// 2 per output token, so the arithmetic of the tests is readable.
fn table() -> PricingTable {
    let mut t = PricingTable::empty();
    t.insert("m", Price::per_m_micros(1_000_000, 2_000_000, None));
    t
}

fn budget(limits: BudgetLimits) -> Budget {
    Budget::new(limits, table())
}

#[test]
fn reservation_holds_worst_case_and_settles_to_real_cost() {
    let b = budget(BudgetLimits::unlimited().with_cost(Money::from_micros(1_000)));
    let r = b.reserve("m", 100, 200).unwrap();
    assert_eq!(r.held_cost(), Money::from_micros(500));
    assert_eq!(b.report().reserved, Money::from_micros(500));
    let c = r.settle(Usage::new(90, 50));
    assert_eq!(c.cost, Money::from_micros(190));
    assert!(!c.overrun);
    let rep = b.report();
    assert_eq!(rep.spent, Money::from_micros(190));
    assert_eq!(rep.reserved, Money::ZERO);
    assert_eq!(rep.remaining, Some(Money::from_micros(810)));
    assert_eq!(rep.llm_calls, 1);
}

#[test]
fn refuses_a_call_whose_worst_case_does_not_fit() {
    let b = budget(BudgetLimits::unlimited().with_cost(Money::from_micros(1_000)));
    let _a = b.reserve("m", 100, 200).unwrap(); // 500
    let _b = b.reserve("m", 100, 200).unwrap(); // 1000: exactly the limit
    let err = b.reserve("m", 1, 0).unwrap_err();
    assert!(matches!(
        err,
        BudgetError::Cost {
            scope: Scope::Run,
            ..
        }
    ));
    let msg = err.to_string();
    assert!(msg.contains("RLM_COST_LIMIT_USD"), "{msg}");
    assert!(msg.contains("$0.000001"), "{msg}");
    assert_eq!(err.setting(), Some("RLM_COST_LIMIT_USD"));
}

#[test]
fn dropped_guard_releases() {
    let b = budget(BudgetLimits::unlimited().with_cost(Money::from_micros(500)));
    {
        let _r = b.reserve("m", 100, 200).unwrap();
        assert!(b.reserve("m", 1, 0).is_err());
    }
    let rep = b.report();
    assert_eq!(rep.reserved, Money::ZERO);
    assert_eq!(rep.calls_in_flight, 0);
    assert_eq!(rep.llm_calls, 0);
    b.reserve("m", 100, 200).unwrap().release();
    assert_eq!(b.report().reserved, Money::ZERO);
}

#[test]
fn token_and_call_limits() {
    let b = budget(
        BudgetLimits::unlimited()
            .with_input_tokens(150)
            .with_output_tokens(300)
            .with_llm_calls(2),
    );
    let r = b.reserve("m", 100, 100).unwrap();
    let e = b.reserve("m", 100, 100).unwrap_err();
    assert!(matches!(e, BudgetError::InputTokens { .. }), "{e}");
    assert!(e.to_string().contains("RLM_MAX_INPUT_TOKENS"));
    let e = b.reserve("m", 10, 250).unwrap_err();
    assert!(matches!(e, BudgetError::OutputTokens { .. }), "{e}");
    assert!(e.to_string().contains("RLM_MAX_OUTPUT_TOKENS"));
    r.settle(Usage::new(10, 10));
    b.reserve("m", 10, 10).unwrap().settle(Usage::new(10, 10));
    let e = b.reserve("m", 1, 1).unwrap_err();
    assert!(matches!(e, BudgetError::LlmCalls { made: 2, .. }), "{e}");
    assert!(e.to_string().contains("RLM_MAX_LLM_CALLS"));
}

#[test]
fn children_draw_on_the_parents_budget() {
    let root = budget(
        BudgetLimits::unlimited()
            .with_cost(Money::from_micros(1_000))
            .with_recursion_depth(2),
    );
    let child = root.child(ChildLimits::inherit()).unwrap();
    let grandchild = child.child(ChildLimits::inherit()).unwrap();
    assert_eq!(grandchild.depth(), 2);
    let e = grandchild.child(ChildLimits::inherit()).unwrap_err();
    assert!(matches!(
        e,
        BudgetError::RecursionDepth { depth: 3, limit: 2 }
    ));
    assert!(e.to_string().contains("RLM_MAX_RECURSION_DEPTH"));

    let held = grandchild.reserve("m", 400, 0).unwrap();
    assert_eq!(root.remaining_cost(), Some(Money::from_micros(600)));
    assert_eq!(child.remaining_cost(), Some(Money::from_micros(600)));
    // The root cannot spend what the grandchild holds.
    assert!(root.reserve("m", 601, 0).is_err());
    held.settle(Usage::new(400, 0));
    assert_eq!(child.session_report().spent, Money::from_micros(400));
    assert_eq!(root.report().spent, Money::from_micros(400));
    assert_eq!(root.session_report().spent, Money::from_micros(400));
}

#[test]
fn a_child_cap_binds_the_child_only() {
    let root = budget(BudgetLimits::unlimited().with_cost(Money::from_micros(1_000)));
    let capped = root
        .child(ChildLimits {
            cost: Some(Money::from_micros(100)),
            ..ChildLimits::inherit()
        })
        .unwrap();
    let e = capped.reserve("m", 101, 0).unwrap_err();
    assert!(
        matches!(
            e,
            BudgetError::Cost {
                scope: Scope::Child { depth: 1 },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("ChildLimits"), "{e}");
    capped
        .reserve("m", 100, 0)
        .unwrap()
        .settle(Usage::new(100, 0));
    root.reserve("m", 900, 0)
        .unwrap()
        .settle(Usage::new(900, 0));
    assert_eq!(root.remaining_cost(), Some(Money::ZERO));
}

#[test]
fn iterations_are_per_session() {
    let root = budget(BudgetLimits::unlimited().with_iterations(2));
    assert_eq!(root.begin_iteration().unwrap(), 1);
    assert_eq!(root.begin_iteration().unwrap(), 2);
    let e = root.begin_iteration().unwrap_err();
    assert!(matches!(e, BudgetError::Iterations { limit: 2, depth: 0 }));
    assert!(e.to_string().contains("RLM_MAX_ITERATIONS"));
    let child = root.child(ChildLimits::inherit()).unwrap();
    assert_eq!(child.begin_iteration().unwrap(), 1);
    let short = root
        .child(ChildLimits {
            iterations: Some(0),
            ..ChildLimits::inherit()
        })
        .unwrap();
    assert!(short.begin_iteration().is_err());
    assert_eq!(root.report().iterations, 3);
}

#[test]
fn deadline_stops_calls_iterations_and_children() {
    let t0 = Instant::now();
    let b = Budget::starting_at(
        BudgetLimits::unlimited().with_wall_time(Duration::from_secs(60)),
        table(),
        t0,
    );
    let before = t0 + Duration::from_secs(59);
    let after = t0 + Duration::from_secs(60);
    assert!(b.check_deadline_at(before).is_ok());
    assert_eq!(b.remaining_time_at(before), Some(Duration::from_secs(1)));
    b.reserve_at("m", 1, 1, before).unwrap().release();
    let e = b.check_deadline_at(after).unwrap_err();
    assert!(e.to_string().contains("RLM_MAX_WALL_TIME"), "{e}");
    assert!(b.reserve_at("m", 1, 1, after).is_err());
    assert!(b.begin_iteration_at(after).is_err());
    assert!(b.child_at(ChildLimits::inherit(), after).is_err());
    // A child's own, shorter deadline.
    let c = b
        .child_at(
            ChildLimits {
                wall_time: Some(Duration::from_secs(5)),
                ..ChildLimits::inherit()
            },
            t0,
        )
        .unwrap();
    assert!(c.check_deadline_at(t0 + Duration::from_secs(5)).is_err());
    assert!(b.check_deadline_at(t0 + Duration::from_secs(5)).is_ok());
}

#[test]
fn overrun_is_recorded_and_flagged() {
    let b = budget(BudgetLimits::unlimited().with_cost(Money::from_micros(100)));
    let r = b.reserve("m", 50, 10).unwrap(); // 70
    let c = r.settle(Usage::new(150, 10)); // 170: the estimate was short
    assert!(c.overrun);
    let rep = b.report();
    assert_eq!(rep.spent, Money::from_micros(170));
    assert!(rep.overrun);
    assert_eq!(rep.remaining, Some(Money::ZERO));
    assert!(b.reserve("m", 0, 0).is_err());
}

#[test]
fn unknown_models_refused_or_priced_at_fallback() {
    let b = budget(BudgetLimits::unlimited());
    let e = b.reserve("nope", 1, 1).unwrap_err();
    assert!(matches!(e, BudgetError::Pricing(_)));
    assert_eq!(b.report().calls_in_flight, 0);

    let fb = table().with_unknown(UnknownModel::Fallback(Price::per_m_micros(
        10_000_000, 30_000_000, None,
    )));
    let b = Budget::new(BudgetLimits::unlimited(), fb);
    b.reserve("nope", 1_000, 1_000)
        .unwrap()
        .settle(Usage::new(1_000, 1_000));
    let rep = b.report();
    let u = &rep.per_model["nope"];
    assert!(u.fallback_price);
    assert_eq!(u.priced_as, "(fallback)");
    assert_eq!(u.cost, Money::from_micros(40_000));
}

#[test]
fn report_breaks_down_per_model_and_serialises() {
    let b = Budget::new(BudgetLimits::unlimited(), PricingTable::builtin());
    b.reserve("gpt-4o-mini-2024-07-18", 10, 10)
        .unwrap()
        .settle(Usage::new(1_000_000, 0));
    b.reserve("claude-3-5-sonnet-20241022", 10, 10)
        .unwrap()
        .settle(Usage {
            input_tokens: 1_000,
            cached_input_tokens: 1_000,
            output_tokens: 1_000,
        });
    let rep = b.report();
    assert_eq!(rep.per_model.len(), 2);
    let mini = &rep.per_model["gpt-4o-mini-2024-07-18"];
    assert_eq!(mini.priced_as, "gpt-4o-mini");
    assert_eq!(mini.cost, Money::from_micros(150_000));
    let sonnet = &rep.per_model["claude-3-5-sonnet-20241022"];
    assert_eq!(sonnet.cost, Money::from_micros(300 + 15_000));
    assert_eq!(rep.spent, mini.cost + sonnet.cost);
    let json = serde_json::to_string(&rep).unwrap();
    assert!(json.contains("\"spent\":165300"), "{json}");
    let back: rlm_budget::BudgetReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rep);
}

#[test]
fn builds_from_rlm_config() {
    let cfg = rlm_config::Config::defaults().unwrap();
    let b = Budget::from_config(&cfg.budget).unwrap();
    let l = b.limits();
    assert_eq!(l.cost, Some(Money::from_usd(5)));
    assert_eq!(l.llm_calls, Some(500));
    assert_eq!(l.recursion_depth, Some(2));
    assert_eq!(l.wall_time, Some(Duration::from_secs(30 * 60)));
    assert!(b.reserve("gpt-4o-mini", 1_000, 4_096).is_ok());
    assert!(b.reserve("unknown-model", 1, 1).is_err());
}

#[test]
fn pricing_path_from_config() {
    let dir = std::env::temp_dir().join(format!("rlm-budget-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pricing.json");
    std::fs::write(
        &path,
        r#"{"models": {"local-llama": {"input_cost_per_m": 0, "output_cost_per_m": 0.01}}}"#,
    )
    .unwrap();
    let mut cfg = rlm_config::Config::defaults().unwrap().budget;
    cfg.pricing_path = Some(path.clone());
    let b = Budget::from_config(&cfg).unwrap();
    let p = b.price("local-llama").unwrap().price;
    assert_eq!(p, Price::per_m_micros(0, 10_000, None));

    std::fs::write(
        &path,
        r#"{"models": {"x": {"input_cost_per_m": "1.2.3", "output_cost_per_m": 1}}}"#,
    )
    .unwrap();
    let e = Budget::from_config(&cfg).unwrap_err();
    assert!(e.to_string().contains("input_cost_per_m"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn guard_is_send_and_static() {
    fn assert_send<T: Send + 'static>(_: &T) {}
    let b = budget(BudgetLimits::unlimited());
    let r = b.reserve("m", 1, 1).unwrap();
    assert_send(&r);
    let h = std::thread::spawn(move || r.settle(Usage::new(1, 1)));
    assert_eq!(h.join().unwrap().cost, Money::from_micros(3));
}
