//! The [`Orchestrator`]: what every run shares (provider, breaker,
//! sandbox factory, settings), and [`Orchestrator::run`], which gives each
//! run its own budget, filters, records and history.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use rlm_budget::{Budget, BudgetLimits, BudgetReport, PricingTable};
use rlm_circuit::{BreakerPolicy, CircuitBreaker, RetryPolicy};
use rlm_config::{Config, EgressMode};
use rlm_egress::{ContextIndex, DisclosureBudget, EgressFilter, EgressFilterBuilder, Mode};
use serde::Serialize;

use crate::calls::Caller;
use crate::error::RunError;
use crate::prompt::ContextShape;
use crate::provider::LlmProvider;
use crate::record::{Event, Recorder};
use crate::repl::ReplFactory;
use crate::session::{run_session, SessionSeed, SessionState};

/// Settings of every run, from rlm-config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The root model.
    pub model: String,
    /// The sub-call model.
    pub sub_model: String,
    /// Iterations of each session's loop.
    pub max_iterations: u32,
    /// Deepest `rlm_query` recursion (root = 0).
    pub max_depth: u32,
    /// Concurrent sub-calls of one `llm_query_batched`.
    pub max_parallel_subcalls: usize,
    /// `max_tokens` of every call.
    pub max_tokens: u32,
    /// Egress settings.
    pub egress: rlm_config::EgressConfig,
    /// The run's limits.
    pub limits: BudgetLimits,
}

impl Settings {
    /// Reads the settings from a configuration.
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            model: config.provider.model_name.clone(),
            sub_model: config.sub_model().to_string(),
            max_iterations: config.budget.max_iterations,
            max_depth: config.budget.max_recursion_depth,
            max_parallel_subcalls: config.provider.max_parallel_subcalls.max(1) as usize,
            max_tokens: config.provider.max_tokens,
            egress: config.egress.clone(),
            limits: BudgetLimits::from_config(&config.budget),
        }
    }
}

/// What runs share: nothing that belongs to one run.
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) caller: Caller,
    pub(crate) repls: Arc<dyn ReplFactory>,
    pub(crate) pricing: PricingTable,
    /// Secrets only, no cap, no context: stateless, so one serves all runs.
    pub(crate) secrets_filter: EgressFilter,
}

impl Shared {
    pub(crate) fn filter_builder(&self) -> EgressFilterBuilder {
        let e = &self.settings.egress;
        EgressFilter::builder()
            .mode(match e.mode {
                EgressMode::Redact => Mode::Redact,
                EgressMode::Block => Mode::Block,
            })
            .max_output_bytes(Some(
                usize::try_from(e.max_stdout_bytes.bytes())
                    .unwrap_or(usize::MAX)
                    .max(64),
            ))
            .entropy_threshold(e.entropy_threshold)
    }

    pub(crate) fn context_index(&self, data: &[u8]) -> Arc<ContextIndex> {
        let echo =
            usize::try_from(self.settings.egress.max_context_echo.bytes()).unwrap_or(usize::MAX);
        Arc::new(ContextIndex::new(data.to_vec(), echo))
    }
}

/// One run's own things, shared by its sessions.
pub(crate) struct RunCtx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) recorder: Recorder,
    pub(crate) approver: Option<Arc<dyn Approver>>,
    pub(crate) progress: Option<ProgressFn>,
}

/// Asks a human before a cell runs (`--approve`).
pub trait Approver: Send + Sync {
    /// Whether `code` (of session `session`) may run.
    fn approve<'a>(&'a self, session: &'a str, code: &'a str) -> BoxFuture<'a, bool>;
}

/// Where a run stands, for a progress line.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// The session starting an iteration.
    pub session: String,
    /// The iteration (from 1).
    pub iteration: u32,
    /// The limit.
    pub max_iterations: u32,
    /// Spent so far by the run.
    pub cost_usd: f64,
    /// LLM calls so far.
    pub llm_calls: u64,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The context a run reasons over.
#[derive(Debug, Clone)]
pub enum ContextInput {
    /// No context.
    None,
    /// A file, mounted read-only.
    File(PathBuf),
    /// Text held in memory (staged to a private temporary file).
    Text(String),
}

/// One run to do.
pub struct RunRequest {
    /// The user's question.
    pub query: String,
    /// The context.
    pub context: ContextInput,
    /// Where the run's records go.
    pub recorder: Recorder,
    /// Asks before each cell, when set.
    pub approver: Option<Arc<dyn Approver>>,
    /// Called at each iteration, when set.
    pub progress: Option<ProgressFn>,
}

