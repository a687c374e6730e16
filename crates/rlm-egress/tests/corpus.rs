//! Detection targets on the labelled corpus (see `support/corpus.rs`).
//!
//! Run with `--nocapture` to see the figures:
//! `cargo test -p rlm-egress --test corpus -- --nocapture`.
//! `CORPUS_SEED` and `CORPUS_SCALE` (samples per family, default 16) draw
//! another or a larger corpus; the targets are asserted on any.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[path = "support/corpus.rs"]
mod corpus;

use std::collections::BTreeMap;

use corpus::{Label, FAMILIES};
use rlm_egress::EgressFilter;

const MAX_ECHO: usize = 64;

#[derive(Default)]
struct Tally {
    total: usize,
    bad: usize,
}

impl Tally {
    fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.bad as f64 / self.total as f64
        }
    }
}

#[test]
fn corpus_targets() {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seed = env("CORPUS_SEED").unwrap_or(0xE6E5_5EED);
    let scale = env("CORPUS_SCALE").map_or(16, |n| n as usize);
    let c = corpus::generate(seed, scale, MAX_ECHO);
    let filter = EgressFilter::builder()
        .max_output_bytes(None)
        .max_context_echo(MAX_ECHO)
        .protected_context(c.context.clone())
        .build()
        .unwrap();
    let mut secrets = Tally::default();
    let mut encoded = Tally::default();
    let mut echo = Tally::default();
    let mut echo_enc = Tally::default();
    let mut harmless = Tally::default();
    let mut quotes = Tally::default();
    let mut per_family: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut misses: Vec<String> = Vec::new();
    for s in &c.samples {
        let out = filter.apply(&s.text).unwrap();
        let survived = corpus::survives(&s.label, &out.output, MAX_ECHO);
        let changed = out.output != s.text;
        let (t, bad) = match &s.label {
            Label::Secret { family, .. } => {
                let f = per_family.entry(family).or_default();
                f.total += 1;
                f.bad += survived as usize;
                (&mut secrets, survived)
            }
            Label::Encoded { .. } => (&mut encoded, survived),
            Label::Echo { encoded: false, .. } => (&mut echo, survived),
            Label::Echo { encoded: true, .. } => (&mut echo_enc, survived),
            Label::Harmless => (&mut harmless, changed),
            Label::Quote => (&mut quotes, changed),
        };
        t.total += 1;
        if bad {
            t.bad += 1;
            if misses.len() < 40 {
                let kind = match &s.label {
                    Label::Secret { family, .. } => format!("secret {family}"),
                    Label::Encoded { family, .. } => format!("encoded {family}"),
                    Label::Echo { encoded, .. } => format!("echo encoded={encoded}"),
                    Label::Harmless => "harmless".into(),
                    Label::Quote => "quote".into(),
                };
                let spans: Vec<String> = out
                    .findings
                    .iter()
                    .map(|f| {
                        format!(
                            "{}={:?}",
                            f.detector,
                            &s.text[f.span.clone()].chars().take(60).collect::<String>()
                        )
                    })
                    .collect();
                let needle = match &s.label {
                    Label::Echo { needles, .. } | Label::Encoded { needles, .. } => {
                        needles[0].len()
                    }
                    _ => 0,
                };
                misses.push(format!("{kind} (needle {needle} B): {spans:?}"));
            }
        }
    }
    println!("| case | samples | target | result |");
    println!("| --- | ---: | --- | ---: |");
    println!(
        "| planted secrets surviving | {} | <= 1% | {:.2}% |",
        secrets.total,
        100.0 * secrets.rate()
    );
    println!(
        "| encoded secrets surviving | {} | <= 5% | {:.2}% |",
        encoded.total,
        100.0 * encoded.rate()
    );
    println!(
        "| context runs > {MAX_ECHO} B surviving | {} | 0 | {} |",
        echo.total, echo.bad
    );
    println!(
        "| encoded context runs surviving | {} | 0 | {} |",
        echo_enc.total, echo_enc.bad
    );
    println!(
        "| harmless outputs changed | {} | <= 1% | {:.2}% |",
        harmless.total,
        100.0 * harmless.rate()
    );
    println!(
        "| short quotes changed | {} | 0 | {} |",
        quotes.total, quotes.bad
    );
    let weak: Vec<_> = per_family
        .iter()
        .filter(|(_, t)| t.bad > 0)
        .map(|(f, t)| format!("{f}: {}/{}", t.bad, t.total))
        .collect();
    println!("families with survivors: {weak:?}");
    for m in &misses {
        println!("miss: {m}");
    }
    assert_eq!(per_family.len(), FAMILIES.len());
    assert!(
        secrets.rate() <= 0.01,
        "planted secrets surviving: {:.2}%",
        100.0 * secrets.rate()
    );
    assert!(
        encoded.rate() <= 0.05,
        "encoded secrets surviving: {:.2}%",
        100.0 * encoded.rate()
    );
    assert_eq!(echo.bad, 0, "context runs surviving");
    assert_eq!(echo_enc.bad, 0, "encoded context runs surviving");
    assert!(
        harmless.rate() <= 0.01,
        "harmless changed: {:.2}%",
        100.0 * harmless.rate()
    );
    assert_eq!(quotes.bad, 0, "short quotes changed");
}
