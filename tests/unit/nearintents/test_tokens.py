import pytest
from hypothesis import given
from hypothesis import strategies as st

from nearintents.tokens import (
    ANY_ASSET,
    MAX_TOKEN_ID_LEN,
    OMFT_STAGING_FACTORY,
    AnyAsset,
    AssetId,
    InvalidAssetId,
    InvalidTokenId,
    TokenId,
    TokenStandard,
    encode_uri_component,
    is_omft,
    omft_evm,
    omft_keccak,
    omft_native,
    omft_solana,
    omft_sui,
    omft_tron,
    parse_asset,
    standard_of,
)

# --- token ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "standard", "contract_id", "token_id"),
    [
        ("nep141:wrap.near", TokenStandard.NEP141, "wrap.near", None),
        (
            "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near",
            TokenStandard.NEP141,
            "eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near",
            None,
        ),
        ("nep171:nft.near:token_id1", TokenStandard.NEP171, "nft.near", "token_id1"),
        (
            "nep245:v2_1.omni.hot.tg:137_qiStmoQJDQPTebaPjgx5VBxZv6L",
            TokenStandard.NEP245,
            "v2_1.omni.hot.tg",
            "137_qiStmoQJDQPTebaPjgx5VBxZv6L",
        ),
        ("nep245:v2_1.omni.hot.tg:1117_", TokenStandard.NEP245, "v2_1.omni.hot.tg", "1117_"),
        ("imt:imt.near:token_id1", TokenStandard.IMT, "imt.near", "token_id1"),
        # The inner id is everything after the second colon, as in the contract's split_once.
        ("nep245:mt.near:a:b:c", TokenStandard.NEP245, "mt.near", "a:b:c"),
        ("nep171:nft.near:", TokenStandard.NEP171, "nft.near", ""),
    ],
)
def test_token_id_parse(
    text: str, standard: TokenStandard, contract_id: str, token_id: str | None
) -> None:
    parsed = TokenId.parse(text)
    assert parsed.standard is standard
    assert parsed.contract_id == contract_id
    assert parsed.token_id == token_id
    assert str(parsed) == text
    assert standard_of(text) is standard


@pytest.mark.parametrize(
    "text",
    [
        "",
        "wrap.near",
        "nep141:",
        "nep141:Wrap.near",
        "NEP141:wrap.near",
        "nep141:wrap.near:1",  # ':' is not allowed in an account id
        "nep999:wrap.near",
        "nep245:mt.near",
        "nep171:nft.near",
        "imt:imt.near",
        "nep245::token",
        "nep245:" + "a" * 65 + ":t",
        "nep245:mt.near:" + "x" * (MAX_TOKEN_ID_LEN + 1),
        "nep171:nft.near:" + "é" * 64,  # 128 bytes in UTF-8
    ],
)
def test_token_id_rejects(text: str) -> None:
    with pytest.raises(InvalidTokenId):
        TokenId.parse(text)


def test_inner_token_id_may_be_exactly_the_max_length() -> None:
    text = "nep245:mt.near:" + "x" * MAX_TOKEN_ID_LEN
    assert str(TokenId.parse(text)) == text


def test_token_id_constructors_and_invariants() -> None:
    assert str(TokenId.nep141("usdc.near")) == "nep141:usdc.near"
    assert str(TokenId.nep245("mt.near", "1")) == "nep245:mt.near:1"
    assert str(TokenId.nep171("nft.near", "a")) == "nep171:nft.near:a"
    assert str(TokenId.imt("minter.near", "t")) == "imt:minter.near:t"
    with pytest.raises(InvalidTokenId):
        TokenId(TokenStandard.NEP141, "usdc.near", "1")
    with pytest.raises(InvalidTokenId):
        TokenId(TokenStandard.NEP245, "mt.near")
    with pytest.raises(InvalidTokenId):
        TokenId.parse(None)  # type: ignore[arg-type]


account_label = st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)
account_ids = (
    st.lists(account_label, min_size=1, max_size=3)
    .map(".".join)
    .filter(lambda s: 2 <= len(s) <= 64)
)
inner_ids = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)


