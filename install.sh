#!/usr/bin/env sh
# Builds kfk and kfkd in release mode and installs them, with man pages and
# shell completions, under a prefix (default ~/.local). Safe to run again.
#
#   ./install.sh [--prefix DIR]
set -eu

prefix="${HOME}/.local"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")"
command -v cargo >/dev/null || { echo "install.sh: cargo not found; install Rust from your package manager or rustup" >&2; exit 1; }

echo "Building release binaries..."
cargo build --release --locked --quiet --bin kfk --bin kfkd

bin="$prefix/bin"
man1="$prefix/share/man/man1"
bash_dir="$prefix/share/bash-completion/completions"
zsh_dir="$prefix/share/zsh/site-functions"
fish_dir="$prefix/share/fish/vendor_completions.d"
mkdir -p "$bin" "$man1" "$bash_dir" "$zsh_dir" "$fish_dir"

install -m 755 target/release/kfk target/release/kfkd "$bin/"
install -m 644 man/*.1 "$man1/"
install -m 644 completions/kfk.bash "$bash_dir/kfk"
install -m 644 completions/_kfk "$zsh_dir/_kfk"
install -m 644 completions/kfk.fish "$fish_dir/kfk.fish"

echo "Installed kfk and kfkd to $bin"
echo "Installed man pages to $man1 and completions for bash, zsh and fish under $prefix/share"
case ":${PATH}:" in
  *":$bin:"*) ;;
  *) echo "Note: $bin is not on your PATH; add it, e.g. export PATH=\"$bin:\$PATH\"" ;;
esac
