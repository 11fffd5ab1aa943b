#!/usr/bin/env sh
# Builds kfk and kfkd in release mode and installs them, with man pages and
# shell completions, into a directory on your PATH. Safe to run again.
#
#   ./install.sh [--prefix DIR] [--binaries DIR]
#
# Without --prefix the binaries go to the first of ~/.local/bin, ~/.cargo/bin
# and /usr/local/bin (when writable) that is on PATH, and the man pages and
# completions beside them (../share); when none is, to ~/.local/bin with a
# note on how to add it to PATH. --prefix DIR installs under DIR/bin and
# DIR/share. --binaries DIR installs kfk and kfkd already built in DIR
# (e.g. target/release) instead of building them.
set -eu

prefix=""
binaries=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
      prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --binaries) [ $# -ge 2 ] || { echo "install.sh: --binaries needs a directory" >&2; exit 2; }
      binaries="$2"; shift 2 ;;
    --binaries=*) binaries="${1#--binaries=}"; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

# Relative paths are taken from where the script was started.
absolute() {
  case "$1" in
    /*) echo "$1" ;;
    *) echo "$PWD/$1" ;;
  esac
}
[ -z "$prefix" ] || prefix=$(absolute "$prefix")
[ -z "$binaries" ] || binaries=$(absolute "$binaries")

on_path() {
  case ":${PATH}:" in
    *":$1:"*|*":$1/:"*) return 0 ;;
    *) return 1 ;;
  esac
}

# A directory we may write into: it is writable, or it can be created.
writable() {
  d="$1"
  while [ ! -e "$d" ]; do d=$(dirname "$d"); done
  [ -d "$d" ] && [ -w "$d" ]
}

if [ -n "$prefix" ]; then
  bin="$prefix/bin"
else
  bin=""
  for candidate in "$HOME/.local/bin" "$HOME/.cargo/bin" /usr/local/bin; do
    if on_path "$candidate" && writable "$candidate"; then
      bin="$candidate"
      break
    fi
  done
  [ -n "$bin" ] || bin="$HOME/.local/bin"
  prefix=$(dirname "$bin")
fi

cd "$(dirname "$0")"
if [ -z "$binaries" ]; then
  command -v cargo >/dev/null || { echo "install.sh: cargo not found; install Rust from your package manager or rustup" >&2; exit 1; }
  echo "Building release binaries..."
  cargo build --release --locked --quiet --bin kfk --bin kfkd
  binaries=target/release
fi
for b in kfk kfkd; do
  [ -x "$binaries/$b" ] || { echo "install.sh: $binaries/$b not found" >&2; exit 1; }
done

man1="$prefix/share/man/man1"
man8="$prefix/share/man/man8"
bash_dir="$prefix/share/bash-completion/completions"
zsh_dir="$prefix/share/zsh/site-functions"
fish_dir="$prefix/share/fish/vendor_completions.d"
mkdir -p "$bin" "$man1" "$man8" "$bash_dir" "$zsh_dir" "$fish_dir"

install -m 755 "$binaries/kfk" "$binaries/kfkd" "$bin/"
install -m 644 man/*.1 "$man1/"
install -m 644 man/*.8 "$man8/"
install -m 644 completions/kfk.bash "$bash_dir/kfk"
install -m 644 completions/_kfk "$zsh_dir/_kfk"
install -m 644 completions/kfk.fish "$fish_dir/kfk.fish"

echo "Installed kfk and kfkd to $bin"
echo "Installed man pages to $man1 and $man8 and completions for bash, zsh and fish under $prefix/share"
if ! on_path "$bin"; then
  echo "Note: $bin is not on your PATH, so the shell will not find kfk yet. Add it with:"
  echo "    export PATH=\"$bin:\$PATH\""
  echo "(put that line in ~/.profile to keep it), or run $bin/kfk directly."
fi
