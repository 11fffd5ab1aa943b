//! `kfk`, the operator CLI. Data goes to stdout, status and errors to stderr;
//! errors are one sentence plus a hint, with a non-zero exit code.

/// jemalloc reserves huge allocations lazily where the OS overcommits, so a
/// count a hostile frame claims (kafka-protocol pre-allocates arrays by the
/// count they declare) costs address space, never memory, before decoding
/// fails at the end of the frame.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod cli;
mod client_props;
mod cluster_file;
mod commands;
mod console_format;
mod consuming;
mod ctx;
mod docs;
mod error;
mod format;
mod home;
mod jsonl;
mod line_reader;
mod local;
mod names;
mod offsets;
mod output;
mod pattern;
mod profile;
mod repl;
mod security;
mod term;

use std::process::ExitCode;

use crate::cli::Cli;
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::home::Home;

fn report(e: &CliError) -> ExitCode {
    eprintln!("error: {}", e.message);
    if let Some(h) = &e.hint {
        eprintln!("hint: {h}");
    }
    ExitCode::from(e.code)
}

fn main() -> ExitCode {
    // A shell asking for completions (COMPLETE=bash kfk -- kfk topics ...)
    // is answered here, before anything else is printed.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .completer("kfk")
        .complete();
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    term::init(cli.color, cli.quiet);
    let home = match Home::locate() {
        Ok(h) => h,
        Err(e) => return report(&e),
    };
    let client_props = if cli.command_config.is_some() || !cli.command_property.is_empty() {
        match client_props::ClientProps::load(cli.command_config.as_deref(), &cli.command_property)
        {
            Ok(p) => {
                for w in &p.warnings {
                    output::status(&format!("warning: {w}"));
                }
                if let Err(e) = p.apply(&mut cli.command, &matches) {
                    return report(&e);
                }
                Some(p)
            }
            Err(e) => return report(&e),
        }
    } else {
        None
    };
    let ctx = Ctx {
        home,
        client_props,
        bootstrap_flag: cli.bootstrap.clone(),
        output: cli.output,
        request_timeout: cli.request_timeout.map(Into::into),
        sasl: match (&cli.sasl_mechanism, &cli.sasl_username) {
            (Some(mechanism), Some(username)) => Some(crate::ctx::SaslFlags {
                mechanism: mechanism.clone(),
                username: username.clone(),
                password_file: cli.sasl_password_file.clone(),
                password: None,
            }),
            _ => None,
        },
        tls: crate::security::TlsFlags {
            protocol: cli.security_protocol,
            ca_file: cli.ssl_ca_file.clone(),
            cert_file: cli.ssl_cert_file.clone(),
            key_file: cli.ssl_key_file.clone(),
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return report(&CliError::new(format!("cannot start: {e}"))),
    };
    match runtime.block_on(commands::run(&ctx, &cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}
