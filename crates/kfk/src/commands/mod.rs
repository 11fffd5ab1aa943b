//! One module per command; `run` dispatches from the parsed command line.

pub mod acls;
pub mod broker;
pub mod cluster;
pub mod config;
pub mod consume;
pub mod describe;
pub mod groups;
pub mod perf;
pub mod produce;
pub mod quotas;
pub mod reassign;
pub mod rest_proxy;
pub mod top;
pub mod topics;
pub mod transactions;
pub mod users;
pub mod zk_shell;

use crate::cli::{
    AclsCommand, BrokerCommand, ClusterCommand, Command, GroupsCommand, PerfCommand, QuotasCommand,
    ReassignArgs, ReassignCommand, TopicsCommand, TransactionsCommand, UsersCommand,
};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};

/// The shell's registration of kfk's dynamic completer: each Tab runs
/// `COMPLETE=<shell> kfk -- <words>`, answered in `main`.
fn completion_script(shell: clap_complete::Shell) -> CliResult {
    use clap_complete::env::EnvCompleter;
    let completer: &dyn EnvCompleter = match shell {
        clap_complete::Shell::Bash => &clap_complete::env::Bash,
        clap_complete::Shell::Zsh => &clap_complete::env::Zsh,
        clap_complete::Shell::Fish => &clap_complete::env::Fish,
        clap_complete::Shell::Elvish => &clap_complete::env::Elvish,
        clap_complete::Shell::PowerShell => &clap_complete::env::Powershell,
        other => {
            return Err(CliError::usage(format!("no completion for {other}")));
        }
    };
    let mut out = Vec::new();
    completer.write_registration("COMPLETE", "kfk", "kfk", "kfk", &mut out)?;
    if shell == clap_complete::Shell::Zsh {
        // Installed as `_kfk` in $fpath, zsh autoloads the file as the
        // completion function itself: complete right away on that first Tab.
        out.extend_from_slice(
            b"if [ \"${funcstack[1]}\" = \"_kfk\" ]; then\n    _clap_dynamic_completer_kfk \"$@\"\nfi\n",
        );
    }
    crate::output::println_safe(String::from_utf8_lossy(&out).trim_end());
    Ok(())
}

