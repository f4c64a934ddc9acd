//! fmr as a Model Context Protocol server, so that a coding agent can delegate
//! "why does this training run fail?" to it.
//!
//! [`serve_stdio`] speaks MCP over stdin/stdout with the official Rust SDK
//! (rmcp). Every rmcp type stays inside this crate, so an SDK upgrade touches
//! nothing else.
//!
//! Layout:
//! - [`tools`]: one plain function per tool, taking its argument type and
//!   returning its result type or a message for the caller. They know nothing
//!   of MCP and are tested directly.
//! - `server`: the rmcp glue. Argument types derive `JsonSchema`, so their doc
//!   comments become the tools' input schemas; results go back as structured
//!   content with an output schema. CPU work runs on tokio's blocking pool.
//!
//! Errors (a path that does not exist, an unknown id, malformed arguments) come
//! back as tool errors (`isError: true`) with a message that says what to fix;
//! the server itself keeps running. Stdout carries the protocol and nothing
//! else: no library crate prints, and rmcp logs through `tracing`, which has no
//! subscriber here.

mod attempt;
mod explain;
mod inputs;
mod server;
pub mod tools;

use std::time::Duration;

pub use server::FmrServer;

/// How long shutdown waits for a tool still running when the client hangs up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serves MCP over stdin/stdout until the client closes the connection.
///
/// Blocking: builds its own single-threaded tokio runtime (CPU work goes to
/// its blocking pool), so a synchronous `main` can call it directly. Returns
/// an error only when the server cannot start (the knowledge-base index cannot
/// be built) or the transport fails; tool errors go back to the client.
pub fn serve_stdio() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(serve_stdio_async());
    // A tool still running on the blocking pool must not keep the process alive
    // after the client has gone.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    outcome
}

/// [`serve_stdio`] for callers that already run inside a tokio runtime.
pub async fn serve_stdio_async() -> anyhow::Result<()> {
    use rmcp::ServiceExt;

    let server = FmrServer::new().map_err(anyhow::Error::msg)?;
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
