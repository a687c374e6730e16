//! What the root model is told: the system prompt (the REPL, the
//! context's size and shape, the helpers), the per-turn user message, and
//! how a cell's output is shown.

/// The context as the prompt describes it: size and shape only. No content
/// goes into the prompt — the model reads the context through the REPL,
/// whose output passes the egress filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextShape {
    /// Bytes.
    pub bytes: u64,
    /// Lines.
    pub lines: u64,
    /// A guess at the format (`JSON`, `JSON lines`, `CSV`, `text`).
    pub format: &'static str,
}

impl ContextShape {
    /// Measures a context.
    pub fn of(data: &[u8]) -> ContextShape {
        let lines = if data.is_empty() {
            0
        } else {
            data.iter().filter(|&&b| b == b'\n').count() as u64 + u64::from(!data.ends_with(b"\n"))
        };
        let head = &data[..data.len().min(4096)];
        let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
        let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let format = match first {
            None => "empty",
            Some(b'{') if lines > 1 && first_line.ends_with(b"}") => "JSON lines",
            Some(b'{') | Some(b'[') => "JSON",
            _ if first_line.iter().filter(|&&b| b == b',').count() >= 2 => "CSV-like text",
            _ => "text",
        };
        ContextShape {
            bytes: data.len() as u64,
            lines,
            format,
        }
    }
}

/// The system prompt of a session.
pub fn system_prompt(
    shape: &ContextShape,
    depth: u32,
    max_depth: u32,
    max_iterations: u32,
) -> String {
    let recursion = if depth < max_depth {
        "- `rlm_query(prompt, context=None) -> str`: starts a child RLM session (its own REPL) on `prompt`, \
         over `context` (a str) or, when omitted, over this same context; it returns the child's final answer. \
         Use it for sub-problems that need their own exploration.\n"
            .to_string()
    } else {
        "- `rlm_query(prompt, context=None) -> str`: at this depth it behaves like `llm_query(prompt + context)` \
         (the recursion limit is reached).\n"
            .to_string()
    };
    format!(
        "You are answering a question about a context that is too large to read at once. \
You work in a persistent Python REPL where the context is the variable `context`.\n\n\
The context: {bytes} bytes, {lines} lines, looks like {format}. `context` supports len(context), \
slicing context[a:b] (byte offsets, returns str), context.read(offset, length), \
context.search(regex, max_results=10) -> [(offset, match)], and context.lines(start, end) -> [str].\n\n\
Helpers available in the REPL:\n\
- `llm_query(prompt) -> str`: asks a sub-model (it can read a few hundred thousand characters); \
pass it chunks of the context with your instructions.\n\
- `llm_query_batched(prompts) -> list[str]`: the same for many prompts at once, run concurrently; \
a failed prompt yields a string starting with \"Error:\" in its slot.\n\
{recursion}\
- `FINAL(answer)`: ends the session with `answer`.\n\
- `FINAL_VAR(name)`: ends the session with the value of the REPL variable `name` (pass the name as a string).\n\n\
To run code, write it in a fenced block:\n\
```repl\nprint(len(context))\n```\n\
You see what your code prints (long outputs are cut to their head and tail, and anything that looks \
like a secret or a long verbatim quote of the context is redacted). Variables persist between turns. \
Explore the context with code, delegate reading to llm_query, keep intermediate results in variables, \
and call FINAL only when you know the answer. You have at most {max_iterations} turns.",
        bytes = shape.bytes,
        lines = shape.lines,
        format = shape.format,
    )
}

/// The user message that opens turn `turn` (from 1).
pub fn turn_message(turn: u32, max_turns: u32, query: &str, previous: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(p) = previous {
        s.push_str(p);
        s.push_str("\n\n");
    }
    s.push_str(&format!(
        "Turn {turn} of {max_turns}. The question: {query}\n"
    ));
    if turn == max_turns {
        s.push_str("This is your last turn: call FINAL with your best answer now.\n");
    } else {
        s.push_str("Write ```repl code to continue, or call FINAL(answer) when you know it.\n");
    }
    s
}

/// How one cell's filtered output is shown to the model.
pub fn cell_report(cell: usize, stdout: &str, stderr: &str, error: Option<&str>) -> String {
    let mut s = String::new();
    if stdout.is_empty() && stderr.is_empty() && error.is_none() {
        s.push_str(&format!("[cell {cell}] ran, printed nothing.\n"));
        return s;
    }
    if !stdout.is_empty() {
        s.push_str(&format!("[cell {cell}] stdout:\n{stdout}\n"));
    }
    if !stderr.is_empty() {
        s.push_str(&format!("[cell {cell}] stderr:\n{stderr}\n"));
    }
    if let Some(e) = error {
        s.push_str(&format!("[cell {cell}] error:\n{e}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(ContextShape::of(b"").format, "empty");
        assert_eq!(
            ContextShape::of(b"{\"a\":1}\n{\"a\":2}\n").format,
            "JSON lines"
        );
        assert_eq!(ContextShape::of(b"[1,2]").format, "JSON");
        assert_eq!(ContextShape::of(b"a,b,c\n1,2,3").lines, 2);
        assert_eq!(ContextShape::of(b"hello\nworld\n").lines, 2);
    }

    #[test]
    fn prompt_mentions_helpers_and_size() {
        let p = system_prompt(&ContextShape::of(b"abc"), 0, 1, 5);
        for needle in [
            "3 bytes",
            "llm_query",
            "llm_query_batched",
            "rlm_query",
            "FINAL_VAR",
            "```repl",
        ] {
            assert!(p.contains(needle), "{needle}");
        }
        assert!(turn_message(5, 5, "q", None).contains("last turn"));
    }
}