impl RunRequest {
    /// A request with no records, approval or progress.
    pub fn new(query: impl Into<String>, context: ContextInput) -> RunRequest {
        RunRequest {
            query: query.into(),
            context,
            recorder: Recorder::none(),
            approver: None,
            progress: None,
        }
    }
}

impl fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunRequest")
            .field("query", &self.query)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

/// What a run did: its answer or why it stopped, and what it spent.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The answer (filtered), or why there is none.
    pub outcome: Result<String, RunError>,
    /// Iterations of the root session.
    pub iterations: u32,
    /// Spending of the whole run (children included).
    pub budget: BudgetReport,
    /// Wall time.
    pub elapsed: Duration,
}

impl RunReport {
    /// The process exit code (see [`crate::exit`]).
    pub fn exit_code(&self) -> i32 {
        match &self.outcome {
            Ok(_) => crate::exit::OK,
            Err(e) => e.exit_code(),
        }
    }
}

/// Runs RLM sessions. One value serves many concurrent runs; runs share
/// the provider, its breaker and the sandbox factory, never a history,
/// context, filter or budget.
#[derive(Clone)]
pub struct Orchestrator {
    shared: Arc<Shared>,
}

impl fmt::Debug for Orchestrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Orchestrator")
            .field("settings", &self.shared.settings)
            .field("provider", &self.shared.caller.provider)
            .field("repls", &self.shared.repls)
            .finish()
    }
}

/// Builds an [`Orchestrator`].
pub struct OrchestratorBuilder {
    settings: Settings,
    provider: Arc<dyn LlmProvider>,
    repls: Arc<dyn ReplFactory>,
    pricing: PricingTable,
    breaker: Option<Arc<CircuitBreaker>>,
    breaker_policy: BreakerPolicy,
    retry: RetryPolicy,
}

impl fmt::Debug for OrchestratorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrchestratorBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OrchestratorBuilder {
    /// The pricing table (default: rlm-budget's built-in prices).
    pub fn pricing(mut self, pricing: PricingTable) -> Self {
        self.pricing = pricing;
        self
    }
    /// The provider's breaker (default: one built from the policy).
    pub fn breaker(mut self, breaker: Arc<CircuitBreaker>) -> Self {
        self.breaker = Some(breaker);
        self
    }
    /// The policy of the default breaker.
    pub fn breaker_policy(mut self, policy: BreakerPolicy) -> Self {
        self.breaker_policy = policy;
        self
    }
    /// Retries of transient provider failures (default: rlm-circuit's).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// Adjusts the settings.
    pub fn settings(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        f(&mut self.settings);
        self
    }

    /// Builds.
    pub fn build(self) -> Result<Orchestrator, RunError> {
        let breaker = match self.breaker {
            Some(b) => b,
            None => Arc::new(
                CircuitBreaker::new(rlm_circuit::LLM, self.breaker_policy)
                    .map_err(|e| RunError::Config(e.to_string()))?,
            ),
        };
        let secrets_filter = EgressFilter::builder()
            .mode(match self.settings.egress.mode {
                EgressMode::Redact => Mode::Redact,
                EgressMode::Block => Mode::Block,
            })
            .max_output_bytes(None)
            .entropy_threshold(self.settings.egress.entropy_threshold)
            .build()
            .map_err(|e| RunError::Config(format!("egress filter: {e}")))?;
        let caller = Caller {
            provider: self.provider,
            breaker,
            retry: self.retry,
            max_tokens: self.settings.max_tokens,
        };
        Ok(Orchestrator {
            shared: Arc::new(Shared {
                settings: self.settings,
                caller,
                repls: self.repls,
                pricing: self.pricing,
                secrets_filter,
            }),
        })
    }
}

/// Context bytes staged in a file for mounting; removed on drop.
#[derive(Debug)]
pub(crate) struct StagedContext {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl StagedContext {
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// Stages context bytes for mounting. The sandbox runs as another user
/// (nobody), so the file must be readable by others; it sits in a fresh
/// directory with a random name that others may traverse but not list
/// (0711), so other local users cannot find it.
pub(crate) fn write_context_file(data: &[u8]) -> std::io::Result<StagedContext> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new().prefix("rlm-context-").tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))?;
    let path = dir.path().join("context.txt");
    let mut f = std::fs::File::create(&path)?;
    f.write_all(data)?;
    f.flush()?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    Ok(StagedContext { _dir: dir, path })
}

