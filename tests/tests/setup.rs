//! README's two set-up commands as a new user meets them: `install.sh` puts
//! kfk where the shell finds it (or says how to get there), and `test.sh`
//! stops at once with the install command when a prerequisite is missing,
//! fails when the build fails, and reports failed tests in its closing line.

use kfk_e2e::{bin_dir, run_unchecked};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A directory of links to every command on this process's PATH except
/// `without`, so a script run with it as PATH finds all but those.
fn path_without(dir: &Path, without: &[&str]) -> PathBuf {
    let links = dir.join("path-bin");
    std::fs::create_dir_all(&links).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for d in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let link = links.join(&name);
            if without.iter().any(|w| name == *w) || link.exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(e.path(), &link);
        }
    }
    links
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Script output for a failure message, indented so that its lines (which
/// may look like cargo's `test result:` lines) are not read as this suite's.
fn shown(said: &str) -> String {
    said.lines().map(|l| format!("  | {l}\n")).collect()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs install.sh with the project's already built binaries, as `home`'s
/// user, with `path` as PATH.
fn install(home: &Path, path: &str, args: &[&str]) -> Output {
    let out = run_unchecked(
        Command::new(repo().join("install.sh"))
            .env_clear()
            .env("HOME", home)
            .env("PATH", path)
            .arg("--binaries")
            .arg(bin_dir())
            .args(args),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "install.sh failed:\n{}",
        shown(&text(&out))
    );
    out
}

/// Whether `kfk` resolves through `path` and runs.
fn kfk_found_on(path: &str) -> Option<String> {
    let out = run_unchecked(
        Command::new("/bin/sh")
            .env_clear()
            .env("PATH", path)
            .args(["-c", "command -v kfk && kfk --version"]),
        Duration::from_secs(30),
    );
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn install_with_a_prefix_off_path_says_how_to_reach_it() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("opt");
    let path = "/usr/bin:/bin";
    let out = install(dir.path(), path, &["--prefix", prefix.to_str().unwrap()]);
    let said = text(&out);
    let bin = prefix.join("bin");
    assert!(
        said.contains(&format!("Installed kfk and kfkd to {}", bin.display())),
        "{}",
        shown(&said)
    );
    assert!(said.contains("is not on your PATH"), "{}", shown(&said));
    let hint = format!("export PATH=\"{}:$PATH\"", bin.display());
    assert!(said.contains(&hint), "{}", shown(&said));
    assert!(kfk_found_on(path).is_none(), "kfk is not on the old PATH");
    // The hint works: with it, the shell finds kfk.
    let fixed = format!("{}:{path}", bin.display());
    let found = kfk_found_on(&fixed).expect("kfk found with the hint's PATH");
    assert!(found.contains(&bin.join("kfk").display().to_string()));
    assert!(found.contains("kfk "), "{found}");
    for f in [
        "bin/kfkd",
        "share/man/man1/kfk.1",
        "share/bash-completion/completions/kfk",
        "share/zsh/site-functions/_kfk",
        "share/fish/vendor_completions.d/kfk.fish",
    ] {
        assert!(prefix.join(f).exists(), "{f} installed");
    }
}

#[test]
fn install_without_a_prefix_picks_a_directory_on_path() {
    // rustup's root: ~/.cargo/bin is on PATH, ~/.local/bin is not.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let cargo_bin = home.join(".cargo/bin");
    std::fs::create_dir_all(&cargo_bin).unwrap();
    let path = format!("{}:/usr/bin:/bin", cargo_bin.display());
    let said = text(&install(home, &path, &[]));
    assert!(
        said.contains(&format!(
            "Installed kfk and kfkd to {}",
            cargo_bin.display()
        )),
        "{}",
        shown(&said)
    );
    assert!(!said.contains("not on your PATH"), "{}", shown(&said));
    assert!(!home.join(".local/bin/kfk").exists());
    assert!(kfk_found_on(&path).is_some(), "the shell finds kfk at once");
    // Beside the binaries, where man and bash-completion look for them.
    assert!(home.join(".cargo/share/man/man1/kfk.1").exists());
    assert!(home.join(".cargo/share/man/man8/kfkd.8").exists());

    // When ~/.local/bin is on PATH too, it comes first.
    let local_bin = home.join(".local/bin");
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        cargo_bin.display(),
        local_bin.display()
    );
    let said = text(&install(home, &path, &[]));
    assert!(
        said.contains(&format!(
            "Installed kfk and kfkd to {}",
            local_bin.display()
        )),
        "{}",
        shown(&said)
    );
    assert!(local_bin.join("kfk").exists());

    // When no candidate is on PATH: ~/.local/bin and the hint.
    let other = tempfile::tempdir().unwrap();
    let said = text(&install(other.path(), "/usr/bin:/bin", &[]));
    let fallback = other.path().join(".local/bin");
    assert!(
        said.contains(&format!("export PATH=\"{}:$PATH\"", fallback.display())),
        "{}",
        shown(&said)
    );
    assert!(fallback.join("kfkd").exists());
}

#[test]
fn test_script_stops_with_the_install_command_when_a_prerequisite_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = path_without(dir.path(), &["kcat", "zsh"]);
    let out = run_unchecked(
        Command::new(repo().join("test.sh"))
            .env("PATH", &path)
            .arg("--no-install"),
        Duration::from_secs(60),
    );
    assert_stopped_for_kcat_and_zsh(&out);
}

