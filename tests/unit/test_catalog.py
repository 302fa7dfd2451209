"""The reference catalogs load unchanged, and a bad catalog file says where it is bad."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from creditflow.catalog_file import load_catalog, parse_catalog, resolve_catalog_path
from creditflow.domain.catalog import UNLISTED_KIND_PRIORITY, Catalog
from creditflow.domain.errors import CatalogError
from creditflow.domain.kinds import Channel, GrantKind
from tests.conftest import REFERENCE_CATALOGS, SHARED_CATALOGS

REFERENCE = REFERENCE_CATALOGS

GOOD = """\
[site]
name = "Test site"
currency = "USD"
timezone = "UTC"

[credits]
priority = { subscription = 10, purchased = 50 }
channels = ["web", "app"]

[subscriptions]
rollover = "none"

[[plans]]
code = "basic"
name = "Basic"
rank = 1
price = { month = "9.99" }
monthly_credits = 500

[[packs]]
code = "credits_100"
credits = 100
price = "4.99"

[operations]
lora_training = { credits = 20000, free_quota = "free_lora_trainings_per_month" }
"""


def reference(name: str) -> Catalog:
    return load_catalog(REFERENCE / name)


def refusal(tmp_path: Path, text: str) -> tuple[str, str]:
    """Load `text` from a file and return (file name, error message); it must be refused."""
    file = tmp_path / "bad.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(file)
    return str(file), caught.value.message


def edited(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def assert_names(message: str, file: str, key: str, *fragments: str) -> None:
    """Every line names the file; one line names the key and says what is wrong."""
    lines = message.splitlines()
    assert all(line.startswith(f"catalog {file}: ") for line in lines), message
    wanted = f"catalog {file}: {key}: "
    matching = [line for line in lines if line.startswith(wanted)]
    assert matching, f"no line for {key!r} in:\n{message}"
    for fragment in fragments:
        assert any(fragment in line for line in matching), f"{fragment!r} not in:\n{message}"


# The reference catalogs and the built-in


def test_every_reference_catalog_is_present_and_loads_unchanged() -> None:
    names = sorted(p.name for p in REFERENCE.glob("*.toml"))
    assert names == ["imgtostl.toml", "membership.toml", "photo-credits.toml", "tagger.toml"]
    for name in names:
        assert isinstance(reference(name), Catalog)


@pytest.mark.skipif(not SHARED_CATALOGS.exists(), reason="no ../shared next to this clone")
def test_the_copies_in_the_repository_are_the_spec_catalogs_byte_for_byte() -> None:
    shared = {p.name: p.read_bytes() for p in SHARED_CATALOGS.glob("*.toml")}
    copies = {p.name: p.read_bytes() for p in REFERENCE.glob("*.toml")}
    assert copies == shared


def test_the_photo_catalog_spends_subscription_credits_before_purchased_ones_on_the_web() -> None:
    photo = reference("photo-credits.toml")
    assert photo.priority_of(GrantKind.SUBSCRIPTION) < photo.priority_of(GrantKind.PURCHASED)
    assert photo.credits.default_channel is Channel.WEB
    assert photo.subscriptions is not None and photo.subscriptions.rollover == "on_renewal"
    basic = photo.plan("basic")
    assert basic is not None and basic.price.month == Decimal("9.99") and basic.price.year is None
    assert photo.minor_units(basic.price.month) == 999
    pack = photo.pack("credits_100")
    assert pack is not None and pack.credits == 100 and pack.expires == "never"
    assert pack.expires_after_days is None
    assert photo.refunds.policy == "strict" and photo.refunds.review_business_days == (3, 5)


def test_the_membership_catalog_has_daily_credits_addons_and_per_plan_entitlements() -> None:
    membership = reference("membership.toml")
    assert membership.daily is not None and membership.daily.credits == 10000
    assert membership.subscriptions is not None
    assert membership.subscriptions.downgrade == "not_allowed"
    assert membership.free.max_loras_per_generation == 3
    tier2 = membership.plan("tier2")
    assert tier2 is not None and tier2.daily_extra_credits == 5000
    assert tier2.entitlements.free_lora_trainings_per_month == 5 and tier2.entitlements.gif_avatar
    assert membership.addons is not None
    assert membership.addons.price_per_1000_credits == Decimal("1.00")
    generate = membership.operations["generate"]
    assert generate.cost(loras=2) == 1200
    assert membership.operations["lora_training"].free_quota == "free_lora_trainings_per_month"
    assert membership.priority_of(GrantKind.DAILY) == 10


def test_the_tagger_catalog_counts_days_in_belgrade_and_needs_three_failed_jobs() -> None:
    tagger = reference("tagger.toml")
    assert tagger.site.currency == "EUR" and tagger.site.zone.key == "Europe/Belgrade"
    assert tagger.refunds.policy == "standard"
    assert tagger.refunds.technical_failure_min_failed_jobs == 3
    assert [p.code for p in tagger.packs] == ["pack_500", "pack_1000", "pack_2500"]
    assert tagger.images is not None and "webp" in tagger.images.formats
    assert tagger.daily is None and tagger.addons is None


def test_the_imgtostl_catalog_reads_its_ratios_as_exact_decimals() -> None:
    imgtostl = reference("imgtostl.toml")
    assert imgtostl.refunds.policy == "goodwill"
    assert imgtostl.refunds.minimal_use_ratio == Decimal("0.10")
    assert imgtostl.refunds.substantial_use_ratio == Decimal("0.50")
    assert type(imgtostl.refunds.minimal_use_ratio) is Decimal
    maker = imgtostl.plan("maker")
    assert maker is not None and maker.price.of("year") == Decimal("150.00")
    assert imgtostl.operations["image_to_stl"].timeout_seconds == 900


def test_the_built_in_example_loads_and_switches_every_section_on() -> None:
    example = load_catalog()
    assert set(example.credits.priority) == set(GrantKind)
    assert example.daily and example.subscriptions and example.addons and example.images
    assert len(example.plans) >= 2 and example.packs
    assert example.refunds.policy == "goodwill"
    assert {
        "generate",
        "upscale",
        "enhance",
        "remove_background",
        "tag",
        "image_to_stl",
        "lora_training",
    } <= set(example.operations)
    assert example.operations["lora_training"].free_quota == "free_lora_trainings_per_month"


def test_a_plan_takes_the_free_value_of_every_entitlement_it_leaves_out() -> None:
    example = load_catalog()
    starter = example.plan("starter")
    assert starter is not None
    assert example.free.max_loras_per_generation == 1
    assert starter.entitlements.max_loras_per_generation == 3  # stated by the plan
    assert starter.entitlements.gif_avatar is example.free.gif_avatar  # left out: from [free]


def test_kinds_missing_from_the_priority_table_are_spent_after_every_listed_kind() -> None:
    photo = reference("photo-credits.toml")
    listed = max(photo.credits.priority.values())
    assert photo.priority_of(GrantKind.DAILY) == UNLISTED_KIND_PRIORITY > listed


def test_lookups_of_unknown_codes_give_none() -> None:
    photo = reference("photo-credits.toml")
    assert photo.plan("gold") is None and photo.pack("gold") is None
    assert photo.operation("gold") is None


def test_minor_units_are_exact_and_refuse_fractions_of_a_cent() -> None:
    photo = reference("photo-credits.toml")
    assert photo.minor_units(Decimal("29.99")) == 2999
    assert photo.minor_units(Decimal("10")) == 1000
    with pytest.raises(ValueError):
        photo.minor_units(Decimal("0.005"))


def test_zero_decimal_currencies_count_minor_units_in_whole_amounts() -> None:
    catalog = parse_catalog(
        edited('currency = "USD"', 'currency = "JPY"')
        .replace('"9.99"', '"1000"')
        .replace('"4.99"', "500"),
        "jpy.toml",
    )
    plan = catalog.plan("basic")
    assert plan is not None and plan.price.month is not None
    assert catalog.minor_units(plan.price.month) == 1000
    assert catalog.to_json()["packs"][0]["price"] == "500"


def test_the_json_catalog_writes_prices_as_strings_with_the_currency_decimals() -> None:
    catalog = parse_catalog(edited('price = "4.99"', "price = 5"), "int.toml")
    data = catalog.to_json()
    assert data["plans"][0]["price"] == {"month": "9.99", "year": None}
    assert data["packs"][0]["price"] == "5.00"
    assert data["credits"]["priority"] == {"subscription": 10, "purchased": 50}
    assert data["refunds"]["minimal_use_ratio"] == "0.10"
    assert Catalog.model_validate(data) == catalog


def test_an_explicit_catalog_path_wins_over_the_environment_and_none_means_built_in() -> None:
    env = {"CREDITFLOW_CATALOG": "/env.toml"}
    assert resolve_catalog_path("/flag.toml", env) == "/flag.toml"
    assert resolve_catalog_path(None, env) == "/env.toml"
    assert resolve_catalog_path(None, {}) is None
    assert resolve_catalog_path(None, {"CREDITFLOW_CATALOG": ""}) is None


# Refusals: each names the file and the key


def test_an_unknown_top_level_section_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, GOOD + "\n[colour]\nname = 1\n")
    assert_names(message, file, "colour", "unknown section")


def test_an_unknown_nested_key_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('timezone = "UTC"', 'timezone = "UTC"\ncolour = 1'))
    assert message == f"catalog {file}: site.colour: unknown key"


def test_a_value_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('name = "Test site"', "name = 42"))
    assert_names(message, file, "site.name", "must be a string", "(got 42)")


def test_a_quoted_number_where_a_whole_number_belongs_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited("monthly_credits = 500", 'monthly_credits = "500"'))
    assert_names(message, file, "plans[0].monthly_credits", "whole number", '"500"')


def test_true_or_false_is_not_a_number_of_credits(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited("credits = 100", "credits = true"))
    assert_names(message, file, "packs[0].credits", "whole number, not true")


def test_credits_must_not_be_negative(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited("monthly_credits = 500", "monthly_credits = -1"))
    assert_names(message, file, "plans[0].monthly_credits", "must not be negative", "(got -1)")


def test_credits_must_be_whole_numbers(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited("credits = 100", "credits = 100.5"))
    assert_names(message, file, "packs[0].credits", "whole number", "(got 100.5)")


def test_credits_above_ten_to_the_twelfth_are_refused(tmp_path: Path) -> None:
    text = edited("monthly_credits = 500", "monthly_credits = 1000000000001")
    file, message = refusal(tmp_path, text)
    assert_names(message, file, "plans[0].monthly_credits", "at most 1000000000000")


def test_an_unknown_credit_kind_in_the_priority_table_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited("purchased = 50", "purchased = 50, gold = 5"))
    assert_names(
        message, file, "credits.priority.gold", 'unknown credit kind "gold"', "known: subscription"
    )


def test_the_default_channel_must_be_one_of_the_channels(tmp_path: Path) -> None:
    text = edited('channels = ["web", "app"]', 'channels = ["web"]\ndefault_channel = "app"')
    file, message = refusal(tmp_path, text)
    assert_names(message, file, "credits.default_channel", '"app" is not among channels')


def test_any_is_not_a_channel_a_site_sells_on(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('["web", "app"]', '["web", "any"]'))
    assert_names(message, file, "credits.channels[1]", 'must be "web" or "app"')


def test_plan_codes_must_be_unique(tmp_path: Path) -> None:
    plan = GOOD[GOOD.index("[[plans]]") : GOOD.index("[[packs]]")].replace("rank = 1", "rank = 2")
    file, message = refusal(tmp_path, GOOD + "\n" + plan)
    assert_names(message, file, "plans[1].code", '"basic" is already used by plans[0]')


def test_plan_ranks_must_be_unique(tmp_path: Path) -> None:
    plan = GOOD[GOOD.index("[[plans]]") : GOOD.index("[[packs]]")].replace('"basic"', '"pro"')
    file, message = refusal(tmp_path, GOOD + "\n" + plan)
    assert_names(message, file, "plans[1].rank", "1 is already used by plans[0]")


def test_pack_codes_must_be_unique(tmp_path: Path) -> None:
    pack = GOOD[GOOD.index("[[packs]]") : GOOD.index("[operations]")]
    file, message = refusal(tmp_path, GOOD + "\n" + pack)
    assert_names(message, file, "packs[1].code", '"credits_100" is already used by packs[0]')


def test_a_pack_code_must_not_be_the_word_addon(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('code = "credits_100"', 'code = "addon"'))
    assert_names(message, file, "packs[0].code", '"addon" is reserved')


def test_a_zero_decimal_currency_refuses_prices_with_cents(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('"USD"', '"JPY"').replace('"4.99"', '"500"'))
    assert_names(message, file, "plans[0].price.month", "JPY prices take whole amounts")


def test_a_negative_price_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('month = "9.99"', 'month = "-1.00"'))
    assert message == f'catalog {file}: plans[0].price.month: must not be negative (got "-1.00")'


def test_a_price_finer_than_the_currency_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('price = "4.99"', 'price = "4.999"'))
    assert_names(message, file, "packs[0].price", "at most 2 decimals", '"4.999"')


def test_a_price_written_as_a_toml_float_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('month = "9.99"', "month = 9.99"))
    assert_names(message, file, "plans[0].price.month", "strings", "not as TOML floats")


def test_a_price_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('price = "4.99"', 'price = "cheap"'))
    assert_names(message, file, "packs[0].price", "not a number")


def test_an_unknown_entitlement_name_is_refused(tmp_path: Path) -> None:
    text = edited("monthly_credits = 500", "monthly_credits = 500\nentitlements = { wings = 2 }")
    file, message = refusal(tmp_path, text)
    assert_names(message, file, "plans[0].entitlements.wings", 'unknown entitlement "wings"')


def test_a_free_quota_must_name_a_per_month_entitlement(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('"free_lora_trainings_per_month"', '"free_wings"'))
    assert_names(
        message, file, "operations.lora_training.free_quota", '"free_wings" is not a per-month'
    )


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('timezone = "UTC"', 'timezone = "Mars/Olympus"'))
    assert_names(message, file, "site.timezone", 'unknown time zone "Mars/Olympus"')


def test_a_currency_must_be_three_capital_letters(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('currency = "USD"', 'currency = "usd"'))
    assert_names(message, file, "site.currency", "three capitals", '"usd"')


def test_a_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('name = "Basic"', "name = Basic"))
    assert message.startswith(f"catalog {file}: not valid TOML: ")
    assert re.search(r"line \d+", message), message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(CatalogError) as caught:
        load_catalog(missing)
    assert caught.value.message == f"catalog {missing}: file not found"


def test_a_catalog_without_a_site_section_is_refused(tmp_path: Path) -> None:
    text = GOOD[GOOD.index("[credits]") :]
    file, message = refusal(tmp_path, text)
    assert_names(message, file, "site", "required section is missing")


def test_a_missing_required_key_is_named(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited("monthly_credits = 500\n", ""))
    assert_names(message, file, "plans[0].monthly_credits", "required key is missing")


def test_plans_need_a_subscriptions_section(tmp_path: Path) -> None:
    file, message = refusal(tmp_path, edited('[subscriptions]\nrollover = "none"\n', ""))
    assert_names(message, file, "subscriptions", "required section is missing")


def test_every_problem_of_a_file_is_listed_one_per_line(tmp_path: Path) -> None:
    text = edited("credits = 100", "credits = -5").replace('"USD"', '"usd"')
    file, message = refusal(tmp_path, text)
    assert len(message.splitlines()) == 2
    assert_names(message, file, "site.currency")
    assert_names(message, file, "packs[0].credits")


@pytest.mark.parametrize(
    ("section", "key", "wanted"),
    [
        ('[alerts]\nlow_balance = "500"\n', "alerts.low_balance", "whole number"),
        ("[alerts]\nlow_balance = -5\n", "alerts.low_balance", "must not be negative"),
        ("[alerts]\nlow_credits = 5\n", "alerts.low_credits", "unknown key"),
    ],
)
def test_the_alerts_section_is_checked_like_every_other(
    tmp_path: Path, section: str, key: str, wanted: str
) -> None:
    file, message = refusal(tmp_path, GOOD + "\n" + section)
    assert_names(message, file, key, wanted)


def test_a_site_address_must_be_absolute(tmp_path: Path) -> None:
    file, message = refusal(
        tmp_path, edited('timezone = "UTC"', 'timezone = "UTC"\nurl = "site.example"')
    )
    assert_names(message, file, "site.url", "absolute address")