@given(
    standard=st.sampled_from(list(TokenStandard)),
    contract_id=account_ids,
    inner=inner_ids,
)
def test_token_id_str_parse_round_trip(
    standard: TokenStandard, contract_id: str, inner: str
) -> None:
    token_id = TokenId(standard, contract_id, None if standard is TokenStandard.NEP141 else inner)
    text = str(token_id)
    assert TokenId.parse(text) == token_id
    assert str(TokenId.parse(text)) == text


# --- omft naming ------------------------------------------------------------------------------


def test_omft_native() -> None:
    assert omft_native("btc") == "btc.omft.near"
    assert omft_native("zec", factory=OMFT_STAGING_FACTORY) == "zec.stft.near"
    for bad in ("", "a.b", "BTC"):
        with pytest.raises(InvalidTokenId):
            omft_native(bad)


def test_omft_evm_lowercases_the_address() -> None:
    assert (
        omft_evm("eth", "0xdAC17F958D2ee523a2206206994597C13D831ec7")
        == "eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"
    )
    assert (
        omft_evm("base", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")
        == "base-0x833589fcd6edb6e08f4c7c32d4f71b54bda02913.omft.near"
    )
    for bad in ("0x1234", "833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "0x" + "g" * 40):
        with pytest.raises(InvalidTokenId):
            omft_evm("base", bad)


def test_omft_non_evm_keccak_rule() -> None:
    # Verified against names seen in sdk-monorepo (PROTOCOL.md §4.1).
    assert (
        omft_solana("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
        == "sol-5ce3bf3a31af18be40ba30f721101b4341690186.omft.near"
    )
    assert (
        omft_solana("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB")
        == "sol-c800a4bd850783ccb82c2b2c7e84175443606352.omft.near"
    )
    assert (
        omft_tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
        == "tron-d28a265909efecdcee7c5028585214ea0b96f015.omft.near"
    )
    assert (
        omft_sui("0xdba34672e30cb065b1f93e3ab55318768fd6fef66c15942c9f7cb846e2f900e7::usdc::USDC")
        == "sui-c1b81ecaf27933252d31a963bc5e9458f13c18ce.omft.near"
    )
    # Known Keccak-256 of the empty string (not NIST SHA3-256).
    assert (
        omft_keccak("x", b"")
        == "x-"
        + "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"[24:]
        + ".omft.near"
    )


def test_omft_non_evm_rejects_bad_addresses() -> None:
    with pytest.raises(InvalidTokenId):
        omft_solana("not-base58!")
    with pytest.raises(InvalidTokenId):
        omft_solana("11111111")  # too short
    with pytest.raises(InvalidTokenId):
        omft_tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u")  # checksum broken
    with pytest.raises(InvalidTokenId):
        omft_sui("")


@pytest.mark.parametrize(
    ("contract_id", "expected"),
    [
        ("btc.omft.near", True),
        ("eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near", True),
        ("omft.near", False),
        ("a.b.omft.near", False),
        ("wrap.near", False),
        ("xomft.near", False),
        ("BTC.omft.near", False),
    ],
)
def test_is_omft(contract_id: str, expected: bool) -> None:
    assert is_omft(contract_id) is expected


def test_is_omft_staging_factory() -> None:
    assert is_omft("btc.stft.near", factory=OMFT_STAGING_FACTORY)
    assert not is_omft("btc.stft.near")


# --- 1cs_v1 asset ids -------------------------------------------------------------------------

# The package's schema examples plus the strings of its stringify test.
CANONICAL_ASSET_IDS = [
    "1cs_v1:eth:erc20:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    "1cs_v1:eth-sepolia:erc721:0xAbcDEF1234567890abcdef1234567890ABCDef12:42",
    "1cs_v1:near:near-nft:apes.coolnft.near:series.1%3Ablue%2F42",
    "1cs_v1:aptos:aptos-coin:0x1%3A%3Aaptos_coin%3A%3AAptosCoin",
    "1cs_v1:fiat:iso4217:EUR",
    "1cs_v1:eth-sepolia:erc20:0x0000000000000000000000000000000000000000",
    "1cs_v1:near:near-nft:apes.coolnft.near:series%3A1%2Fblue%3A42",
    "1cs_v1:aptos:aptos-coin:0x1%3A%3Amy%20coin%2Bv2",
    "1cs_v1:fiat:iso4217:USD",
    "1cs_v1:near:near-ft:%E2%9C%93-token.near",
    "1cs_v1:sui:sui-coin:pkg(1)!~*'()",
    "1cs_v1:btc:native:coin",
]


@pytest.mark.parametrize("text", CANONICAL_ASSET_IDS)
def test_asset_id_round_trip(text: str) -> None:
    asset = AssetId.parse(text)
    assert str(asset) == text
    assert AssetId.parse(str(asset)) == asset
    assert parse_asset(text) == asset


def test_asset_id_fields_are_decoded() -> None:
    asset = AssetId.parse("1cs_v1:near:near-nft:apes.coolnft.near:series%3A1%2Fblue%3A42")
    assert asset == AssetId("near", "near-nft", "apes.coolnft.near", "series:1/blue:42")
    assert AssetId.parse("1cs_v1:near:near-ft:%E2%9C%93-token.near").reference == "✓-token.near"


def test_asset_id_lowercase_escapes_are_accepted_and_canonicalised() -> None:
    asset = AssetId.parse("1cs_v1:aptos:aptos-coin:0x1%3a%3aAptosCoin")
    assert asset.reference == "0x1::AptosCoin"
    assert str(asset) == "1cs_v1:aptos:aptos-coin:0x1%3A%3AAptosCoin"


@pytest.mark.parametrize(
    "text",
    [
        "1cs_v1:eth:erc20",
        "1cs_v2:eth:erc20:0xabc",
        "1cs_v1:eth:erc20:a:b:c",
        "1cs_v1:Eth:erc20:0xabc",
        "1cs_v1:-eth:erc20:0xabc",
        "1cs_v1:eth:20erc:0xabc",
        "1cs_v1:eth:erc20:",
        "1cs_v1:eth:erc20:a b",
        "1cs_v1:eth:erc20:a%2",
        "1cs_v1:eth:erc20:%FF",
        "1cs_v1:eth:erc20:0xabc:",
        "1cs_v1:eth:erc20:ü",
    ],
)
def test_asset_id_rejects(text: str) -> None:
    with pytest.raises(InvalidAssetId):
        AssetId.parse(text)


def test_asset_id_constructor_validates() -> None:
    with pytest.raises(InvalidAssetId):
        AssetId("eth", "erc20", "")
    with pytest.raises(InvalidAssetId):
        AssetId("eth", "erc20", "x", "")
    with pytest.raises(InvalidAssetId):
        AssetId("eth", "erc20", "\ud800")  # lone surrogate: encodeURIComponent throws


def test_encode_uri_component_matches_javascript() -> None:
    assert encode_uri_component("a b+c/d:e?&=#,;@$") == "a%20b%2Bc%2Fd%3Ae%3F%26%3D%23%2C%3B%40%24"
    assert encode_uri_component("-_.!~*'()") == "-_.!~*'()"
    assert encode_uri_component("✓") == "%E2%9C%93"


@given(
    chain=st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True),
    namespace=st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    reference=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1),
    selector=st.none() | st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1),
)
def test_asset_id_object_round_trip(
    chain: str, namespace: str, reference: str, selector: str | None
) -> None:
    asset = AssetId(chain, namespace, reference, selector)
    text = str(asset)
    assert AssetId.parse(text) == asset
    assert str(AssetId.parse(text)) == text


def test_parse_asset_dispatch() -> None:
    assert parse_asset(ANY_ASSET) == AnyAsset()
    assert str(AnyAsset()) == "1cs:any"
    assert parse_asset("nep141:wrap.near") == TokenId.nep141("wrap.near")
    assert isinstance(parse_asset("1cs_v1:btc:native:coin"), AssetId)
    for bad in ("1cs:all", "wrap.near", "1cs_v1:btc"):
        with pytest.raises(InvalidAssetId):
            parse_asset(bad)
