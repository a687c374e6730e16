//! `rlm audit verify FILE`: checks a hash-chained audit log.
//!
//! Exit status: 0 intact, 1 tampered (the first bad line is named), 2 the
//! file cannot be read.

use std::path::PathBuf;

use rlm_orchestrator::record::{verify_audit_log, AuditVerdict};

/// `rlm audit`.
#[derive(clap::Args)]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Check that no line of an audit log was edited, inserted, removed or reordered.
    Verify {
        /// The audit log (RLM_AUDIT_PATH of a run).
        file: PathBuf,
    },
}

/// Runs `rlm audit`; returns the exit status.
pub(crate) fn run(args: &AuditArgs) -> i32 {
    match &args.command {
        AuditCommand::Verify { file } => match verify_audit_log(file) {
            Ok(AuditVerdict::Intact { entries }) => {
                println!("{}: intact ({entries} entries)", file.display());
                0
            }
            Ok(AuditVerdict::Tampered { line, reason }) => {
                println!("{}: TAMPERED at line {line}: {reason}", file.display());
                1
            }
            Err(e) => {
                eprintln!("rlm audit verify: {e}");
                2
            }
        },
    }
}
