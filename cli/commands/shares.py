"""`coopledger dwelling | share | price | correct`: dwelling shares at preset prices."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from cli.app import (
    SEQ,
    WriteRequest,
    append,
    db_option,
    emit,
    json_option,
    load_signer,
    open_store,
    reading,
    write_options,
)
from cli.params import DATE, EUR, ID, RATE, TEXT


def _eur(cents: int | None) -> str:
    from ledger.money import format_eur

    return "-" if cents is None else format_eur(cents)


# -- dwelling ----------------------------------------------------------------------------------


@click.group()
def dwelling() -> None:
    """Register, show and list dwellings and the price rules of their shares."""


@dwelling.command("register")
@click.option("--id", "dwelling_id", required=True, help="Stable dwelling id, e.g. D-17.", type=ID)
@click.option("--address", help="The dwelling's address (not personal data).", type=TEXT)
@click.option("--district", required=True, help="One of the charter's districts.", type=TEXT)
@click.option("--delivered", required=True, help="Delivery date (YYYY-MM-DD).", type=DATE)
@click.option(
    "--rule",
    type=click.Choice(["nominal", "fixed-rate", "indexed", "shared-appreciation"]),
    help="The share's preset price rule (default: the charter's).",
)
@click.option("--base-price", required=True, help="Base price P0 in EUR.", type=EUR)
@click.option("--base-date", help="Date of the base price (default: the delivery date).", type=DATE)
@click.option(
    "--rate", help="fixed-rate: yearly rate, e.g. 0.02 (default: the charter's).", type=RATE
)
@click.option(
    "--compounding",
    type=click.Choice(["simple", "compound"]),
    help="fixed-rate: simple or compound (default: the charter's).",
)
@click.option(
    "--index", "series", help="indexed: the index series (default: the charter's).", type=ID
)
@click.option(
    "--owner-share", help="shared-appreciation: the owner's share of a value change.", type=RATE
)
@click.option(
    "--base-appraisal",
    help="shared-appreciation: appraised value in EUR on the base date, EXCLUDING the owner's "
    "improvements.",
    type=EUR,
)
@write_options
def dwelling_register(
    dwelling_id: str,
    address: str | None,
    district: str,
    delivered: date,
    rule: str | None,
    base_price: int,
    base_date: date | None,
    rate: str | None,
    compounding: str | None,
    series: str | None,
    owner_share: str | None,
    base_appraisal: int | None,
    w: WriteRequest,
) -> None:
    """Register a dwelling and fix its share's price rule (before any sale: for good)."""
    from ledger.rules.shares import register_dwelling

    delivered_on = delivered
    price = base_price
    assert price is not None
    command = register_dwelling(
        dwelling_id,
        district,
        delivered_on,
        price,
        base_date if base_date is not None else delivered_on,
        rule=rule,  # type: ignore[arg-type]
        address=address,
        rate=rate,
        compounding=compounding,  # type: ignore[arg-type]
        series=series,
        owner_share=owner_share,
        base_appraisal_cents=base_appraisal,
    )
    append(w, [command], _describe_registration)


def _describe_registration(result: Any) -> str:
    body = result.facts[0].body
    return f"registered dwelling {body.dwelling_id}: {_rule_line(body.price_rule.model_dump())}"


def _rule_line(rule: dict[str, Any]) -> str:
    name = rule["rule"]
    line = f"{name}, base price {_eur(rule['base_price_cents'])} on {rule['base_date']}"
    if name == "fixed-rate":
        line += f", rate {rule['rate']} {rule['compounding']}"
    elif name == "indexed":
        line += f", index {rule['series']} from {rule['base_month']}"
    elif name == "shared-appreciation":
        line += (
            f", owner share {rule['owner_share']}, appraised "
            f"{_eur(rule['base_appraisal_cents'])} on the base date"
        )
        if rule.get("base_at_resale") is not None:
            line += f", base {rule['base_at_resale']} at resale"
    return line


