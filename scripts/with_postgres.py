#!/usr/bin/env python3
"""Run a command against a throwaway PostgreSQL server on 127.0.0.1.

    python scripts/with_postgres.py -- pytest

Creates a data directory in a temporary folder, runs initdb and pg_ctl (as the
``postgres`` user when run as root, because initdb refuses root), starts the server on a
free loopback port with durability off (it is thrown away), exports DATABASE_URL for the
command, and stops and removes the server afterwards, whatever happens.

``WITH_POSTGRES_OPTIONS`` adds server settings (``make bench`` turns durability back on).

Without PostgreSQL binaries it installs Debian's package when it can (root + apt). If
they are still missing: an error under CI=true, a warning and a skip elsewhere.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def find_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for directory in candidates:
        if Path(directory, "initdb").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version_key(path: str) -> float:
    try:
        return float(Path(path).parent.name)
    except ValueError:
        return 0.0


def install_postgres() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    print("Installing Debian's PostgreSQL for the test run...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "postgresql", "postgresql-contrib"],
        check=False,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_postgres(args: list[str]) -> list[str]:
    """Prefix a command so it runs as the postgres user when this process is root."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__)
        return 2
    in_ci = os.environ.get("CI", "").lower() == "true"

    bindir = find_bindir()
    if bindir is None:
        install_postgres()
        bindir = find_bindir()
    if bindir is None:
        if in_ci:
            print("ERROR: PostgreSQL (initdb) is not available; CI must run the PostgreSQL suite.")
            return 1
        print("WARNING: PostgreSQL is not installed; skipping the PostgreSQL run (CI=true fails).")
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="clientdesk-pg-"))
    datadir = workdir / "data"
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(workdir, postgres.pw_uid, postgres.pw_gid)
    port = free_port()
    pg_ctl = str(bindir / "pg_ctl")
    started = False
    try:
        subprocess.run(
            as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = (
            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        # Benchmarks want a server configured like production (durable, memory for a
        # large data set): WITH_POSTGRES_OPTIONS adds "-c name=value" settings (the last
        # one of a name wins).
        options += " " + os.environ.get("WITH_POSTGRES_OPTIONS", "")
        subprocess.run(
            as_postgres(
                [
                    pg_ctl,
                    "-D",
                    str(datadir),
                    "-l",
                    str(workdir / "log"),
                    "-w",
                    "-o",
                    options,
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        started = True
        url = f"postgres://postgres@127.0.0.1:{port}/clientdesk"
        print(f"PostgreSQL ({bindir.parent.name}) running for the tests at {url}", flush=True)
        env = {**os.environ, "DATABASE_URL": url}
        return subprocess.run(argv, env=env, check=False).returncode
    finally:
        if started:
            subprocess.run(
                as_postgres([pg_ctl, "-D", str(datadir), "-m", "immediate", "-w", "stop"]),
                check=False,
                stdout=subprocess.DEVNULL,
            )
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