pub async fn run(ctx: &Ctx, command: &Command) -> CliResult {
    match command {
        Command::Cluster(ClusterCommand::Up(a)) => cluster::up(ctx, a).await,
        Command::Cluster(ClusterCommand::Status) => cluster::status(ctx).await,
        Command::Cluster(ClusterCommand::Down(a)) => cluster::down(ctx, a).await,
        Command::Cluster(ClusterCommand::StopBroker(a)) => cluster::stop_broker(ctx, a).await,
        Command::Cluster(ClusterCommand::Logs(a)) => cluster::logs(ctx, a).await,
        Command::Groups(GroupsCommand::List) => groups::list(ctx).await,
        Command::ZkShell(a) => zk_shell::run(ctx, a).await,
        Command::Top(a) => top::run(ctx, a).await,
        Command::Broker(BrokerCommand::Drain(a)) => broker::drain(ctx, a).await,
        Command::RestProxy(a) => rest_proxy::run(ctx, a).await,
        Command::Reassign(ReassignArgs {
            command: Some(ReassignCommand::Generate(a)),
            ..
        }) => reassign::generate(ctx, a).await,
        Command::Reassign(ReassignArgs {
            command: Some(ReassignCommand::Execute(a)),
            ..
        }) => reassign::execute(ctx, a).await,
        Command::Reassign(ReassignArgs {
            command: Some(ReassignCommand::Verify(a)),
            ..
        }) => reassign::verify(ctx, a).await,
        Command::Reassign(ReassignArgs {
            command: Some(ReassignCommand::Cancel(a)),
            ..
        }) => reassign::cancel(ctx, a).await,
        Command::Reassign(ReassignArgs {
            command: Some(ReassignCommand::List),
            ..
        }) => reassign::list(ctx).await,
        Command::Reassign(ReassignArgs {
            command: None,
            kafka,
        }) => reassign::kafka_spelling(kafka),
        Command::Reassign(ReassignArgs {
            command: Some(ReassignCommand::ElectLeaders(a)),
            ..
        }) => reassign::elect_leaders(ctx, a).await,
        Command::Groups(GroupsCommand::Describe(a)) => groups::describe(ctx, a).await,
        Command::Groups(GroupsCommand::ResetOffsets(a)) => groups::reset_offsets(ctx, a).await,
        Command::Groups(GroupsCommand::Delete(a)) => groups::delete(ctx, a).await,
        Command::Groups(GroupsCommand::Configs(a)) => groups::configs(ctx, a).await,
        Command::Users(UsersCommand::List) => users::list(ctx).await,
        Command::Transactions(TransactionsCommand::List(a)) => transactions::list(ctx, a).await,
        Command::Transactions(TransactionsCommand::Describe(a)) => {
            transactions::describe(ctx, a).await
        }
        Command::Transactions(TransactionsCommand::DescribeProducers(a)) => {
            transactions::describe_producers(ctx, a).await
        }
        Command::Transactions(TransactionsCommand::FindHanging(a)) => {
            transactions::find_hanging(ctx, a).await
        }
        Command::Transactions(TransactionsCommand::Abort(a)) => transactions::abort(ctx, a).await,
        Command::Acls(AclsCommand::List(a)) => acls::list(ctx, a).await,
        Command::Quotas(QuotasCommand::List(a)) => quotas::list(ctx, a).await,
        Command::Quotas(QuotasCommand::Set(a)) => quotas::set(ctx, a).await,
        Command::Quotas(QuotasCommand::Delete(a)) => quotas::delete(ctx, a).await,
        Command::Acls(AclsCommand::Create(a)) => acls::create(ctx, a).await,
        Command::Acls(AclsCommand::Delete(a)) => acls::delete(ctx, a).await,
        Command::Users(UsersCommand::Create(a)) => users::set_password(ctx, a, true).await,
        Command::Users(UsersCommand::Passwd(a)) => users::set_password(ctx, a, false).await,
        Command::Users(UsersCommand::Delete(a)) => users::delete(ctx, a).await,
        Command::Cluster(ClusterCommand::StartBroker(a)) => cluster::start_broker(ctx, a).await,
        Command::Topics(TopicsCommand::Create(a)) => topics::create(ctx, a).await,
        Command::Topics(TopicsCommand::List(a)) => topics::list(ctx, a).await,
        Command::Topics(TopicsCommand::Describe(a)) => topics::describe(ctx, a).await,
        Command::Topics(TopicsCommand::Delete(a)) => topics::delete(ctx, a).await,
        Command::Topics(TopicsCommand::Alter(a)) => topics::alter(ctx, a).await,
        Command::Topics(TopicsCommand::DeleteRecords(a)) => topics::delete_records(ctx, a).await,
        Command::Topics(TopicsCommand::Compact(a)) => topics::compact(ctx, a).await,
        Command::Produce(a) => produce::run(ctx, a).await,
        Command::Consume(a) => consume::run(ctx, a).await,
        Command::Describe(a) => describe::run(ctx, &a.what).await,
        Command::Config(c) => config::run(ctx, c),
        Command::Perf(PerfCommand::Produce(a)) => perf::produce(ctx, a).await,
        Command::Perf(PerfCommand::Consume(a)) => perf::consume(ctx, a).await,
        Command::Perf(PerfCommand::E2e(a)) => perf::e2e(ctx, a).await,
        Command::Completion(a) => completion_script(a.shell),
        Command::RefreshCompletionCache => {
            crate::names::refresh(ctx).await;
            Ok(())
        }
        Command::Man(a) => crate::docs::write_man_pages(&a.dir),
    }
}
