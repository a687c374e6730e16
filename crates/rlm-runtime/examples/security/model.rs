//! What an attack is, what a run of it produced, and the verdicts.

use std::time::Duration;

use rlm_runtime::{ExecOutcome, ExecStatus};
use serde::Serialize;

/// Where an attack aims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Category {
    /// Reaching anything over a network.
    Network,
    /// Reading secrets or writing where it must not.
    Filesystem,
    /// Raw devices.
    Device,
    /// Gaining privilege: uid, capabilities, dangerous syscalls.
    Privilege,
    /// Exhausting memory, processes, disk, output, CPU, time, descriptors.
    Resource,
    /// Learning about the host.
    Information,
    /// Getting data or control out through the channels that exist.
    Exfiltration,
    /// Checks of the host after the attacks (not attacks themselves).
    Host,
}

impl Category {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Category::Network => "network",
            Category::Filesystem => "filesystem",
            Category::Device => "device",
            Category::Privilege => "privilege",
            Category::Resource => "resource",
            Category::Information => "information",
            Category::Exfiltration => "exfiltration",
            Category::Host => "host",
        }
    }
}

/// The outcome of one attack under one runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The sandbox stopped it (or contained it within its limits).
    Blocked(String),
    /// Expected exposure under this runtime (e.g. runc shows the host
    /// kernel): reported, not an escape.
    Info(String),
    /// The attack got something it must not.
    Escaped(String),
    /// The harness could not tell: the attack did not behave as either.
    Error(String),
}

impl Verdict {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Verdict::Blocked(_) => "blocked",
            Verdict::Info(_) => "info",
            Verdict::Escaped(_) => "ESCAPED",
            Verdict::Error(_) => "ERROR",
        }
    }

    pub(crate) fn detail(&self) -> &str {
        match self {
            Verdict::Blocked(d) | Verdict::Info(d) | Verdict::Escaped(d) | Verdict::Error(d) => d,
        }
    }
}

/// What the verdict functions know about the host and the session.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    /// `runsc` or `runc`.
    pub(crate) runtime: String,
    /// Whether the session verified it runs under gVisor.
    pub(crate) gvisor: bool,
    /// The host's `uname -r`.
    pub(crate) host_kernel: String,
    /// The host's full `/proc/version` line.
    pub(crate) host_proc_version: String,
    /// The host's hostname.
    pub(crate) host_hostname: String,
    /// The host's boot id.
    pub(crate) host_boot_id: String,
    /// A random value in this process's environment.
    pub(crate) canary: String,
    /// A random value inside the context file.
    pub(crate) context_secret: String,
    /// A random value in a host file next to the context file.
    pub(crate) host_secret: String,
    /// Per-cell capture cap.
    pub(crate) max_capture: usize,
    /// Docker pids limit.
    pub(crate) pids_limit: u64,
    /// `ulimit -n`.
    pub(crate) nofile_limit: u64,
    /// Largest of tmpfs size and fsize limit.
    pub(crate) disk_limit: u64,
    /// Unique to this run, for finding stray processes on the host.
    pub(crate) marker: String,
    /// Environment keys the image itself sets (`docker image inspect`).
    pub(crate) image_env_keys: Vec<String>,
}

/// What running an attack produced.
#[derive(Debug)]
pub(crate) struct Run {
    /// The attack cell.
    pub(crate) outcome: Result<ExecOutcome, String>,
    /// Wall time of the attack cell as this harness saw it.
    pub(crate) elapsed: std::time::Duration,
    /// The follow-up cell, if the attack has one and the session lived.
    pub(crate) followup: Option<Result<ExecOutcome, String>>,
    /// Whether the session was alive afterwards.
    pub(crate) alive: bool,
    /// Host calls served during the attack.
    pub(crate) calls: usize,
    /// Fresh sessions: whether the container was gone after `close`.
    pub(crate) container_removed: Option<bool>,
    /// Fresh sessions: host processes still carrying the run's marker.
    pub(crate) stray_processes: Option<usize>,
}

/// A verdict function.
pub(crate) type Judge = Box<dyn Fn(&Env, &Run) -> Verdict + Send + Sync>;

