//! Who owns a container: the labels that let a reaper tell a live owner
//! from a dead one, even across pid reuse and reboots.

use std::collections::HashMap;

/// Label: the session id.
pub const LABEL_SESSION: &str = "org.rlm.session";
/// Label: the owning process id.
pub const LABEL_OWNER_PID: &str = "org.rlm.owner-pid";
/// Label: the owner's start time in clock ticks since boot (`/proc/PID/stat`
/// field 22). A recycled pid has a different start time.
pub const LABEL_OWNER_START: &str = "org.rlm.owner-start";
/// Label: the host boot id. After a reboot every pid is someone else's.
pub const LABEL_BOOT_ID: &str = "org.rlm.boot-id";
/// Label: creation time, seconds since the Unix epoch.
pub const LABEL_CREATED: &str = "org.rlm.created";
/// Label: `pool` for warm-pool containers, `session` otherwise.
pub const LABEL_KIND: &str = "org.rlm.kind";

/// The identity of a process, stable against pid reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) pid: u32,
    pub(crate) start_ticks: Option<u64>,
    pub(crate) boot_id: Option<String>,
}

impl Owner {
    /// This process.
    pub(crate) fn current() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start_ticks: start_ticks(pid),
            boot_id: boot_id(),
        }
    }

    /// Labels for a container this process creates.
    pub(crate) fn labels(&self, session: &str, kind: &str) -> HashMap<String, String> {
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut l = HashMap::new();
        l.insert(LABEL_SESSION.to_string(), session.to_string());
        l.insert(LABEL_OWNER_PID.to_string(), self.pid.to_string());
        l.insert(
            LABEL_OWNER_START.to_string(),
            self.start_ticks.map(|t| t.to_string()).unwrap_or_default(),
        );
        l.insert(
            LABEL_BOOT_ID.to_string(),
            self.boot_id.clone().unwrap_or_default(),
        );
        l.insert(LABEL_CREATED.to_string(), created.to_string());
        l.insert(LABEL_KIND.to_string(), kind.to_string());
        l
    }

    /// Whether the owner recorded in `labels` is still running on this
    /// boot. Anything unreadable counts as gone: the container is ours
    /// (labelled) and an owner we cannot prove alive cannot clean it up.
    pub(crate) fn label_owner_alive(labels: &HashMap<String, String>) -> bool {
        let Some(pid) = labels
            .get(LABEL_OWNER_PID)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            return false;
        };
        if let (Some(recorded), Some(now)) = (labels.get(LABEL_BOOT_ID), boot_id()) {
            if !recorded.is_empty() && *recorded != now {
                return false;
            }
        }
        let Some(now_start) = start_ticks(pid) else {
            return false;
        };
        match labels.get(LABEL_OWNER_START).map(|s| s.parse::<u64>()) {
            Some(Ok(recorded)) => recorded == now_start,
            // Without a recorded start time a live pid is given the benefit
            // of the doubt: removing a live session's container is worse.
            _ => true,
        }
    }
}

/// `/proc/sys/kernel/random/boot_id`.
pub(crate) fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Field 22 of `/proc/PID/stat`: start time in clock ticks since boot.
pub(crate) fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: fields
    // are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ')' come fields 3.. ; field 22 is the 20th of them.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// A fresh session id, unique on this host: pid, a per-process counter and
/// the clock. Used as the container name, so two sessions never collide.
pub(crate) fn new_session_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("rlm-{}-{n}-{nanos:08x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_process_is_alive_and_fake_is_not() {
        let me = Owner::current();
        assert!(me.start_ticks.is_some());
        let labels = me.labels("s", "session");
        assert!(Owner::label_owner_alive(&labels));
        let mut recycled = labels.clone();
        recycled.insert(LABEL_OWNER_START.into(), "1".into());
        assert!(!Owner::label_owner_alive(&recycled));
        let mut other_boot = labels.clone();
        other_boot.insert(LABEL_BOOT_ID.into(), "not-this-boot".into());
        assert!(!Owner::label_owner_alive(&other_boot));
        let mut no_pid = labels;
        no_pid.remove(LABEL_OWNER_PID);
        assert!(!Owner::label_owner_alive(&no_pid));
    }
}
