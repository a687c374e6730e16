//! Full runs with code executing in the real sandbox (Docker + gVisor)
//! and a scripted model behind a real HTTP server on loopback.
//!
//! Without a reachable Docker engine these tests are skipped with a note,
//! except under CI=true, where they fail.
#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use rlm_orchestrator::record::{Recorder, Trajectory};
use rlm_orchestrator::{exit, ContextInput, Orchestrator, RunError, RunRequest};
use serde_json::Value;
use support::*;

const AWS_KEY: &str = "AKIAZ7Q3XK9PLM2WT4VB";
const NEEDLE: &str = "The vault code is 48213-OBSIDIAN.";

/// A multi-MB haystack with the needle and, next to it, an AWS key.
fn haystack(mb: usize) -> String {
    let mut s = String::with_capacity(mb << 20);
    let mut i = 0u64;
    while s.len() < mb << 20 {
        s.push_str(&format!(
            "Record {i}: the weather station logged ordinary readings and nothing of note today.\n"
        ));
        i += 1;
        if i == 20_000 {
            s.push_str(&format!(
                "{NEEDLE} Deploy credentials: aws_access_key_id={AWS_KEY}\n"
            ));
        }
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn needle_in_a_haystack_with_a_sub_call_never_leaks_the_key() {
    let cfg = config();
    let Some(repls) = docker(&cfg).await else {
        return;
    };
    let server = MockServer::start(Arc::new(|body: &Value, _| {
        if is_sub(body) {
            let p = last_user(body);
            return if p.contains("48213-OBSIDIAN") { Reply::text("48213-OBSIDIAN") } else { Reply::text("not found") };
        }
        match turn(body) {
            0 => Reply::text(repl(
                "hits = context.search(r'vault code', max_results=3)\nprint(len(context), hits[:1])\noff = hits[0][0]",
            )),
            1 => Reply::text(repl(
                "chunk = context[max(0, off - 20000): off + 20000]\nans = llm_query('What is the vault code? Answer with the code only.\\n\\n' + chunk)\nprint(ans)\nFINAL(ans)",
            )),
            _ => Reply::text("FINAL(gave up)"),
        }
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let traj = dir.path().join("t.jsonl");
    let orch = Orchestrator::builder(&cfg, server.provider(), repls)
        .unwrap()
        .build()
        .unwrap();
    let mut req = RunRequest::new("What is the vault code?", ContextInput::Text(haystack(3)));
    req.recorder = Recorder::new(vec![Trajectory::create(&traj).unwrap()], None);
    let report = orch.run(req).await;
    assert_eq!(
        report.outcome.as_deref().ok(),
        Some("48213-OBSIDIAN"),
        "{:?}",
        report.outcome
    );
    let reqs = server.requests();
    assert!(
        reqs.iter()
            .any(|r| is_sub(&r.body) && r.raw.contains("48213-OBSIDIAN")),
        "the chunk reached the sub-model"
    );
    for r in &reqs {
        assert!(!r.raw.contains(AWS_KEY), "the AWS key reached the provider");
    }
    let t = std::fs::read_to_string(&traj).unwrap();
    assert!(
        t.contains("\"channel\":\"sub_prompt\""),
        "the redaction was recorded"
    );
    assert!(!t.contains(AWS_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rlm_query_recurses_to_the_depth_limit_then_degrades() {
    let mut cfg = config();
    cfg.budget.max_recursion_depth = 1;
    let Some(repls) = docker(&cfg).await else {
        return;
    };
    let server = MockServer::start(Arc::new(|body: &Value, _| {
        if is_sub(body) {
            return Reply::text("leaf answer");
        }
        match question(body).as_str() {
            "outer" => Reply::text(repl("FINAL(rlm_query('inner', context='a small context'))")),
            // Depth 1 is the limit: this rlm_query degrades to llm_query.
            "inner" => Reply::text(repl(
                "r = rlm_query('deepest')\nprint(len(context))\nFINAL(r)",
            )),
            q => Reply::text(format!("FINAL(unexpected {q})")),
        }
    }))
    .await;
    let orch = Orchestrator::builder(&cfg, server.provider(), repls)
        .unwrap()
        .build()
        .unwrap();
    let report = orch
        .run(RunRequest::new(
            "outer",
            ContextInput::Text("the root context".into()),
        ))
        .await;
    assert_eq!(
        report.outcome.as_deref().ok(),
        Some("leaf answer"),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.budget.deepest, 1);
    let subs = server.requests().iter().filter(|r| is_sub(&r.body)).count();
    assert_eq!(subs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_replies_raising_code_and_a_5mb_print() {
    let cfg = config();
    let Some(repls) = docker(&cfg).await else {
        return;
    };
    let server = MockServer::start(Arc::new(|body: &Value, _| match turn(body) {
        0 => Reply::text("```repl\nprint('unclosed'"),
        1 => Reply::text("```\nnot python\n```\n```repl\n1/0\n```"),
        2 => Reply::text(repl("print('x' * (5 * 1024 * 1024))")),
        3 => Reply::text(repl("FINAL_VAR('nope')")),
        _ => Reply::text(repl("answer = 'survived'\nFINAL_VAR('answer')")),
    }))
    .await;
    let orch = Orchestrator::builder(&cfg, server.provider(), repls)
        .unwrap()
        .build()
        .unwrap();
    let report = orch.run(RunRequest::new("q", ContextInput::None)).await;
    assert_eq!(
        report.outcome.as_deref().ok(),
        Some("survived"),
        "{:?}",
        report.outcome
    );
    let reqs = server.requests();
    assert!(last_user(&reqs[1].body).contains("not closed"));
    assert!(last_user(&reqs[2].body).contains("ZeroDivisionError"));
    let after_big = &reqs[3].raw;
    assert!(
        after_big.len() < 256 * 1024,
        "the 5 MB print was capped ({} bytes sent)",
        after_big.len()
    );
    assert!(last_user(&reqs[4].body).contains("NameError"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn llm_query_batched_over_16_prompts_with_one_failure() {
    let cfg = config();
    let Some(repls) = docker(&cfg).await else {
        return;
    };
    let server = MockServer::start(Arc::new(|body: &Value, _| {
        if is_sub(body) {
            let p = last_user(body);
            if p == "q7" {
                return Reply::status(400);
            }
            return Reply::text(p.replace('q', "a")).delay(Duration::from_millis(100));
        }
        Reply::text(repl("r = llm_query_batched([f'q{i}' for i in range(16)])\nFINAL('|'.join(x if not x.startswith('Error') else 'ERR' for x in r))"))
    }))
    .await;
    let orch = Orchestrator::builder(&cfg, server.provider(), repls)
        .unwrap()
        .build()
        .unwrap();
    let report = orch.run(RunRequest::new("q", ContextInput::None)).await;
    let expected: Vec<String> = (0..16)
        .map(|i| {
            if i == 7 {
                "ERR".to_string()
            } else {
                format!("a{i}")
            }
        })
        .collect();
    assert_eq!(
        report.outcome.as_deref().ok(),
        Some(expected.join("|").as_str()),
        "{:?}",
        report.outcome
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runaway_sub_calls_are_stopped_by_the_budget() {
    let mut cfg = config();
    cfg.budget.max_llm_calls = 6;
    let Some(repls) = docker(&cfg).await else {
        return;
    };
    let server = MockServer::start(Arc::new(|body: &Value, _| {
        if is_sub(body) {
            return Reply::text("more");
        }
        // Catches every error and keeps calling: the sticky stop ends it.
        Reply::text(repl("n = 0\nwhile n < 1000:\n    try:\n        llm_query('again')\n    except Exception:\n        pass\n    n += 1\nprint(n)"))
    }))
    .await;
    let orch = Orchestrator::builder(&cfg, server.provider(), repls)
        .unwrap()
        .build()
        .unwrap();
    let report = orch.run(RunRequest::new("q", ContextInput::None)).await;
    assert!(
        matches!(report.outcome, Err(RunError::Budget(_))),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.exit_code(), exit::BUDGET);
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_sessions_share_nothing() {
    let cfg = config();
    let Some(repls) = docker(&cfg).await else {
        return;
    };
    let server = MockServer::start(Arc::new(|body: &Value, _| {
        let q = question(body);
        if turn(body) == 0 {
            // Each run remembers its own value in its own REPL.
            Reply::text(repl(&format!(
                "mine = context[0:8]\nprint(len(context))\nlabel = {q:?}"
            )))
        } else {
            Reply::text(repl("FINAL(label + ':' + mine)"))
        }
    }))
    .await;
    let orch = Orchestrator::builder(&cfg, server.provider(), repls)
        .unwrap()
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let orch = orch.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = format!("ctx{i:05}-{}", "z".repeat(1000 + i));
            orch.run(RunRequest::new(format!("run{i}"), ContextInput::Text(ctx)))
                .await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let report = t.await.unwrap();
        assert_eq!(
            report.outcome.as_deref().ok(),
            Some(format!("run{i}:ctx{i:05}").as_str()),
            "{:?}",
            report.outcome
        );
        assert_eq!(report.budget.llm_calls, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outputs_and_the_answer_are_filtered_with_the_context_protected() {
    let cfg = config();
    let Some(repls) = docker(&cfg).await else {
        return;
    };
    let server = MockServer::start(Arc::new(|body: &Value, _| match turn(body) {
        // Dump the whole context (a secret and long verbatim runs) to stdout and stderr.
        0 => Reply::text(repl("import sys\nprint(context[0:len(context)])\nprint(context[0:len(context)], file=sys.stderr)")),
        _ => Reply::text(repl("FINAL(context[0:len(context)])")),
    }))
    .await;
    let orch = Orchestrator::builder(&cfg, server.provider(), repls)
        .unwrap()
        .build()
        .unwrap();
    let ctx = haystack(1);
    let report = orch
        .run(RunRequest::new("dump it", ContextInput::Text(ctx)))
        .await;
    let answer = report.outcome.unwrap();
    assert!(!answer.contains(AWS_KEY));
    assert!(
        answer.contains("[REDACTED"),
        "the answer's context echo was redacted"
    );
    let reqs = server.requests();
    for r in &reqs {
        assert!(!r.raw.contains(AWS_KEY), "the AWS key reached the provider");
    }
    let shown = last_user(&reqs[1].body);
    assert!(
        shown.contains("REDACTED"),
        "{}",
        &shown[..shown.len().min(500)]
    );
    assert!(shown.len() < 200 * 1024);
}
