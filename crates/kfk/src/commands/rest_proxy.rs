//! `kfk rest-proxy`: the kafka-rest v2 proxy (crate kfk-rest) as a process
//! of its own, in front of whatever cluster kfk is pointed at.

use crate::cli::RestProxyArgs;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

/// The line `kfk cluster up` waits for in the proxy's log.
pub const READY: &str = "REST proxy listening on";

pub async fn run(ctx: &Ctx, args: &RestProxyArgs) -> CliResult {
    let (mut config, _) = ctx.client_config()?;
    let brokers = config.bootstrap.clone();
    let auth = if args.basic_auth {
        // Callers authenticate as themselves: the proxy's own SASL
        // identity (if any) only says which mechanism the cluster takes.
        let mechanism = config
            .sasl
            .take()
            .map_or_else(|| "SCRAM-SHA-512".to_string(), |s| s.mechanism);
        kfk_rest::auth::Auth::Basic { mechanism }
    } else {
        kfk_rest::auth::Auth::None
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| {
            CliError::new(format!("cannot listen on {}: {e}", args.listen))
                .hint("pick another address with --listen HOST:PORT")
        })?;
    let addr = listener.local_addr()?;
    // Status goes to stderr whatever -q says: it is this process's log.
    eprintln!("{READY} http://{addr} for {}", brokers.join(","));
    let serve = kfk_rest::serve(config, auth, listener);
    tokio::select! {
        () = serve => Err(CliError::new("the REST proxy stopped")),
        () = shutdown() => {
            output::status("REST proxy stopped.");
            Ok(())
        }
    }
}

/// SIGTERM (`kfk cluster down`) or Ctrl-C.
async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}
