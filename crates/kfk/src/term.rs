//! Terminal manners: kfk is interactive and colourful on a terminal, and a
//! quiet, predictable tool in pipes. Every decision about prompts, pickers,
//! colours and progress bars is made here, so commands cannot disagree.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::ValueEnum;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{CliError, CliResult};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    Always,
    Never,
}

static QUIET: AtomicBool = AtomicBool::new(false);

/// Applies the global flags once, before any command runs.
pub fn init(color: ColorChoice, quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (out, err) = match color {
        ColorChoice::Always => (true, true),
        ColorChoice::Never => (false, false),
        ColorChoice::Auto => (
            !no_color && std::io::stdout().is_terminal(),
            !no_color && std::io::stderr().is_terminal(),
        ),
    };
    console::set_colors_enabled(out);
    console::set_colors_enabled_stderr(err);
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether data written to stdout is coloured.
pub fn color_stdout() -> bool {
    console::colors_enabled()
}

/// A person can answer questions: stdin and stderr are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks before a destructive step. `yes` (from `--yes`) skips the question;
/// without a terminal and without `--yes` the command refuses, since a
/// script must say explicitly that it means it.
///
/// # Errors
/// The refusal, or the user's "no", as an error that names `--yes`.
pub fn confirm(yes: bool, question: &str, refused: &str) -> CliResult {
    if yes {
        return Ok(());
    }
    if !interactive() {
        return Err(CliError::usage(format!(
            "{refused}: not on a terminal, so kfk cannot ask for confirmation"
        ))
        .hint("pass --yes to go ahead without asking"));
    }
    let agreed = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| CliError::new(format!("cannot ask for confirmation: {e}")))?;
    if agreed {
        Ok(())
    } else {
        Err(CliError::new(format!("{refused}: not confirmed")))
    }
}

/// A password: asked twice on a terminal, else the first line of stdin.
/// Never an argument, which `ps` and shell history would see.
///
/// # Errors
/// An empty password, mismatched entries, or unreadable input.
pub fn password(prompt: &str) -> CliResult<String> {
    let password = if interactive() {
        dialoguer::Password::new()
            .with_prompt(prompt)
            .with_confirmation("Again", "the two entries differ")
            .interact()
            .map_err(|e| CliError::new(format!("cannot ask for the password: {e}")))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| CliError::new(format!("cannot read the password from stdin: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        return Err(CliError::usage("the password is empty").hint(
            "type it at the prompt, or pipe it: `printf '%s\\n' \"$PW\" | kfk users create NAME`",
        ));
    }
    Ok(password)
}

/// Lets the user pick one of `items` by typing part of it, when on a
/// terminal; `None` when not interactive (the caller explains what to pass).
///
/// # Errors
/// When the picker is cancelled (Esc) or the terminal fails.
pub fn pick(prompt: &str, items: &[String]) -> CliResult<Option<String>> {
    if !interactive() || items.is_empty() {
        return Ok(None);
    }
    let chosen = dialoguer::FuzzySelect::new()
        .with_prompt(prompt)
        .items(items)
        .default(0)
        .interact_opt()
        .map_err(|e| CliError::new(format!("cannot show the picker: {e}")))?;
    match chosen {
        Some(i) => Ok(Some(items[i].clone())),
        None => Err(CliError::usage("nothing picked")),
    }
}

/// Progress is drawn only for a person watching: on a terminal (stderr) and
/// without `--quiet`.
pub fn show_progress() -> bool {
    !quiet() && std::io::stderr().is_terminal()
}

fn draw_target() -> ProgressDrawTarget {
    if show_progress() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A bar over `total` units; `unit` names them in the template.
pub fn bar(total: u64, template: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), draw_target());
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Several spinners drawn together (one per broker, say).
pub fn spinners() -> MultiProgress {
    MultiProgress::with_draw_target(draw_target())
}

/// A spinner with a message, to add to [`spinners`].
pub fn spinner(message: String) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        pb.set_style(style);
    }
    pb.set_message(message);
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}
