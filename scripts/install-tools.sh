#!/usr/bin/env bash
# Installs the tools CI's drift checks need, when missing.
set -euo pipefail
case "${1:-}" in
  diesel)
    # diesel_cli links libpq.
    if ! ldconfig -p 2>/dev/null | grep -q 'libpq.so ' && ! [ -e /usr/lib/x86_64-linux-gnu/libpq.so ]; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpq-dev
      else
        echo "diesel_cli needs libpq: sudo apt-get install libpq-dev" >&2
        exit 1
      fi
    fi
    cargo install diesel_cli --version 2.3.14 --no-default-features --features postgres --locked
    ;;
  *)
    echo "usage: $0 diesel" >&2
    exit 2
    ;;
esac
