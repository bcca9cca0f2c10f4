"""Bad command-line arguments are usage errors (exit 2, one line), never a traceback."""

from __future__ import annotations

import argparse
import asyncio

import pytest

from ledger.audit.commands import _checkpoint_async, _export_async
from ledger.cli import build_parser


@pytest.mark.parametrize("argv", [
    ["keys", "create", "--tenant", "", "--role", "admin"],
    ["keys", "create", "--tenant", "bad tenant!", "--role", "admin"],
    ["keys", "create", "--tenant", "bank-1", "--role", "agent", "--agent-id", ""],
    ["keys", "create", "--tenant", "bank-1", "--role", "agent", "--agent-id", "   "],
    ["keys", "create", "--tenant", "bank-1", "--role", "agent", "--rate-limit",
     "99999999999999999999"],
    ["keys", "create", "--tenant", "bank-1", "--role", "agent", "--rate-limit", "0"],
    ["keys", "create", "--tenant", "bank-1", "--role", "agent", "--label", "x" * 201],
    ["reporting-role", "create", "--tenant", "bank-1", "--name", "Bad Name;drop"],
    ["demo", "--tenant", "a b"],
    ["demo", "--cases", "many"],
    ["serve", "--workers", "two"],
    ["reporting-role", "create", "--tenant", "bank-1", "--name", "bi_reader",
     "--statement-timeout", "banana"],
])
def test_a_bad_argument_exits_2_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "error:" in error and "Traceback" not in error
    assert "invalid _" not in error  # names what is wrong, not an internal converter


def test_good_arguments_parse():
    parsed = build_parser().parse_args(["keys", "create", "--tenant", "bank-1.eu_2", "--role",
                                        "agent", "--agent-id", "agent 7", "--rate-limit", "100000"])
    assert (parsed.tenant, parsed.agent_id, parsed.rate_limit) == ("bank-1.eu_2", "agent 7",
                                                                    100_000)


@pytest.mark.parametrize("where", ["missing/dir/out.ndjson", "."])
def test_an_export_file_that_cannot_be_written_is_a_usage_error(where, tmp_path, capsys):
    target = tmp_path / where if where != "." else tmp_path
    args = argparse.Namespace(output=str(target), tenant="bank-1", case=None, since=None)
    # refused before any connection is made: the URL is never used
    assert asyncio.run(_export_async("postgresql://unused", b"k" * 32, args)) == 2
    assert "cannot write" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["missing/dir/checkpoint.json", "."])
def test_a_checkpoint_file_that_cannot_be_written_is_refused_before_signing(where, tmp_path,
                                                                            capsys):
    target = tmp_path / where if where != "." else tmp_path
    args = argparse.Namespace(export=str(target))
    # refused before any connection is made (nothing signed): the URL and key are never used
    assert asyncio.run(_checkpoint_async("postgresql://unused", None, args)) == 2
    assert "cannot write" in capsys.readouterr().err
