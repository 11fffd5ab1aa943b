//! A real terminal for the interactive tests: a private tmux server running a
//! bare bash in a `KfkHome`'s environment. Tests type with `send-keys` and
//! read the screen with `capture-pane`, as a person would.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::{KfkHome, free_port, run_unchecked, tool};

#[derive(Debug)]
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts a 200x50 terminal with bash (prompt `$ `) in `home`'s
    /// environment.
    pub fn shell(home: &KfkHome) -> Tmux {
        let socket = format!("kfk-e2e-{}-{}", std::process::id(), free_port());
        let mut cmd = Command::new(tool("tmux", "tmux"));
        home.env(&mut cmd);
        cmd.env("TERM", "xterm-256color").args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "200",
            "-y",
            "50",
            "env PS1='$ ' bash --norc --noprofile",
        ]);
        let out = run_unchecked(&mut cmd, Duration::from_secs(10));
        assert!(out.status.success(), "tmux did not start: {out:?}");
        let t = Tmux { socket };
        t.wait_for("$ ", Duration::from_secs(10));
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(tool("tmux", "tmux"));
        cmd.args(["-L", &self.socket]).args(args);
        let out = run_unchecked(&mut cmd, Duration::from_secs(10));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` literally, then Enter.
    pub fn line(&self, text: &str) {
        self.text(text);
        self.keys(&["Enter"]);
    }

    /// Types `text` literally.
    pub fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "0", "-l", "--", text]);
    }

    /// Presses keys by tmux name: `Enter`, `Tab`, `C-c`, `C-d`, `Home`.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Runs a shell command; its exit code shows up as `[exit N]`.
    pub fn run(&self, command: &str) {
        self.line(&format!("{command}; echo \"[exit $?]\""));
    }

    /// The whole screen and its scrollback, wrapped lines joined.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-t", "0", "-S", "-5000"])
    }

    /// The screen with its colours, as terminal escape sequences.
    pub fn screen_with_colors(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-e", "-t", "0", "-S", "-5000"])
    }

    /// Waits until the screen contains `needle`; returns the screen.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_until(timeout, needle, |s| s.contains(needle))
    }

    /// Waits until `check` accepts the screen; returns the screen.
    pub fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if check(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what:?}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The screen after the last occurrence of `marker`.
    pub fn after(&self, marker: &str) -> String {
        let s = self.screen();
        s.rfind(marker)
            .map(|i| s[i + marker.len()..].to_string())
            .unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}
