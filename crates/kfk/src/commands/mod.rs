//! One module per command; `run` dispatches from the parsed command line.

pub mod cluster;
pub mod config;
pub mod consume;
pub mod describe;
pub mod groups;
pub mod produce;
pub mod reassign;
pub mod topics;
pub mod zk_shell;

use std::io::IsTerminal;

use clap::CommandFactory;

use crate::cli::{Cli, ClusterCommand, Command, GroupsCommand, ReassignCommand, TopicsCommand};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};

/// Asks on a terminal; refuses (false) when not attached to one.
pub fn confirm(question: &str) -> CliResult<bool> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(false);
    }
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| CliError::new(e.to_string()))
}

pub async fn run(ctx: &Ctx, command: &Command) -> CliResult {
    match command {
        Command::Cluster(ClusterCommand::Up(a)) => cluster::up(ctx, a).await,
        Command::Cluster(ClusterCommand::Status) => cluster::status(ctx).await,
        Command::Cluster(ClusterCommand::Down(a)) => cluster::down(ctx, a).await,
        Command::Cluster(ClusterCommand::StopBroker(a)) => cluster::stop_broker(ctx, a).await,
        Command::Groups(GroupsCommand::List) => groups::list(ctx).await,
        Command::ZkShell(a) => zk_shell::run(ctx, a).await,
        Command::Reassign(ReassignCommand::Generate(a)) => reassign::generate(ctx, a).await,
        Command::Reassign(ReassignCommand::Execute(a)) => reassign::execute(ctx, a).await,
        Command::Reassign(ReassignCommand::Verify(a)) => reassign::verify(ctx, a).await,
        Command::Reassign(ReassignCommand::Cancel(a)) => reassign::cancel(ctx, a).await,
        Command::Reassign(ReassignCommand::List) => reassign::list(ctx).await,
        Command::Reassign(ReassignCommand::ElectLeaders(a)) => {
            reassign::elect_leaders(ctx, a).await
        }
        Command::Groups(GroupsCommand::Describe(a)) => groups::describe(ctx, a).await,
        Command::Groups(GroupsCommand::ResetOffsets(a)) => groups::reset_offsets(ctx, a).await,
        Command::Groups(GroupsCommand::Delete(a)) => groups::delete(ctx, a).await,
        Command::Cluster(ClusterCommand::StartBroker(a)) => cluster::start_broker(ctx, a).await,
        Command::Topics(TopicsCommand::Create(a)) => topics::create(ctx, a).await,
        Command::Topics(TopicsCommand::List(a)) => topics::list(ctx, a).await,
        Command::Topics(TopicsCommand::Describe(a)) => topics::describe(ctx, a).await,
        Command::Topics(TopicsCommand::Delete(a)) => topics::delete(ctx, a).await,
        Command::Topics(TopicsCommand::Alter(a)) => topics::alter(ctx, a).await,
        Command::Produce(a) => produce::run(ctx, a).await,
        Command::Consume(a) => consume::run(ctx, a).await,
        Command::Describe(a) => describe::run(ctx, &a.what).await,
        Command::Config(c) => config::run(ctx, c),
        Command::Completion(a) => {
            let mut cmd = Cli::command();
            clap_complete::generate(a.shell, &mut cmd, "kfk", &mut std::io::stdout());
            Ok(())
        }
        Command::Man(a) => crate::docs::write_man_pages(&a.dir),
    }
}
