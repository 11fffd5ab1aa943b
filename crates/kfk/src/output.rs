//! Rendering: tables for people, JSON and YAML for scripts. Data goes to stdout,
//! status to stderr.

use std::io::{IsTerminal, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use crate::error::{CliError, CliResult};

/// How a command prints what it found: a table for people, or JSON, YAML
/// or JSON lines for programs (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
    /// One JSON object per line (consume).
    Jsonl,
}

/// Prints rows as a table.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut t = Table::new();
    if std::io::stdout().is_terminal() {
        t.load_preset(UTF8_FULL_CONDENSED);
    } else {
        t.load_preset(comfy_table::presets::NOTHING);
    }
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(headers.iter().copied());
    for r in rows {
        t.add_row(r);
    }
    let text = t.to_string();
    // Without borders, comfy-table pads every line; trim for clean pipes.
    let out: Vec<&str> = text.lines().map(str::trim_end).collect();
    println_safe(&out.join("\n"));
}

/// What every listing prints: `value` as JSON, YAML or JSON lines for
/// programs, or, in table format, whatever `table` prints for people.
///
/// # Errors
/// What `table` returns, or a value that cannot be serialised (a bug).
pub fn emit<T: Serialize>(
    format: OutputFormat,
    value: &T,
    table: impl FnOnce() -> CliResult,
) -> CliResult {
    match format {
        OutputFormat::Table => table(),
        f => structured(f, value),
    }
}

/// Prints `value` as pretty JSON or YAML.
///
/// # Errors
/// When the value cannot be serialised (a bug).
pub fn structured<T: Serialize>(format: OutputFormat, value: &T) -> CliResult {
    let text = match format {
        OutputFormat::Yaml => {
            serde_yaml::to_string(value).map_err(|e| CliError::new(e.to_string()))?
        }
        OutputFormat::Jsonl => {
            serde_json::to_string(value).map_err(|e| CliError::new(e.to_string()))?
        }
        _ => serde_json::to_string_pretty(value).map_err(|e| CliError::new(e.to_string()))?,
    };
    println_safe(text.trim_end());
    Ok(())
}

/// Writes a line to stdout; a closed pipe (`| head`) ends the program quietly.
pub fn println_safe(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").is_err() {
        std::process::exit(0);
    }
}

/// Status for people: to stderr, unless `--quiet`.
pub fn status(line: &str) {
    if !crate::term::quiet() {
        eprintln!("{line}");
    }
}