impl Orchestrator {
    /// A builder from a configuration: settings, pricing (with
    /// `RLM_PRICING_PATH` overrides) and the `llm` breaker's policy.
    pub fn builder(
        config: &Config,
        provider: Arc<dyn LlmProvider>,
        repls: Arc<dyn ReplFactory>,
    ) -> Result<OrchestratorBuilder, RunError> {
        let pricing = PricingTable::from_config(&config.budget)
            .map_err(|e| RunError::Config(e.to_string()))?;
        let breaker_policy = BreakerPolicy::from(&config.circuit.llm);
        Ok(OrchestratorBuilder {
            settings: Settings::from_config(config),
            provider,
            repls,
            pricing,
            breaker: None,
            breaker_policy,
            retry: RetryPolicy::default(),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// Runs one query to its answer or to the limit that stops it.
    pub async fn run(&self, request: RunRequest) -> RunReport {
        let started = Instant::now();
        let budget = Budget::new(self.shared.settings.limits, self.shared.pricing.clone());
        let RunRequest {
            query,
            context,
            recorder,
            approver,
            progress,
        } = request;
        let run = Arc::new(RunCtx {
            shared: Arc::clone(&self.shared),
            recorder: recorder.clone(),
            approver,
            progress,
        });
        let (outcome, iterations) = match self.start(&run, &budget, &query, context).await {
            Ok((done, _)) => (Ok(done.answer), done.iterations),
            Err(e) => (Err(e), budget.session_report().iterations),
        };
        let report = budget.report();
        recorder.record(&Event::RunEnd {
            outcome: match &outcome {
                Ok(_) => "answered".to_string(),
                Err(e) => e.kind().to_string(),
            },
            cost_usd: report.spent_usd(),
            input_tokens: report.input_tokens,
            output_tokens: report.output_tokens,
            llm_calls: report.llm_calls,
        });
        RunReport {
            outcome,
            iterations,
            budget: report,
            elapsed: started.elapsed(),
        }
    }

    async fn start(
        &self,
        run: &Arc<RunCtx>,
        budget: &Budget,
        query: &str,
        context: ContextInput,
    ) -> Result<(crate::session::SessionDone, ()), RunError> {
        let (data, path, file) = match context {
            ContextInput::None => (Vec::new(), None, None),
            ContextInput::File(p) => {
                let data = std::fs::read(&p).map_err(|e| {
                    RunError::Config(format!("cannot read the context {}: {e}", p.display()))
                })?;
                // The sandbox user (nobody) must be able to read the file;
                // a private file is staged as a copy rather than refused.
                use std::os::unix::fs::PermissionsExt;
                let world_readable =
                    std::fs::metadata(&p).is_ok_and(|m| m.permissions().mode() & 0o004 != 0);
                if world_readable {
                    // The sandbox mounts by absolute path.
                    let abs = std::fs::canonicalize(&p).unwrap_or(p);
                    (data, Some(abs), None)
                } else {
                    let f = write_context_file(&data)
                        .map_err(|e| RunError::Config(format!("cannot stage the context: {e}")))?;
                    (data, Some(f.path().to_path_buf()), Some(f))
                }
            }
            ContextInput::Text(t) => {
                let f = write_context_file(t.as_bytes())
                    .map_err(|e| RunError::Config(format!("cannot stage the context: {e}")))?;
                (t.into_bytes(), Some(f.path().to_path_buf()), Some(f))
            }
        };
        let settings = &self.shared.settings;
        run.recorder.record(&Event::RunStart {
            query: query.to_string(),
            context_bytes: data.len() as u64,
            model: settings.model.clone(),
            sub_model: settings.sub_model.clone(),
            provider: self.shared.caller.provider.name().to_string(),
        });
        let shape = ContextShape::of(&data);
        let seed = SessionSeed {
            path: "root".to_string(),
            depth: 0,
            budget: budget.clone(),
            context_index: self.shared.context_index(&data),
            context_path: path,
            context_file: file,
            disclosure: Arc::new(DisclosureBudget::new(
                settings.egress.disclosure_budget.bytes(),
            )),
            shape,
        };
        drop(data);
        let state = SessionState::new(Arc::clone(run), seed)?;
        let session = run_session(state, query.to_string());
        // The budget checks the deadline between steps; this bounds a step
        // that would run past it (a long cell, a slow provider).
        let done = match budget.remaining_time() {
            Some(left) => match tokio::time::timeout(left, session).await {
                Ok(r) => r?,
                Err(_) => {
                    return Err(RunError::Deadline(format!(
                        "wall-clock limit reached after {:.1}s; raise RLM_MAX_WALL_TIME",
                        left.as_secs_f64()
                    )))
                }
            },
            None => session.await?,
        };
        Ok((done, ()))
    }
}
