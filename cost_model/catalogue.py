"""Token prices from the catalogue bundled with genai-prices, as plan rate cards.

Only the bundled data is read (`genai_prices.data`): nothing here touches the network, and the
package's auto-update (`UpdatePrices`) is never started, so results depend only on the installed
version. genai-prices gives Decimal USD per 10^6 tokens (`input_mtok`, `cache_read_mtok`,
`cache_write_mtok`, `output_mtok`); a price may be tiered on the call's total input tokens, with the
tier's rate applied to all tokens once the input exceeds the tier's start, which is exactly a plan's
`long_context` block. Prices of other units (images, audio, web searches, requests, 1-hour cache
writes) have no place in a rate card and are left out.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

import genai_prices
from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider, TieredPrices

from cost_model.errors import InputError
from cost_model.plans import RateCard

SOURCE = "genai-prices catalogue"
# genai-prices price key -> rate card field
RATE_FIELDS = {
    "input_mtok": "input_per_mtok",
    "cache_read_mtok": "cached_input_per_mtok",
    "cache_write_mtok": "cache_write_per_mtok",
    "output_mtok": "output_per_mtok",
}


@functools.lru_cache(maxsize=1)
def _snapshot() -> data_snapshot.DataSnapshot:
    # Built from the bundled list, not get_snapshot(), which would return a downloaded one if
    # anything in the process had started UpdatePrices.
    from genai_prices.data import providers

    return data_snapshot.DataSnapshot(providers=providers, from_auto_update=False)


def catalogue_version() -> str:
    """The version of genai-prices whose bundled prices are used."""
    return genai_prices.__version__


def catalogue_providers() -> list[dict]:
    """Every provider in the catalogue: `id`, `name` and the number of `models`, sorted by id."""
    rows = [{"id": p.id, "name": p.name, "models": len(p.models)} for p in _snapshot().providers]
    return sorted(rows, key=lambda r: r["id"])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _number(price: Decimal | TieredPrices | None) -> float | None:
    if price is None:
        return None
    return float(price.base if isinstance(price, TieredPrices) else price)


def catalogue_models(
    contains: str | None = None, provider_id: str | None = None, *, at: dt.datetime | None = None
) -> list[dict]:
    """Models whose id or name contains `contains` (case-insensitive), of one provider or all.

    One row per (provider, model): `provider_id`, `provider`, `model_id`, `model`, the base rates
    in USD per 10^6 tokens (`input_per_mtok`, `cached_input_per_mtok`, `cache_write_per_mtok`,
    `output_per_mtok`; None where the catalogue gives none), `long_context` (True if tiered),
    `context_window` (tokens, or None) and `deprecated`. Prices are those in force at `at`
    (default: now). Sorted by provider, then model id.
    """
    needle = (contains or "").lower()
    rows = []
    for provider in _snapshot().providers:
        if provider_id is not None and provider.id != provider_id:
            continue
        for model in provider.models:
            if needle in model.id.lower() or needle in (model.name or "").lower():
                rows.append(_row(provider, model, at or _now()))
    return sorted(rows, key=lambda r: (r["provider_id"], r["model_id"]))


def _row(provider: Provider, model: ModelInfo, at: dt.datetime) -> dict:
    prices = model.get_prices(at)
    rates = {field: _number(getattr(prices, key)) for key, field in RATE_FIELDS.items()}
    tiered = any(isinstance(getattr(prices, key), TieredPrices) for key in RATE_FIELDS)
    return {
        "provider_id": provider.id,
        "provider": provider.name,
        "model_id": model.id,
        "model": model.name or model.id,
        **rates,
        "long_context": tiered,
        "context_window": model.context_window,
        "deprecated": bool(model.deprecated),
    }


def _find(model_ref: str, provider_id: str) -> ModelInfo:
    snap = _snapshot()
    provider = data_snapshot.find_provider_by_id(snap.providers, provider_id)
    if provider is None:
        raise InputError(SOURCE, [f"{SOURCE}: {provider_id!r} is not a known provider."])
    # The catalogue's own model id first (what catalogue_models lists), then the names its
    # match rules accept (what an API call would send, e.g. accounts/fireworks/models/...).
    by_id = (m for m in provider.models if m.id.lower() == model_ref.strip().lower())
    model = next(by_id, None) or provider.find_model(model_ref, all_providers=snap.providers)
    if model is None:
        raise InputError(
            SOURCE, [f"{SOURCE}: {model_ref!r} is not a known model of provider {provider.id!r}."]
        )
    return model


def rate_card_from_catalogue(
    model_ref: str, provider_id: str, match: str | None = None, *, at: dt.datetime | None = None
) -> RateCard:
    """A rate card with the catalogue's prices of `model_ref` at `provider_id`.

    `model_ref` is a catalogue model id (as `catalogue_models` lists it) or a name the catalogue
    matches to one; `provider_id` a provider id (as `catalogue_providers` lists it).

    `match` is the card's pattern on llm span names (default: `model_ref` itself). Prices are those
    in force at `at` (default: now). A rate the catalogue leaves out is 0 for input and output and
    the input rate for cached and cache-write tokens (a plan's defaults). Raises InputError for an
    unknown provider or model, or a price with more than one long-context threshold.
    """
    model = _find(model_ref, provider_id)
    prices = model.get_prices(at or _now())
    card = {field: _number(getattr(prices, key)) for key, field in RATE_FIELDS.items()}
    card = {k: v for k, v in card.items() if v is not None}
    long_context = _long_context(prices, model_ref)
    if long_context:
        card["long_context"] = long_context
    return RateCard.model_validate({"match": model_ref if match is None else match, **card})


def _long_context(prices: ModelPrice, model_ref: str) -> dict | None:
    """The single tier of a tiered price as a long_context block (None if not tiered)."""
    tiers = {
        field: getattr(prices, key).tiers
        for key, field in RATE_FIELDS.items()
        if isinstance(getattr(prices, key), TieredPrices)
    }
    starts = {t.start for ts in tiers.values() for t in ts}
    if not starts:
        return None
    if len(starts) > 1 or any(len(ts) > 1 for ts in tiers.values()):
        listed = ", ".join(str(s) for s in sorted(starts))
        raise InputError(
            SOURCE,
            [
                f"{SOURCE}: {model_ref!r} has prices tiered at {listed} input tokens; "
                + "a rate card has one long-context threshold."
            ],
        )
    block: dict = {"above_input_tokens": starts.pop()}
    block.update({field: float(ts[0].price) for field, ts in tiers.items()})
    return block
