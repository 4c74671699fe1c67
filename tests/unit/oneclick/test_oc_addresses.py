import pytest

from oneclick.domain.addresses import is_chain_address, is_evm_address, is_intents_account


@pytest.mark.parametrize(
    ("chain", "address"),
    [
        ("eth", "0xcac3C41676deF4FE375E57118f3eB83A99105577"),  # EIP-55
        ("base", "0xcac3c41676def4fe375e57118f3eb83a99105577"),  # all lowercase: no checksum
        ("btc", "bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wly"),  # P2WPKH
        ("btc", "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"),  # P2WSH
        ("btc", "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"),  # taproot
        ("btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),  # P2PKH
        ("btc", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),  # P2SH
        ("sol", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
        ("near", "alice.near"),
        ("near", "5880ad2b362620fadf759cbceb1cd5737ce8c6ed7fb8e9942881e6731f9247dd"),
        ("stellar", "GAHK7EEG2WWHVKDNT4CEQFZGKF2LGDSW2IVM4S5DP42RBW3K6BTODB4A"),
        ("xrp", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"),
        ("tron", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
        ("doge", "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L"),
    ],
)
def test_valid_addresses(chain: str, address: str) -> None:
    assert is_chain_address(chain, address)


@pytest.mark.parametrize(
    ("chain", "address"),
    [
        ("eth", "0xcac3C41676deF4FE375E57118f3eB83A99105578"),  # checksum broken
        ("eth", "0xcac3c41676def4fe375e57118f3eb83a9910557"),  # 39 bytes of hex
        ("eth", "cac3c41676def4fe375e57118f3eb83a99105577"),
        ("btc", "bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wlz"),  # bech32 checksum
        ("btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"),  # base58check checksum
        ("btc", "0xcac3C41676deF4FE375E57118f3eB83A99105577"),
        ("sol", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyT"),
        ("near", "Alice.near"),
        ("stellar", "GAHK7EEG2WWHVKDNT4CEQFZGKF2LGDSW2IVM4S5DP42RBW3K6BTODB4B"),
        ("xrp", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTX"),
        ("tron", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"),
        ("eth", ""),
    ],
)
def test_invalid_addresses(chain: str, address: str) -> None:
    assert not is_chain_address(chain, address)


def test_evm_checksum_only_applies_to_mixed_case() -> None:
    assert is_evm_address("0xCAC3C41676DEF4FE375E57118F3EB83A99105577")
    assert not is_evm_address("0xCac3C41676deF4FE375E57118f3eB83A99105577")


def test_intents_accounts_are_near_account_ids() -> None:
    assert is_intents_account("0xcac3c41676def4fe375e57118f3eb83a99105577")
    assert not is_intents_account("a")