@dwelling.command("show")
@click.argument("dwelling_id", type=ID)
@db_option
@json_option
def dwelling_show(dwelling_id: str, db: str, as_json: bool) -> None:
    """A dwelling, its price rule and the full history of its share."""
    from ledger.rules.shares import dwelling_report

    with reading(db) as tx:
        data = dwelling_report(tx.state, dwelling_id)

    def text() -> None:
        click.echo(
            f"dwelling {data['dwelling_id']}: {data['address'] or '(no address)'}, "
            f"{data['district']}, delivered {data['delivered']}"
        )
        click.echo(
            f"price rule: {_rule_line(data['price_rule'])} (charter of entry {data['charter_seq']})"
        )
        if data["withdrawn_seq"] is not None:
            click.echo(f"registration corrected at entry {data['withdrawn_seq']}")
        else:
            click.echo(
                f"holder: {data['holder']} since {data['since']}, "
                f"price paid {_eur(data['price_paid_cents'])}"
            )
        click.echo("history:")
        for row in data["history"]:
            click.echo(f"  {_history_line(row)}")

    emit(data, as_json, text)


def _history_line(row: dict[str, Any]) -> str:
    kind = row["kind"]
    head = f"entry {row['seq']:>6}  {row['on']}  {kind:<20}"
    if kind == "dwelling.registered":
        what = "registered; the cooperative holds the share"
    elif kind == "share.sold":
        what = f"sold to {row['member_id']} for {_eur(row['price_cents'])}"
    elif kind == "share.bought-back":
        what = f"bought back from {row['member_id']} for {_eur(row['price_cents'])}"
    else:
        what = f"corrects entry {row['corrects']}"
    if row["corrected_seq"] is not None:
        what += f"  [corrected at entry {row['corrected_seq']}]"
    return f"{head} {what}"


@dwelling.command("list")
@db_option
@json_option
def dwelling_list(db: str, as_json: bool) -> None:
    """Every dwelling: district, rule, holder, since, price paid."""
    from ledger.rules.shares import dwelling_rows

    with reading(db) as tx:
        rows = dwelling_rows(tx.state)

    def text() -> None:
        for r in rows:
            click.echo(
                f"{r['dwelling_id']:<10} {r['district']:<16} {r['rule']:<20} "
                f"{r['holder']:<12} since {r['since']}  paid {_eur(r['price_paid_cents'])}"
            )

    emit(rows, as_json, text)


# -- share -------------------------------------------------------------------------------------


@click.group()
def share() -> None:
    """Sell and buy back dwelling shares at their preset prices; the share register."""


_appraisal = click.option(
    "--appraisal",
    help="shared-appreciation: the appraised value in EUR on the date, EXCLUDING the owner's "
    "improvements (their effect is appraised separately, as OpMaat does; an appraisal that "
    "includes them counts them twice).",
    type=EUR,
)
_improvements = click.option(
    "--improvements",
    help="shared-appreciation: appraised value in EUR of the owner's improvements (when the "
    "charter's base stays the dwelling's: every improvement since the base date).",
    type=EUR,
)
_dry_run = click.option(
    "--dry-run", is_flag=True, help="Print the price and its computation; append nothing."
)
_deed = click.option(
    "--deed", help="The notarial deed's reference (charter version 2: required).", type=TEXT
)
_declaration_date = click.option(
    "--declaration-date",
    help="Date of the buyer's self-occupation declaration (charter version 2: required).",
    type=DATE,
)
_declaration_ref = click.option(
    "--declaration-ref",
    help="Reference of the buyer's self-occupation declaration (the document stays outside).",
    type=TEXT,
)


@share.command("sell")
@click.option("--dwelling", "dwelling_id", required=True, type=ID)
@click.option("--member", "member_id", required=True, type=ID)
@click.option("--date", "on", required=True, help="Sale date (YYYY-MM-DD).", type=DATE)
@_appraisal
@_improvements
@_deed
@_declaration_date
@_declaration_ref
@_dry_run
@write_options
def share_sell(
    dwelling_id: str,
    member_id: str,
    on: date,
    appraisal: int | None,
    improvements: int | None,
    deed: str | None,
    declaration_date: date | None,
    declaration_ref: str | None,
    dry_run: bool,
    w: WriteRequest,
) -> None:
    """The cooperative sells the dwelling's share to a member at the preset price."""
    from ledger.rules.shares import sell_share

    sale_date = on
    extra = (appraisal, improvements)
    declared = declaration_date
    command = sell_share(
        dwelling_id,
        member_id,
        sale_date,
        *extra,
        deed=deed,
        declared_on=declared,
        declaration=declaration_ref,
    )
    if dry_run:
        _dry(w.db, command, w.key, w.as_json, dwelling_id, sale_date, extra)
    else:
        append(w, [command], _describe_transfer)


