//! Man pages and completion scripts, generated from the clap definition.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{CliError, CliResult};

/// Writes `kfk.1` and one page per subcommand (`kfk-topics-create.1`, ...).
///
/// # Errors
/// When the directory cannot be written.
pub fn write_man_pages(dir: &Path) -> CliResult {
    std::fs::create_dir_all(dir)?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd, dir)
        .map_err(|e| CliError::new(format!("cannot write man pages: {e}")))?;
    Ok(())
}