/// One attack.
pub(crate) struct Attack {
    /// Short unique name, `category.what`.
    pub(crate) name: &'static str,
    /// Its category.
    pub(crate) category: Category,
    /// The cell (the prelude's helpers are defined).
    pub(crate) code: String,
    /// Needs a session of its own (it kills or poisons it).
    pub(crate) fresh: bool,
    /// Its own cell timeout (default: the suite's).
    pub(crate) timeout: Option<Duration>,
    /// A second cell run after it in the same session.
    pub(crate) followup: Option<&'static str>,
    /// The verdict.
    pub(crate) judge: Judge,
}

impl Attack {
    pub(crate) fn new(
        name: &'static str,
        category: Category,
        code: impl Into<String>,
        judge: Judge,
    ) -> Attack {
        Attack {
            name,
            category,
            code: code.into(),
            fresh: false,
            timeout: None,
            followup: None,
            judge,
        }
    }

    pub(crate) fn fresh(mut self) -> Attack {
        self.fresh = true;
        self
    }

    pub(crate) fn timeout(mut self, t: Duration) -> Attack {
        self.timeout = Some(t);
        self
    }

    pub(crate) fn followup(mut self, code: &'static str) -> Attack {
        self.followup = Some(code);
        self
    }
}

/// At most `n` characters of `s`, on one line.
pub(crate) fn short(s: &str, n: usize) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one = one.trim();
    if one.chars().count() <= n {
        one.to_string()
    } else {
        let mut t: String = one.chars().take(n).collect();
        t.push('…');
        t
    }
}

/// A one-line description of how a cell ended.
pub(crate) fn describe(o: &ExecOutcome) -> String {
    let mut s = format!("{:?}", o.status);
    if let Some(e) = &o.exception {
        s.push_str(&format!(" {}: {}", e.kind, short(&e.message, 80)));
    }
    if !o.stdout.is_empty() {
        s.push_str(&format!(" stdout={:?}", short(&o.stdout, 80)));
    }
    s
}

fn err_detail(e: &str) -> String {
    format!("exec failed: {}", short(e, 160))
}

/// The cell raised one of `kinds` (the attack was refused); completing is
/// an escape; anything else is a harness error.
pub(crate) fn raises(kinds: &'static [&'static str]) -> Judge {
    Box::new(move |_env, run| match &run.outcome {
        Err(e) => Verdict::Error(err_detail(e)),
        Ok(o) => match (&o.status, &o.exception) {
            (ExecStatus::Raised, Some(x)) if kinds.contains(&x.kind.as_str()) => {
                Verdict::Blocked(format!("{}: {}", x.kind, short(&x.message, 100)))
            }
            (ExecStatus::Ok, _) => Verdict::Escaped(format!(
                "the operation succeeded ({})",
                short(&o.stdout, 100)
            )),
            _ => Verdict::Error(format!("expected one of {kinds:?}, got {}", describe(o))),
        },
    })
}

/// The cell printed `BLOCKED:`/`INFO:`/`ESCAPED:` lines (from the prelude's
/// `_sec_report`); any `ESCAPED` wins.
pub(crate) fn markers() -> Judge {
    Box::new(|_env, run| judge_markers(run, false))
}

/// As [`markers`], but an `INFO` line under runsc is an escape: what runc
/// legitimately shows, gVisor must not.
pub(crate) fn markers_info_runc_only() -> Judge {
    Box::new(|env, run| {
        let v = judge_markers(run, false);
        match v {
            Verdict::Info(d) if env.gvisor => {
                Verdict::Escaped(format!("host detail visible under gVisor: {d}"))
            }
            Verdict::Info(d) => Verdict::Info(format!("expected under runc: {d}")),
            v => v,
        }
    })
}

pub(crate) fn judge_markers(run: &Run, _strict: bool) -> Verdict {
    let o = match &run.outcome {
        Err(e) => return Verdict::Error(err_detail(e)),
        Ok(o) => o,
    };
    let mut blocked = Vec::new();
    let mut info = Vec::new();
    for line in o.stdout.lines() {
        if let Some(d) = line.strip_prefix("ESCAPED: ") {
            return Verdict::Escaped(short(d, 200));
        } else if let Some(d) = line.strip_prefix("INFO: ") {
            info.push(d.to_string());
        } else if let Some(d) = line.strip_prefix("BLOCKED: ") {
            blocked.push(d.to_string());
        }
    }
    if !info.is_empty() {
        return Verdict::Info(short(&info.join("; "), 200));
    }
    if !blocked.is_empty() && o.status == ExecStatus::Ok {
        return Verdict::Blocked(short(&blocked.join("; "), 200));
    }
    Verdict::Error(format!("no verdict from the cell: {}", describe(o)))
}