@share.command("buy-back")
@click.option("--dwelling", "dwelling_id", required=True, type=ID)
@click.option("--date", "on", required=True, help="Buy-back date (YYYY-MM-DD).", type=DATE)
@_appraisal
@_improvements
@_deed
@_dry_run
@write_options
def share_buy_back(
    dwelling_id: str,
    on: date,
    appraisal: int | None,
    improvements: int | None,
    deed: str | None,
    dry_run: bool,
    w: WriteRequest,
) -> None:
    """The member sells the share back to the cooperative at the preset price; the fund pays."""
    from ledger.rules.shares import buy_back_share

    buy_date = on
    extra = (appraisal, improvements)
    command = buy_back_share(dwelling_id, buy_date, *extra, deed=deed)
    if dry_run:
        _dry(w.db, command, w.key, w.as_json, dwelling_id, buy_date, extra)
    else:
        append(w, [command], _describe_transfer)


@share.command("resale")
@click.option("--dwelling", "dwelling_id", required=True, type=ID)
@click.option("--to", "buyer_id", required=True, help="The next owner (a member).", type=ID)
@click.option("--date", "on", required=True, help="Date of the deed (YYYY-MM-DD).", type=DATE)
@click.option("--deed", required=True, help="The notarial deed's reference.", type=TEXT)
@click.option(
    "--declaration-date",
    required=True,
    help="Date of the buyer's self-occupation declaration.",
    type=DATE,
)
@click.option(
    "--declaration-ref",
    required=True,
    help="Reference of the buyer's self-occupation declaration (the document stays outside).",
    type=TEXT,
)
@_appraisal
@_improvements
@write_options
def share_resale(
    dwelling_id: str,
    buyer_id: str,
    on: date,
    deed: str,
    declaration_date: date,
    declaration_ref: str,
    appraisal: int | None,
    improvements: int | None,
    w: WriteRequest,
) -> None:
    """A resale at the notary: buy-back from the holder and sale to the next owner in ONE
    entry; the fund pays or receives only the difference of the prices (charter version 2)."""
    from ledger.rules.shares import resell_share

    command = resell_share(
        dwelling_id,
        buyer_id,
        on,
        deed,
        declaration_date,
        declaration_ref,
        appraisal,
        improvements,
    )
    append(w, [command], _describe_resale)


def _describe_resale(result: Any) -> str:
    b = result.facts[0].body
    return (
        f"resold dwelling {b.dwelling_id}'s share from {b.seller_id} to {b.buyer_id} on {b.on} "
        f"(deed {b.deed}): bought back for {_eur(b.buy_back_price_cents)}, sold for "
        f"{_eur(b.sale_price_cents)}"
    )


@share.command("offer")
@click.option("--dwelling", "dwelling_id", required=True, type=ID)
@click.option(
    "--date", "on", required=True, help="Date of the owner's offer (YYYY-MM-DD).", type=DATE
)
@write_options
def share_offer(dwelling_id: str, on: date, w: WriteRequest) -> None:
    """Record the holder's offer of the share to the cooperative; the charter's deadline for
    the buy-back or resale runs from its date (charter version 2)."""
    from ledger.rules.shares import offer_share

    append(
        w,
        [offer_share(dwelling_id, on)],
        lambda r: (
            f"{r.facts[0].body.member_id} offered dwelling {dwelling_id}'s share on "
            f"{r.facts[0].body.on}; buy back or resell by {r.facts[0].body.deadline}"
        ),
    )


@share.command("offers")
@click.option("--at", "at", help="Open offers at the end of this date (default: today).", type=DATE)
@db_option
@json_option
def share_offers(at: date | None, db: str, as_json: bool) -> None:
    """Owners' offers not yet settled by a buy-back or resale, with their deadlines; an overdue
    offer is named as such."""
    from ledger.rules.shares import open_offers

    at_date = at if at is not None else date.today()
    with reading(db) as tx:
        rows = open_offers(tx.state, at_date)

    def text() -> None:
        click.echo(f"open offers at the end of {at_date}: {len(rows)}")
        for r in rows:
            late = f"  OVERDUE by {r['days_overdue']} days" if r["overdue"] else ""
            click.echo(
                f"{r['dwelling_id']:<10} {r['member_id']:<12} offered {r['offered_on']}  "
                f"deadline {r['deadline']}{late}"
            )

    emit({"at": at_date.isoformat(), "offers": rows}, as_json, text)


