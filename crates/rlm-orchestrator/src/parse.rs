//! Reading a model's reply: the code blocks to run and a bare `FINAL(...)`
//! line. Model replies are untrusted text: nothing here panics or indexes
//! past what it checked.

/// What a reply asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedReply {
    /// The fenced ```` ```repl ```` (or ```` ```python ````) blocks, in order.
    pub code: Vec<String>,
    /// A fence that was opened and never closed (a reply cut by
    /// `max_tokens`): its code is not run.
    pub unclosed: bool,
    /// A bare `FINAL(...)` / `FINAL_VAR(...)` line outside any block.
    pub bare_final: Option<BareFinal>,
}

/// A `FINAL` line written as prose rather than run as code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareFinal {
    /// `FINAL(answer)`: the answer text (quotes of a string literal
    /// removed).
    Answer(String),
    /// `FINAL_VAR(name)`: a REPL variable, which only the sandbox can read.
    Var(String),
}

/// The info strings that mark runnable code.
fn is_code_lang(info: &str) -> bool {
    let lang = info.split_whitespace().next().unwrap_or("");
    matches!(
        lang.to_ascii_lowercase().as_str(),
        "repl" | "python" | "py" | "python3"
    )
}

/// A fence line: up to three spaces, then three or more backticks. Returns
/// the fence length and the info string.
fn fence(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ticks = rest.len() - rest.trim_start_matches('`').len();
    if ticks < 3 {
        return None;
    }
    Some((ticks, rest[ticks..].trim()))
}

/// Parses a reply.
pub fn parse_reply(reply: &str) -> ParsedReply {
    let mut out = ParsedReply::default();
    // (fence length, runnable?, lines)
    let mut open: Option<(usize, bool, Vec<&str>)> = None;
    for raw in reply.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match &mut open {
            Some((len, runnable, lines)) => {
                // A closing fence has no info string and at least as many
                // backticks as the opening one.
                if let Some((n, info)) = fence(line) {
                    if n >= *len && info.is_empty() {
                        if *runnable {
                            out.code.push(lines.join("\n"));
                        }
                        open = None;
                        continue;
                    }
                }
                lines.push(line);
            }
            None => {
                if let Some((n, info)) = fence(line) {
                    open = Some((n, is_code_lang(info), Vec::new()));
                } else if out.bare_final.is_none() {
                    out.bare_final = bare_final(line);
                }
            }
        }
    }
    if let Some((_, runnable, _)) = open {
        out.unclosed = runnable;
    }
    out
}

/// A whole line `FINAL(...)` or `FINAL_VAR(...)`; a mention inside a
/// sentence is not one.
fn bare_final(line: &str) -> Option<BareFinal> {
    let t = line.trim();
    if let Some(inner) = t
        .strip_prefix("FINAL_VAR(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let name = unquote(inner.trim());
        let valid = !name.is_empty()
            && name.chars().all(|c| c == '_' || c.is_alphanumeric())
            && !name.starts_with(|c: char| c.is_ascii_digit());
        return valid.then(|| BareFinal::Var(name.to_string()));
    }
    let inner = t.strip_prefix("FINAL(")?.strip_suffix(')')?;
    let answer = unquote(inner.trim());
    (!answer.trim().is_empty()).then(|| BareFinal::Answer(answer.to_string()))
}

/// Removes one pair of matching quotes (`"`, `'`, triple quotes).
fn unquote(s: &str) -> &str {
    for q in ["\"\"\"", "'''", "\"", "'"] {
        if s.len() >= 2 * q.len() && s.starts_with(q) && s.ends_with(q) {
            return &s[q.len()..s.len() - q.len()];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_repl_and_python_blocks_only() {
        let r = parse_reply("Look:\n```repl\nx = 1\nprint(x)\n```\ntext\n```python\ny=2\n```\n```bash\nrm -rf /\n```\n```\nplain\n```");
        assert_eq!(
            r.code,
            vec!["x = 1\nprint(x)".to_string(), "y=2".to_string()]
        );
        assert!(!r.unclosed);
        assert_eq!(r.bare_final, None);
    }

    #[test]
    fn final_inside_code_is_not_bare_and_prose_mentions_do_not_count() {
        let r = parse_reply("I will call FINAL(42) later.\n```repl\nFINAL(42)\n```");
        assert_eq!(r.bare_final, None);
        assert_eq!(r.code, vec!["FINAL(42)".to_string()]);
    }

    #[test]
    fn bare_final_lines() {
        assert_eq!(
            parse_reply("done\nFINAL(Paris)\n").bare_final,
            Some(BareFinal::Answer("Paris".into()))
        );
        assert_eq!(
            parse_reply("  FINAL(\"a b\")  ").bare_final,
            Some(BareFinal::Answer("a b".into()))
        );
        assert_eq!(
            parse_reply("FINAL_VAR(result)").bare_final,
            Some(BareFinal::Var("result".into()))
        );
        assert_eq!(parse_reply("FINAL_VAR(x); rm").bare_final, None);
        assert_eq!(parse_reply("FINAL_VAR(1x)").bare_final, None);
        assert_eq!(parse_reply("FINAL()").bare_final, None);
    }

    #[test]
    fn unclosed_and_nested_fences() {
        let r = parse_reply("```repl\nprint(1)\n");
        assert!(r.code.is_empty());
        assert!(r.unclosed);
        // A longer fence may contain a shorter one.
        let r = parse_reply("````repl\ns = '''\n```\n'''\n````");
        assert_eq!(r.code, vec!["s = '''\n```\n'''".to_string()]);
        // CRLF replies.
        let r = parse_reply("```repl\r\nx=1\r\n```\r\n");
        assert_eq!(r.code, vec!["x=1".to_string()]);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for s in [
            "",
            "`",
            "``",
            "```",
            "```repl",
            "\u{feff}```repl\n```",
            "FINAL(",
            "FINAL_VAR()",
            "é```repl\n\u{0}\n```",
            "```\n```repl\n",
        ] {
            let _ = parse_reply(s);
        }
    }
}
