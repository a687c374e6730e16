//! `rlm egress`: the leak filter as a command.
//!
//! Contract (other tools depend on it):
//! `rlm egress [--context PATH] [--max-context-echo BYTES] [--mode redact|block] [--json] [FILE|-]`
//! reads FILE or stdin, writes the filtered text to stdout. Exit 0: nothing
//! found; 1: findings (redacted, or blocked in block mode); 2: usage,
//! configuration or I/O error. `--json` prints one object
//! `{"output": str, "findings": [{"detector", "rule", "start", "end"}]}` with
//! byte offsets in the input. In block mode without `--json`, nothing of the
//! text goes to stdout and a one-line reason goes to stderr.
#![allow(clippy::print_stderr)]

use std::io::{Read, Write};
use std::path::PathBuf;

use rlm_egress::{EgressFilter, Finding, Mode};

/// What `rlm egress` does with findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EgressMode {
    /// Replace each finding by `[REDACTED:<detector>]`.
    Redact,
    /// Print nothing of the text and exit 1.
    Block,
}

/// Filter text through the egress leak filter (secrets, encoded secrets,
/// context echo, binary output).
#[derive(Debug, clap::Args)]
pub(crate) struct EgressArgs {
    /// Protected context file: verbatim runs of it longer than
    /// --max-context-echo bytes are redacted.
    #[arg(long, value_name = "PATH")]
    pub(crate) context: Option<PathBuf>,
    /// Longest verbatim run of the context allowed out, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = rlm_egress::DEFAULT_MAX_CONTEXT_ECHO)]
    pub(crate) max_context_echo: usize,
    /// Redact findings, or block the whole text.
    #[arg(long, value_enum, default_value_t = EgressMode::Redact)]
    pub(crate) mode: EgressMode,
    /// Print one JSON object with the output and the findings.
    #[arg(long)]
    pub(crate) json: bool,
    /// Input file; `-` or nothing for stdin.
    #[arg(value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
}

/// Runs the command; returns the exit code (0 clean, 1 findings, 2 error).
pub(crate) fn run(args: &EgressArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("rlm egress: {msg}");
            2
        }
    }
}

fn run_inner(args: &EgressArgs) -> Result<i32, String> {
    let input = read_input(args.input.as_deref())?;
    let mut builder = EgressFilter::builder()
        .mode(match args.mode {
            EgressMode::Redact => Mode::Redact,
            EgressMode::Block => Mode::Block,
        })
        // The command filters whole files; capping is the caller's business.
        .max_output_bytes(None)
        .max_context_echo(args.max_context_echo);
    if let Some(path) = &args.context {
        let ctx = std::fs::read(path)
            .map_err(|e| format!("cannot read context file {}: {e}", path.display()))?;
        builder = builder.protected_context(ctx);
    }
    let filter = builder
        .build()
        .map_err(|e| format!("invalid egress configuration: {e}"))?;
    let (output, findings, blocked) = match filter.apply_bytes(&input) {
        Ok(f) => (f.output, f.findings, false),
        Err(b) => (String::new(), b.findings, true),
    };
    let code = i32::from(!findings.is_empty());
    let mut stdout = std::io::stdout().lock();
    let written = if args.json {
        let report = JsonReport {
            output: &output,
            findings: findings.iter().map(JsonFinding::from).collect(),
        };
        serde_json::to_writer(&mut stdout, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout))
    } else if blocked {
        eprintln!("rlm egress: blocked: {}", reason(&findings));
        Ok(())
    } else {
        stdout.write_all(output.as_bytes())
    };
    written
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    Ok(code)
}

fn read_input(path: Option<&std::path::Path>) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    match path {
        None => std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read stdin: {e}"))?,
        Some(p) if p.as_os_str() == "-" => std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read stdin: {e}"))?,
        Some(p) => {
            buf = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            buf.len()
        }
    };
    Ok(buf)
}

/// The `--json` object. Its keys come in the order the contract lists them
/// (`output`, then `findings`; `detector`, `rule`, `start`, `end`), so that
/// tools reading it as text, not as JSON, see what the contract shows.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    output: &'a str,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(serde::Serialize)]
struct JsonFinding<'a> {
    detector: &'a str,
    rule: &'a str,
    start: usize,
    end: usize,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        JsonFinding {
            detector: f.detector,
            rule: f.rule,
            start: f.span.start,
            end: f.span.end,
        }
    }
}

/// One line, no secret: detectors and where.
fn reason(findings: &[Finding]) -> String {
    let mut detectors: Vec<&str> = findings.iter().map(|f| f.detector).collect();
    detectors.sort_unstable();
    detectors.dedup();
    format!(
        "{} finding(s) ({}); first at bytes {}..{}",
        findings.len(),
        detectors.join(", "),
        findings.first().map_or(0, |f| f.span.start),
        findings.first().map_or(0, |f| f.span.end),
    )
}