def _describe_transfer(result: Any) -> str:
    fact = result.facts[0]
    body = fact.body
    if fact.kind == "share.sold":
        what = f"sold dwelling {body.dwelling_id}'s share to {body.member_id}"
    else:
        what = f"bought dwelling {body.dwelling_id}'s share back from {body.member_id}"
    return f"{what} on {body.on} for {_eur(body.price_cents)} ({body.inputs['rule']} rule)"


def _dry(
    db: str,
    command: Any,
    key: Path | None,
    as_json: bool,
    dwelling_id: str,
    on: date,
    extra: tuple[int | None, int | None],
) -> None:
    """Decide and check the command for real (roles included), print it, append nothing."""
    from ledger.rules.shares import share_price
    from ledger.service import Ledger

    signer = load_signer(key)
    store = open_store(db)
    try:
        fact = Ledger(store).dry_run([command], signer)[0]
        with store.reading() as tx:
            computed = share_price(tx.state, dwelling_id, on, *extra)
    finally:
        store.dispose()
    body = fact.body.model_dump(mode="json")
    data = {"dry_run": True, "kind": fact.kind, "body": body, "steps": list(computed.steps)}
    lines = [
        f"{fact.kind}: dwelling {body['dwelling_id']}, member {body['member_id']}, {body['on']}",
        f"price: {_eur(body['price_cents'])}",
        *(f"  {step}" for step in computed.steps),
        "(dry run: nothing was appended)",
    ]
    emit(data, as_json, "\n".join(lines))


@share.command("register")
@click.option("--at", "at", help="The register at the end of this date (default: now).", type=DATE)
@db_option
@json_option
def share_register_cmd(at: date | None, db: str, as_json: bool) -> None:
    """Each dwelling's share: holder, since when, price paid."""
    from ledger.rules.shares import share_register

    at_date = at
    with reading(db) as tx:
        rows = share_register(tx.state, at_date)

    def text() -> None:
        if at_date is not None:
            click.echo(f"share register at the end of {at_date}")
        for r in rows:
            since = r["since"] or "(not delivered yet)"
            click.echo(
                f"{r['dwelling_id']:<10} {r['district']:<16} {r['holder']:<12} "
                f"since {since}  price paid {_eur(r['price_paid_cents'])}"
            )

    emit(rows, as_json, text)


# -- price ---------------------------------------------------------------------------------------


@click.group()
def price() -> None:
    """Explain a dwelling share's preset price."""


@price.command("explain")
@click.option("--dwelling", "dwelling_id", required=True, type=ID)
@click.option("--date", "on", required=True, help="YYYY-MM-DD.", type=DATE)
@_appraisal
@_improvements
@db_option
@json_option
def price_explain(
    dwelling_id: str,
    on: date,
    appraisal: int | None,
    improvements: int | None,
    db: str,
    as_json: bool,
) -> None:
    """The preset price on a date, line by line: rule, inputs, each step, rounding."""
    from ledger.rules.shares import share_price

    on_date = on
    with reading(db) as tx:
        computed = share_price(
            tx.state,
            dwelling_id,
            on_date,
            appraisal,
            improvements,
        )
    data = {
        "dwelling_id": dwelling_id,
        "date": on_date.isoformat(),
        "price_cents": computed.price_cents,
        "inputs": computed.inputs,
        "steps": list(computed.steps),
    }
    lines = [
        f"dwelling {dwelling_id} on {on_date}: {_eur(computed.price_cents)}",
        "inputs: " + ", ".join(f"{k}={v}" for k, v in computed.inputs.items()),
        *(f"  {step}" for step in computed.steps),
    ]
    emit(data, as_json, "\n".join(lines))


# -- correct -------------------------------------------------------------------------------------


@click.command()
@click.argument("seq", type=SEQ)
@click.option("--reason", required=True, help="Why the entry was wrong.", type=TEXT)
@click.option("--date", "on", help="Date of the correction (default: today).", type=DATE)
@write_options
def correct(
    seq: int,
    reason: str,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Reverse entry SEQ (governor) if its effect can still be undone; both stay in the log."""
    from ledger.rules.corrections import correct as correct_entry

    append(
        w,
        [correct_entry(seq, reason, on)],
        lambda r: f"corrected entry {seq} ({r.facts[0].body.kind}): {reason}",
    )
