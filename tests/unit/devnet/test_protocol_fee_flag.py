"""The verifier's fee is configurable: ``python -m devnet --protocol-fee-pips N`` (default 1, as on
mainnet), applied at genesis and by the DAO's ``set_fee`` when an existing devnet restarts with
another value; ``oneclick up --protocol-fee-pips N`` passes it down."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from devnet.supervisor import ensure_fee, parser
from devnet.verifier import Verifier, VerifierConfig
from oneclick.cli.main import app


def test_the_flag_defaults_to_mainnets_1_pip_and_refuses_nonsense() -> None:
    assert parser().parse_args([]).protocol_fee_pips == 1
    assert parser().parse_args(["--protocol-fee-pips", "100"]).protocol_fee_pips == 100
    assert parser().parse_args(["--protocol-fee-pips", "0"]).protocol_fee_pips == 0
    for bad in ("-1", "1000000", "1.5", "lots"):
        with pytest.raises(SystemExit):
            parser().parse_args(["--protocol-fee-pips", bad])


def test_a_restart_with_another_fee_changes_it_on_chain(tmp_path: Path) -> None:
    with Verifier.open(tmp_path / "verifier", config=VerifierConfig(fee=1)) as verifier:
        ensure_fee(verifier, 1)
        assert verifier.fee() == 1
    with Verifier.open(tmp_path / "verifier", config=VerifierConfig(fee=100)) as verifier:
        assert verifier.fee() == 1, "the genesis config does not apply to an existing state"
        ensure_fee(verifier, 100)
        assert verifier.fee() == 100
    with Verifier.open(tmp_path / "verifier") as verifier:
        assert verifier.fee() == 100  # persisted


def test_oneclick_up_takes_the_flag() -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["up", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "--protocol-fee-pips" in shown.output
    refused = runner.invoke(app, ["up", "--protocol-fee-pips", "-1"])
    assert refused.exit_code == 2
