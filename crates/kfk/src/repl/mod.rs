//! The interactive prompts of `kfk produce` and `kfk consume -i`.
//!
//! rustyline blocks while the user types, and the cluster's connections must
//! keep working meanwhile (heartbeats, fetches, messages streaming above the
//! prompt), so each `readline` runs on a blocking thread and the editor is
//! handed back when the line is done.

pub mod consume;
pub mod produce;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::history::{DefaultHistory, History};
use rustyline::{Config, Editor, ExternalPrinter};
use tokio::task::JoinHandle;

use crate::error::{CliError, CliResult};
use crate::home::Home;

/// Completion words: commands, and for each command its arguments. Shared
/// so the REPL can update them (new topics, partitions) between lines.
pub type Words = Arc<Mutex<BTreeMap<String, Vec<String>>>>;

/// Completes the first word from the commands and the second from that
/// command's arguments.
#[derive(Debug)]
pub struct WordsHelper {
    words: Words,
}

impl Completer for WordsHelper {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before.rfind(' ').map_or(0, |i| i + 1);
        let word = &before[start..];
        let words = kfk_sync::lock(&self.words);
        let pool: Vec<&String> = if start == 0 {
            words.keys().collect()
        } else {
            let command = before.split_whitespace().next().unwrap_or_default();
            words
                .get(command)
                .map(|v| v.iter().collect())
                .unwrap_or_default()
        };
        Ok((
            start,
            pool.into_iter()
                .filter(|w| w.starts_with(word))
                .cloned()
                .collect(),
        ))
    }
}
impl rustyline::hint::Hinter for WordsHelper {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for WordsHelper {}
impl rustyline::validate::Validator for WordsHelper {}
impl rustyline::Helper for WordsHelper {}

type Edit = Editor<WordsHelper, DefaultHistory>;
type Reading = JoinHandle<(Edit, rustyline::Result<String>)>;

/// What the user did at the prompt.
#[derive(Debug)]
pub enum Input {
    Line(String),
    /// Ctrl-C: the line was cleared.
    Interrupted,
    /// Ctrl-D or a closed terminal.
    Eof,
}

/// A rustyline editor that reads on a blocking thread.
pub struct LineReader {
    editor: Option<Edit>,
    reading: Option<Reading>,
    history: PathBuf,
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader")
            .field("history", &self.history)
            .finish()
    }
}

/// Where a REPL keeps its history: `<data dir>/history/<name>`.
pub fn history_file(home: &Home, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    home.data_dir.join("history").join(safe)
}

impl LineReader {
    /// # Errors
    /// When the terminal cannot be set up.
    pub fn new(words: Words, history: PathBuf) -> CliResult<LineReader> {
        let config = Config::builder()
            .max_history_size(1000)
            .map_err(|e| CliError::new(e.to_string()))?
            .auto_add_history(false)
            .build();
        let mut editor = Edit::with_config(config)
            .map_err(|e| CliError::new(format!("cannot start the prompt: {e}")))?;
        editor.set_helper(Some(WordsHelper { words }));
        let mut reader = LineReader {
            editor: Some(editor),
            reading: None,
            history: PathBuf::new(),
        };
        reader.switch_history(history);
        Ok(reader)
    }

    /// Replaces the history with another file's (a produce REPL keeps one per
    /// topic).
    pub fn switch_history(&mut self, history: PathBuf) {
        if let Some(e) = self.editor.as_mut() {
            let _ = e.clear_history();
            if let Some(dir) = history.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = e.load_history(&history);
        }
        self.history = history;
    }

    /// Records a line in the history and appends it to the history file.
    pub fn remember(&mut self, line: &str) {
        if let Some(e) = self.editor.as_mut()
            && !line.trim().is_empty()
            && e.add_history_entry(line).unwrap_or(false)
        {
            let _ = e.history_mut().append(&self.history);
        }
    }

    /// A printer that writes above the prompt while the user types.
    ///
    /// # Errors
    /// When the terminal does not support it.
    pub fn printer(&mut self) -> CliResult<Box<dyn ExternalPrinter + Send>> {
        let editor = self
            .editor
            .as_mut()
            .ok_or_else(|| CliError::new("the prompt is busy"))?;
        let p = editor
            .create_external_printer()
            .map_err(|e| CliError::new(format!("cannot print above the prompt: {e}")))?;
        Ok(Box::new(p))
    }

    /// Shows the prompt (with `initial` already typed) unless it is showing.
    pub fn start(&mut self, prompt: String, initial: String) {
        if self.reading.is_some() {
            return;
        }
        let Some(mut editor) = self.editor.take() else {
            return;
        };
        self.reading = Some(tokio::task::spawn_blocking(move || {
            let r = editor.readline_with_initial(&prompt, (&initial, ""));
            (editor, r)
        }));
    }

    /// Whether a line (or Ctrl-C/Ctrl-D) is ready to be taken by [`next`].
    pub fn ready(&self) -> bool {
        self.reading.as_ref().is_some_and(JoinHandle::is_finished)
    }

    /// Waits for the line being typed (the prompt must have been started).
    pub async fn next(&mut self) -> Input {
        let Some(reading) = self.reading.take() else {
            return Input::Eof;
        };
        let Ok((editor, result)) = reading.await else {
            return Input::Eof;
        };
        self.editor = Some(editor);
        match result {
            Ok(line) => Input::Line(line),
            Err(ReadlineError::Interrupted) => Input::Interrupted,
            Err(_) => Input::Eof,
        }
    }

    /// Prompts and waits for one line.
    pub async fn read(&mut self, prompt: String, initial: String) -> Input {
        self.start(prompt, initial);
        self.next().await
    }
}

/// Splits `:cmd rest` / `cmd rest` into the command and its trimmed argument.
pub fn command(line: &str) -> (&str, &str) {
    let line = line.trim();
    match line.split_once(char::is_whitespace) {
        Some((c, rest)) => (c, rest.trim()),
        None => (line, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_at_the_first_space() {
        assert_eq!(command(":key  user 1 "), (":key", "user 1"));
        assert_eq!(command("pause"), ("pause", ""));
        assert_eq!(command("  seek   -5"), ("seek", "-5"));
    }

    #[test]
    fn completion_from_words() {
        let words: Words = Arc::default();
        words
            .lock()
            .unwrap()
            .insert(":topic".into(), vec!["orders".into(), "other".into()]);
        words.lock().unwrap().insert(":key".into(), vec![]);
        let h = WordsHelper { words };
        let history = DefaultHistory::new();
        let ctx = rustyline::Context::new(&history);
        assert_eq!(
            h.complete(":t", 2, &ctx).unwrap(),
            (0, vec![":topic".to_string()])
        );
        assert_eq!(
            h.complete(":topic or", 9, &ctx).unwrap(),
            (7, vec!["orders".to_string()])
        );
    }
}
