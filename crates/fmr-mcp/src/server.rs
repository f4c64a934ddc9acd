//! The rmcp glue: the tool list, and each call run on tokio's blocking pool.

use std::sync::{Arc, Mutex, PoisonError};

use fmr_core::Report;
use fmr_engine::Engine;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

use crate::tools::{
    self, AttemptArgs, AttemptOutput, AuditArgs, AuditOutput, CharacterizeOutput, ExplainArgs,
    FailureMode, RunInputs, SearchArgs, SearchOutput, TraceArgs, TraceOutput,
};

const INSTRUCTIONS: &str = "fmr (Failure Mode Researcher) diagnoses failing ML training runs. \
Start with `investigate`: give the log paths, the training code and the user's description of the symptom; \
it returns ranked hypotheses (knowledge-base ids such as FM0001) with their evidence and a plan of next steps. \
`explain_failure_mode` gives one hypothesis in full; `search_knowledge` finds failure modes by text at four levels \
(exact, technique, phenomenon, cross-domain analogy); `audit_code` and `trace_data_flow` look into the code; \
after the user tries a fix, `record_attempt` with the same inputs re-ranks the hypotheses. \
Paths are read on the server's machine; relative paths resolve against its working directory.";

/// The MCP server: the knowledge base and its index, built once, behind a lock
/// because the SQLite index is not shareable between threads.
#[derive(Clone)]
pub struct FmrServer {
    engine: Arc<Mutex<Engine>>,
    tool_router: ToolRouter<Self>,
}

impl FmrServer {
    /// Builds the knowledge-base index (a few milliseconds).
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            engine: Arc::new(Mutex::new(Engine::new()?)),
            tool_router: Self::tool_router(),
        })
    }

    /// Runs `work` on the blocking pool with the engine. A panic inside it
    /// becomes a tool error instead of taking the server down.
    async fn with_engine<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let engine = Arc::clone(&self.engine);
        blocking(move || {
            // The engine is read-only during a call, so a panic in an earlier
            // call cannot have left it half-updated.
            let engine = engine.lock().unwrap_or_else(PoisonError::into_inner);
            work(&engine)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| Err(format!("internal error: the tool stopped: {error}")))
}

#[tool_router]
impl FmrServer {
    /// Investigate a failing training run end to end: read the logs, detect
    /// and characterize the symptoms, search the knowledge base at four levels,
    /// rank failure-mode hypotheses with their evidence, audit the code, and
    /// plan the next steps with their sources. Returns the full report (the
    /// same JSON as `fmr investigate --format json`).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn investigate(
        &self,
        Parameters(args): Parameters<RunInputs>,
    ) -> Result<Json<Report>, String> {
        self.with_engine(move |engine| tools::investigate(engine, &args))
            .await
            .map(Json)
    }

    /// Characterize a failing run without searching or auditing: the symptoms
    /// the detectors measured (with numbers, metric and step window), the
    /// onset, environment and hyperparameters, what was tried, and the open
    /// questions that would sharpen the diagnosis.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn characterize(
        &self,
        Parameters(args): Parameters<RunInputs>,
    ) -> Result<Json<CharacterizeOutput>, String> {
        blocking(move || tools::characterize(&args)).await.map(Json)
    }

    /// Search fmr's knowledge base of training failure modes by free text,
    /// at one level or all four: exact, technique, phenomenon, cross-domain
    /// analogy. Each hit has an id for `explain_failure_mode`.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn search_knowledge(
        &self,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<Json<SearchOutput>, String> {
        self.with_engine(move |engine| tools::search_knowledge(engine, &args))
            .await
            .map(Json)
    }

    /// Run fmr's static audit rules (PyTorch and JAX silent bugs: missing
    /// zero_grad, softmax before cross-entropy, GradScaler misuse, PRNG key
    /// reuse, ...) over a Python file or project. Returns findings with
    /// file, line, snippet and message.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn audit_code(
        &self,
        Parameters(args): Parameters<AuditArgs>,
    ) -> Result<Json<AuditOutput>, String> {
        blocking(move || tools::audit_code(&args)).await.map(Json)
    }

    /// Trace one name (`labels`, `loss`, a batch) through Python code: where
    /// its value comes from (assignments, loaders, datasets, call sites across
    /// functions and files, back to `np.load` or `make_regression`) and where
    /// it goes (model, loss, `.backward()`), each step with file, line and the
    /// transformation (normalize, shuffle, cast, augment, reshape, split,
    /// index, device, detach, ...), plus the audit findings on those lines.
    /// Best effort, static.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn trace_data_flow(
        &self,
        Parameters(args): Parameters<TraceArgs>,
    ) -> Result<Json<TraceOutput>, String> {
        blocking(move || tools::trace_data_flow(&args))
            .await
            .map(Json)
    }

    /// Record a fix the user tried and how it went, and re-rank the
    /// investigation: pass the original `investigate` inputs and the attempt.
    /// Returns what moved (ranks, likelihoods, statuses, with the reasons) and
    /// the updated report. A failed fix is evidence against the hypotheses it
    /// targets.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn record_attempt(
        &self,
        Parameters(args): Parameters<AttemptArgs>,
    ) -> Result<Json<AttemptOutput>, String> {
        self.with_engine(move |engine| tools::record_attempt(engine, &args))
            .await
            .map(Json)
    }

    /// One failure mode of the knowledge base in full: summary, symptom
    /// signatures, root causes, diagnostics that tell it apart from its
    /// look-alikes, fixes with conditions and effort, audit rules, cross-domain
    /// analogies and checked sources.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn explain_failure_mode(
        &self,
        Parameters(args): Parameters<ExplainArgs>,
    ) -> Result<Json<FailureMode>, String> {
        self.with_engine(move |engine| tools::explain_failure_mode(engine, &args))
            .await
            .map(Json)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for FmrServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("fmr", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interface agents see: names, descriptions and input schemas. A
    /// change here is a change to every client's prompt; review it as such.
    #[test]
    fn tool_list_is_stable() {
        let tools: Vec<serde_json::Value> = FmrServer::tool_router()
            .list_all()
            .into_iter()
            .map(|tool| {
                serde_json::json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": *tool.input_schema,
                    "has_output_schema": tool.output_schema.is_some(),
                    "read_only": tool.annotations.and_then(|a| a.read_only_hint),
                })
            })
            .collect();
        insta::assert_json_snapshot!(tools);
    }
}
