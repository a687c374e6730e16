//! Properties of the filter, with modest case counts (CI has two cores).
#![allow(clippy::unwrap_used)]

#[path = "support/corpus.rs"]
mod corpus;

use std::sync::OnceLock;

use proptest::prelude::*;
use rlm_egress::{EgressFilter, Mode};

fn filter() -> &'static EgressFilter {
    static F: OnceLock<EgressFilter> = OnceLock::new();
    F.get_or_init(|| {
        EgressFilter::builder()
            .max_output_bytes(None)
            .protected_context(corpus::context_document(
                &mut corpus::Rng::new(7),
                16 * 1024,
            ))
            .build()
            .unwrap()
    })
}

/// Benign text drawn from the corpus generator.
fn benign() -> impl Strategy<Value = String> {
    (any::<u64>(), 1usize..4).prop_map(|(seed, n)| {
        let mut rng = corpus::Rng::new(seed);
        (0..n)
            .map(|_| corpus::benign(&mut rng))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// A self-identifying secret (one that needs no surrounding keyword): its
/// carrier, the secret as it leaks alone ([`corpus::bare`]), and the needle
/// that must not survive.
fn secret() -> impl Strategy<Value = (String, String, String)> {
    let fams: Vec<&'static str> = corpus::FAMILIES
        .iter()
        .copied()
        .filter(|f| !corpus::CONTEXTUAL.contains(f))
        .collect();
    (any::<u64>(), proptest::sample::select(fams)).prop_map(|(seed, fam)| {
        let mut rng = corpus::Rng::new(seed);
        let (carrier, needles) = corpus::plant(&mut rng, fam);
        let bare = corpus::bare(fam, &carrier, &needles);
        (carrier, bare, needles[0].clone())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn redaction_is_idempotent_and_rescan_finds_nothing(text in benign(), (carrier, _, _) in secret(), at in 0usize..10_000) {
        let mut t = text;
        let at = t.char_indices().map(|(i, _)| i).nth(at % (t.chars().count() + 1)).unwrap_or(t.len());
        t.insert_str(at, &format!("\n{carrier}\n"));
        let once = filter().apply(&t).unwrap();
        prop_assert!(!once.findings.is_empty());
        let twice = filter().apply(&once.output).unwrap();
        prop_assert_eq!(&twice.output, &once.output);
        prop_assert!(twice.findings.is_empty(), "{:?}", twice.findings);
    }

    #[test]
    fn redaction_is_idempotent_when_secrets_touch_their_neighbours(text in benign(), (_, bare, _) in secret(), at in 0usize..10_000, before in prop::sample::select(vec!["", "x", "Q9", "-", "_", "/", "+", "=", "\\n"]), after in prop::sample::select(vec!["", "z", "7", "-", "_", "/", "==", "."])) {
        // Glued to its neighbours, a secret's finding cuts token runs in
        // part; what the redaction leaves of them must not be flagged by a
        // second pass.
        let mut t = text;
        let at = t.char_indices().map(|(i, _)| i).nth(at % (t.chars().count() + 1)).unwrap_or(t.len());
        t.insert_str(at, &format!("{before}{bare}{after}"));
        let once = filter().apply(&t).unwrap();
        let twice = filter().apply(&once.output).unwrap();
        prop_assert_eq!(&twice.output, &once.output);
    }

    #[test]
    fn planted_secret_is_caught_anywhere(text in benign(), (_, bare, needle) in secret(), at in 0usize..10_000, sep in prop::sample::select(vec![" ", "\n", "\t", "=", ": ", "\"", "'", "(", ","])) {
        let mut t = text;
        let at = t.char_indices().map(|(i, _)| i).nth(at % (t.chars().count() + 1)).unwrap_or(t.len());
        t.insert_str(at, &format!("{sep}{bare}{sep}"));
        let out = filter().apply(&t).unwrap();
        prop_assert!(!out.output.contains(&needle), "survived: {:?}", out.findings);
    }

    #[test]
    fn percent_encoded_secret_in_a_url_is_cut(text in benign(), (_, bare, needle) in secret(), escape in any::<u64>(), at in 0usize..10_000) {
        // Every byte of the secret that a URL encoder might escape is
        // escaped, and one in four of the others, chosen by `escape`.
        let mut enc = String::new();
        for (i, b) in bare.bytes().enumerate() {
            if !b.is_ascii_alphanumeric() || escape >> (2 * (i % 32)) & 3 == 0 {
                enc.push_str(&format!("%{b:02X}"));
            } else {
                enc.push(b as char);
            }
        }
        let head = "GET https://api.example.com/v1/items?next=%2Fhome&key=";
        let line = format!("{head}{enc}&page=2 200\n");
        let mut t = text;
        let at = t.char_indices().map(|(i, _)| i).nth(at % (t.chars().count() + 1)).unwrap_or(t.len());
        t.insert_str(at, &format!("\n{line}"));
        let out = filter().apply(&t).unwrap();
        prop_assert!(!out.output.contains(&enc), "survived: {:?}", out.findings);
        prop_assert!(!out.output.contains(&needle), "survived: {:?}", out.findings);
        let again = filter().apply(&out.output).unwrap();
        prop_assert_eq!(&again.output, &out.output);
    }

    #[test]
    fn harmless_shapes_pass(seed in any::<u64>()) {
        let mut rng = corpus::Rng::new(seed);
        let uuid = format!("{}-{}-4{}-8{}-{}", rng.chars(corpus::HEXL, 8), rng.chars(corpus::HEXL, 4), rng.chars(corpus::HEXL, 3), rng.chars(corpus::HEXL, 3), rng.chars(corpus::HEXL, 12));
        let t = format!(
            "id={uuid}\ncommit {}\nsha256:{}\nvalue {}.{}e-{}\nsee /usr/lib/python3.11/site-packages/numpy/core/_multiarray_umath.py\n",
            rng.chars(corpus::HEXL, 40), rng.chars(corpus::HEXL, 64), rng.below(1000), rng.chars(corpus::DIGITS, 12), rng.below(30)
        );
        let out = filter().apply(&t).unwrap();
        prop_assert_eq!(&out.output, &t, "{:?}", out.findings);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = filter().scan_bytes(&data);
        let _ = filter().apply_bytes(&data);
    }

    #[test]
    fn stream_catches_secrets_across_chunk_boundaries(text in benign(), (carrier, _, secret) in secret(), chunk in 1usize..700, pad in 0usize..80_000) {
        let t = format!("{}{}\n{carrier}\n{text}", "x ".repeat(pad / 2), text);
        let mut s = filter().stream();
        let mut out = Vec::new();
        for c in t.as_bytes().chunks(chunk.max(1)) {
            out.extend(s.push(c).unwrap());
        }
        let end = s.finish().unwrap();
        out.extend(end.output);
        let out = String::from_utf8(out).unwrap();
        prop_assert!(!out.contains(&secret));
        prop_assert!(!end.findings.is_empty());
    }
}

#[test]
fn taking_findings_as_they_come_loses_none() {
    let context = corpus::context_document(&mut corpus::Rng::new(11), 256 * 1024);
    let piece = corpus::mixed_output(12, 1024 * 1024, &context);
    let filter = EgressFilter::builder()
        .max_output_bytes(None)
        .protected_context(context)
        .build()
        .unwrap();
    let chunks: Vec<&[u8]> = piece.as_bytes().chunks(7 * 1024 + 3).collect();
    let mut whole = filter.stream();
    let mut whole_out = Vec::new();
    for c in &chunks {
        whole_out.extend(whole.push(c).unwrap());
    }
    let whole_end = whole.finish().unwrap();
    whole_out.extend(whole_end.output);

    let mut taking = filter.stream();
    let mut taking_out = Vec::new();
    let mut taken = Vec::new();
    for c in &chunks {
        taking_out.extend(taking.push(c).unwrap());
        taken.extend(taking.take_findings());
    }
    let end = taking.finish().unwrap();
    taking_out.extend(end.output);
    taken.extend(end.findings);

    assert!(whole_end.findings.len() > 100);
    assert_eq!(taken, whole_end.findings);
    assert_eq!(taking_out, whole_out);
}

#[test]
fn block_mode_returns_findings_without_the_secret() {
    let f = EgressFilter::builder().mode(Mode::Block).build().unwrap();
    let secret = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5";
    let err = f.apply(&format!("token {secret}")).unwrap_err();
    assert_eq!(err.findings[0].detector, "github-token");
    assert!(!err.to_string().contains(secret));
    assert!(!format!("{err:?}").contains(secret));
}

#[test]
fn scan_secrets_ignores_context_but_not_secrets() {
    let ctx = corpus::context_document(&mut corpus::Rng::new(1), 4096);
    let f = EgressFilter::builder()
        .protected_context(ctx.clone())
        .build()
        .unwrap();
    let chunk = &ctx[100..900];
    assert!(!f.scan(chunk).is_empty());
    assert!(f.scan_secrets(chunk).is_empty());
    let with_secret = format!("{chunk}\nAKIAIOSFODNN7EXAMPLE");
    assert_eq!(f.scan_secrets(&with_secret).len(), 1);
}

#[test]
fn disclosure_budget_caps_a_trickle() {
    let ctx = corpus::context_document(&mut corpus::Rng::new(2), 64 * 1024);
    let f = EgressFilter::builder()
        .protected_context(ctx.clone())
        .build()
        .unwrap();
    let budget = rlm_egress::DisclosureBudget::new(2_000);
    let mut withheld = 0;
    for i in 0..200 {
        let q = &ctx[i * 300..i * 300 + 60];
        let out = f
            .apply_with_budget(&format!("quote: {q}"), &budget)
            .unwrap();
        if out.findings.iter().any(|x| x.rule == "disclosure-budget") {
            withheld += 1;
            assert!(!out.output.contains(q));
        }
    }
    assert!(budget.released() <= 2_000);
    assert!(withheld > 150, "withheld {withheld}");
}

#[test]
fn binary_and_truncation() {
    let f = EgressFilter::builder()
        .max_output_bytes(Some(1000))
        .build()
        .unwrap();
    let out = f.apply_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0").unwrap();
    assert_eq!(out.output, "[REDACTED:binary-output]");
    let long = "ünïcödé line of text\n".repeat(500);
    let out = f.apply(&long).unwrap();
    assert!(out.truncated && out.output.len() <= 1000);
    assert!(out.output.starts_with("ünïcödé"));
    assert!(out.output.ends_with("text\n"));
}

#[test]
fn secret_past_the_cap_is_still_redacted_not_cut_in_half() {
    let f = EgressFilter::builder()
        .max_output_bytes(Some(200))
        .build()
        .unwrap();
    let t = format!(
        "{}AKIAIOSFODNN7EXAMPLE{}",
        "a ".repeat(45),
        " b".repeat(200)
    );
    let out = f.apply(&t).unwrap();
    assert!(!out.output.contains("AKIAIOSF"));
    assert!(!out.output.contains("NN7EXAMPLE"));
}