/// test.sh stopped before installing or testing anything, naming the
/// missing packages and the command that installs them.
fn assert_stopped_for_kcat_and_zsh(out: &Output) {
    let said = text(out);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&said));
    assert!(
        said.contains("missing Debian packages: kcat zsh"),
        "{}",
        shown(&said)
    );
    // As root there is no sudo in the command; as anyone else there is.
    assert!(
        said.contains("    apt-get update && apt-get install -y kcat zsh")
            || said.contains("sudo apt-get update && sudo apt-get install -y kcat zsh"),
        "{}",
        shown(&said)
    );
    assert!(!said.contains("installing"), "{}", shown(&said));
    assert!(!said.contains("tests:"), "no test ran: {}", shown(&said));
}

/// Without root (and without password-less sudo) test.sh cannot install a
/// missing package: it stops at once and prints the command that would.
#[test]
fn test_script_without_root_stops_with_the_command_that_would_install() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = path_without(dir.path(), &["kcat", "zsh", "cargo", "sudo"]);
    // cargo may live in root's home, out of an ordinary user's reach.
    script(&path.join("cargo"), "#!/bin/sh\nexit 0\n");
    let copy = dir.path().join("test.sh");
    std::fs::copy(repo().join("test.sh"), &copy).unwrap();
    let root = run_unchecked(Command::new("id").arg("-u"), Duration::from_secs(10));
    let mut cmd = if String::from_utf8_lossy(&root.stdout).trim() == "0" {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&copy);
        c
    } else {
        Command::new(&copy)
    };
    let out = run_unchecked(
        cmd.env_clear().env("PATH", &path).env("HOME", dir.path()),
        Duration::from_secs(60),
    );
    assert_stopped_for_kcat_and_zsh(&out);
    let said = text(&out);
    assert!(
        said.contains("sudo apt-get update && sudo apt-get install -y kcat zsh"),
        "{}",
        shown(&said)
    );
}

/// test.sh run with a `cargo` whose `build` and `test` are scripted.
fn test_script_with_cargo(build_status: i32, test_output: &str, test_status: i32) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let shims = dir.path().join("shims");
    std::fs::create_dir_all(&shims).unwrap();
    let real = run_unchecked(
        Command::new("/bin/sh").args(["-c", "command -v cargo"]),
        Duration::from_secs(10),
    );
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    std::fs::write(dir.path().join("test-output"), test_output).unwrap();
    script(
        &shims.join("cargo"),
        &format!(
            "#!/bin/sh\ncase \"$1\" in\n  build) exit {build_status} ;;\n  test) cat '{}'; exit {test_status} ;;\n  *) exec '{real}' \"$@\" ;;\nesac\n",
            dir.path().join("test-output").display()
        ),
    );
    let path = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    run_unchecked(
        Command::new(repo().join("test.sh")).env("PATH", path),
        Duration::from_secs(60),
    )
}

#[test]
fn test_script_fails_when_the_build_fails() {
    let out = test_script_with_cargo(101, "", 0);
    let said = text(&out);
    assert!(!out.status.success(), "{}", shown(&said));
    assert!(
        said.contains("the build failed, so no test ran"),
        "{}",
        shown(&said)
    );
    assert!(!said.contains("tests:"), "{}", shown(&said));
}

#[test]
fn test_script_sums_every_binary_and_fails_on_a_failed_test() {
    let results = "test result: ok. 5 passed; 0 failed; 0 ignored\n\
                   test result: FAILED. 3 passed; 2 failed; 0 ignored\n\
                   test result: ok. 1 passed; 0 failed; 0 ignored\n";
    let out = test_script_with_cargo(0, results, 101);
    let said = text(&out);
    assert!(!out.status.success(), "{}", shown(&said));
    assert!(
        said.lines().any(|l| l == "tests: 9 passed, 2 failed"),
        "{}",
        shown(&said)
    );

    // A binary that died without a result line still fails the run.
    let out = test_script_with_cargo(0, "test result: ok. 4 passed; 0 failed\n", 101);
    let said = text(&out);
    assert!(!out.status.success(), "{}", shown(&said));
    assert!(
        said.lines().any(|l| l == "tests: 4 passed, 1 failed"),
        "{}",
        shown(&said)
    );

    let out = test_script_with_cargo(0, "test result: ok. 4 passed; 0 failed\n", 0);
    assert!(out.status.success(), "{}", shown(&text(&out)));
    assert!(text(&out).lines().any(|l| l == "tests: 4 passed, 0 failed"));
}
