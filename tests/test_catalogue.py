import datetime as dt
import socket

import pytest

from cost_model.catalogue import (
    catalogue_models,
    catalogue_providers,
    catalogue_version,
    rate_card_from_catalogue,
)
from cost_model.errors import InputError
from cost_model.plans import RateCard


def rates(card: RateCard) -> tuple[float, float, float]:
    return card.input_per_mtok, card.cached_input_per_mtok, card.output_per_mtok


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the catalogue must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_kimi_k26_from_moonshot_has_the_bundled_prices():
    card = rate_card_from_catalogue("kimi-k2.6", "moonshotai")
    assert card == RateCard(
        match="kimi-k2.6",
        input_per_mtok=0.95,
        cached_input_per_mtok=0.16,
        cache_write_per_mtok=0.95,
        output_per_mtok=4.00,
    )


def test_a_missing_cache_write_price_defaults_to_the_input_rate():
    card = rate_card_from_catalogue("kimi-k2.6", "moonshotai", match="*")
    assert card.match == "*"
    assert card.cache_write_per_mtok == card.input_per_mtok == 0.95


def test_a_provider_without_a_cache_price_bills_cached_tokens_as_input():
    card = rate_card_from_catalogue("moonshotai/Kimi-K2.6", "doubleword")
    assert rates(card) == (0.95, 0.95, 4.0)


def test_a_model_is_found_by_catalogue_id_or_by_api_name():
    by_id = rate_card_from_catalogue("kimi-k2p6", "fireworks", match="*")
    by_name = rate_card_from_catalogue("accounts/fireworks/models/kimi-k2p6", "fireworks", "*")
    assert by_id == by_name
    assert by_id.input_per_mtok == 0.95


def test_prices_in_force_at_a_date_are_used():
    oct20 = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
    card = rate_card_from_catalogue("moonshotai/kimi-k2.6", "openrouter", at=oct20)
    assert rates(card) == (0.65, 0.15, 3.41)
    nov4 = dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
    later = rate_card_from_catalogue("moonshotai/kimi-k2.6", "openrouter", at=nov4)
    assert later.input_per_mtok == 0.95


def test_one_price_tier_becomes_the_long_context_block():
    card = rate_card_from_catalogue("gemini-2.5-pro", "google")
    lc = card.long_context
    assert lc.above_input_tokens == 200000
    assert (card.input_per_mtok, lc.input_per_mtok) == (1.25, 2.5)
    assert (card.output_per_mtok, lc.output_per_mtok) == (10.0, 15.0)
    assert lc.cache_write_per_mtok == card.cache_write_per_mtok == 1.25


def test_more_than_one_threshold_is_refused():
    with pytest.raises(InputError, match="one long-context threshold"):
        rate_card_from_catalogue("qwen/qwen3.7-flash", "openrouter")


def test_unknown_model_and_provider_are_input_errors():
    with pytest.raises(InputError) as info:
        rate_card_from_catalogue("kimi-k9", "moonshotai")
    assert info.value.problems == [
        "genai-prices catalogue: 'kimi-k9' is not a known model of provider 'moonshotai'."
    ]
    with pytest.raises(InputError, match="'nowhere' is not a known provider"):
        rate_card_from_catalogue("kimi-k2.6", "nowhere")


def test_kimi_k26_hosts_are_listed():
    rows = catalogue_models("kimi-k2.6")
    hosts = {r["provider_id"] for r in rows}
    assert {"moonshotai", "cloudflare", "novita", "openrouter"} <= hosts
    moonshot = next(r for r in rows if r["provider_id"] == "moonshotai")
    assert moonshot["model_id"] == "kimi-k2.6"
    assert moonshot["context_window"] == 262144
    assert (moonshot["input_per_mtok"], moonshot["cache_write_per_mtok"]) == (0.95, None)
    assert rows == sorted(rows, key=lambda r: (r["provider_id"], r["model_id"]))


def test_models_can_be_listed_for_one_provider():
    rows = catalogue_models("kimi", provider_id="fireworks")
    assert {r["provider_id"] for r in rows} == {"fireworks"}
    assert "kimi-k2p6" in {r["model_id"] for r in rows}


def test_providers_include_moonshot_and_the_version_is_known():
    providers = {p["id"]: p for p in catalogue_providers()}
    assert providers["moonshotai"]["models"] > 0
    assert catalogue_version() == "0.2.3"
