"""Render an issued invoice or credit note as an A4 PDF.

The PDF is rendered once, when the document is issued, and kept: so it is built only from the
frozen `Document` (never from the live catalog), and rendered with reportlab's `invariant` mode so
the same document always gives the same bytes (no timestamps or random ids in the file), which
makes a re-render comparable with the stored copy.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_RIGHT  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from creditflow.domain.documents import Document, Party, format_money

_TITLES = {"invoice": "Invoice", "credit_note": "Credit note"}
_MARGIN = 18 * mm
_NO_PADDING_LEFT = ("LEFTPADDING", (0, 0), (-1, -1), 0)
_Money = Callable[[int], str]
"""An amount in minor units, formatted in the document's currency and escaped for markup."""


def render_pdf(document: Document) -> bytes:
    """The document as PDF bytes; equal documents give equal bytes (see the module docstring)."""
    title = _TITLES[document.kind]
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=f"{title} {document.number}",
        author=document.seller.name,
        creator="creditflow",
        producer="creditflow",
        invariant=1,
    )

    def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        # A printed page that got separated from the others still says which document it is.
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        text = f"{title} {document.number} - page {doc.page}"
        canvas.drawRightString(A4[0] - _MARGIN, _MARGIN / 2, text)
        canvas.restoreState()

    template.build(_story(document, title), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _story(document: Document, title: str) -> list[object]:
    styles = _Styles()
    money = _money(document)
    story: list[object] = [
        Paragraph(_esc(title), styles.title),
        Paragraph(f"<b>Number:</b> {_esc(document.number)}", styles.body),
        Paragraph(f"<b>Issue date:</b> {_issue_date(document.issued_at)}", styles.body),
        Spacer(1, 6 * mm),
    ]

    parties = Table(
        [
            [Paragraph("<b>From</b>", styles.body), Paragraph("<b>Bill to</b>", styles.body)],
            [
                Paragraph(_party_markup(document.seller), styles.body),
                Paragraph(_party_markup(document.buyer), styles.body),
            ],
        ],
        colWidths=["50%", "50%"],
    )
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), _NO_PADDING_LEFT]))
    story += [parties, Spacer(1, 6 * mm)]

    story.append(Paragraph(f"Order {_esc(document.order_id)}", styles.body))
    if document.kind == "credit_note" and document.refers_to:
        story.append(Paragraph(f"Corrects invoice {_esc(document.refers_to)}", styles.body))
    story.append(Spacer(1, 6 * mm))

    story.append(_lines_table(document, styles, money))
    story.append(Spacer(1, 4 * mm))
    story.append(_totals_table(document, styles, money))
    story.append(Spacer(1, 8 * mm))

    payment = f"Paid via {_esc(document.payment_provider)}"
    if document.payment_reference:
        payment += f", reference {_esc(document.payment_reference)}"
    story.append(Paragraph(payment, styles.body))
    if document.note:
        story += [Spacer(1, 4 * mm), Paragraph(_esc_multiline(document.note), styles.body)]
    return story


class _Styles:
    """The few paragraph styles the document uses, derived from reportlab's sample sheet."""

    def __init__(self) -> None:
        sample = getSampleStyleSheet()
        self.title: ParagraphStyle = sample["Title"].clone("DocTitle", alignment=0)
        self.body: ParagraphStyle = sample["BodyText"].clone("DocBody", spaceBefore=0)
        self.right: ParagraphStyle = self.body.clone("DocRight", alignment=TA_RIGHT)


def _lines_table(document: Document, styles: _Styles, money: _Money) -> Table:
    rows: list[list[Paragraph]] = [
        [
            Paragraph("<b>Description</b>", styles.body),
            Paragraph("<b>Credits</b>", styles.right),
            Paragraph("<b>Amount</b>", styles.right),
        ]
    ]
    for line in document.lines:
        rows.append(
            [
                Paragraph(_esc_multiline(line.description), styles.body),
                Paragraph(f"{line.credits:,}" if line.credits else "", styles.right),
                Paragraph(money(line.amount), styles.right),
            ]
        )
    width = A4[0] - 2 * _MARGIN
    table = Table(rows, colWidths=[width * 0.6, width * 0.15, width * 0.25], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
                _NO_PADDING_LEFT,
            ]
        )
    )
    return table


def _totals_table(document: Document, styles: _Styles, money: _Money) -> Table:
    tax = document.tax
    rows = [
        [Paragraph("Net", styles.right), Paragraph(money(tax.net), styles.right)],
        [
            Paragraph(_esc(_tax_label(tax.rate, tax.inclusive)), styles.right),
            Paragraph(money(tax.tax), styles.right),
        ],
        [
            Paragraph("<b>Total</b>", styles.right),
            Paragraph(f"<b>{money(tax.total)}</b>", styles.right),
        ],
    ]
    width = A4[0] - 2 * _MARGIN
    table = Table(rows, colWidths=[width * 0.75, width * 0.25])
    table.setStyle(TableStyle([("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)]))
    return table


def _tax_label(rate: Decimal | None, inclusive: bool) -> str:
    """`Tax 19% (included)`: a reader must see whether the tax is inside the prices or on top."""
    if rate is None:
        return "Tax (none applies)"
    return f"Tax {_format_rate(rate)} ({'included' if inclusive else 'added'})"


def _format_rate(rate: Decimal) -> str:
    """`19%` from Decimal("0.19"), `7.5%` from Decimal("0.075"): exact, no trailing zeros."""
    percent = (rate * 100).normalize()
    return f"{percent:f}%"


def _money(document: Document) -> _Money:
    def money(amount: int) -> str:
        return _esc(format_money(amount, document.currency, document.currency_exponent))

    return money


def _party_markup(party: Party) -> str:
    parts: Iterable[str | None] = (
        f"<b>{_esc(party.name)}</b>",
        *(_esc(line) for line in party.address),
        _esc(party.email) if party.email else None,
        _esc(party.country) if party.country else None,
        f"Tax ID: {_esc(party.tax_id)}" if party.tax_id else None,
    )
    return "<br/>".join(part for part in parts if part)


def _issue_date(issued_at: datetime) -> str:
    """The UTC calendar date; a naive timestamp is taken to be in UTC already."""
    if issued_at.tzinfo is None:
        issued_at = issued_at.replace(tzinfo=UTC)
    return issued_at.astimezone(UTC).strftime("%Y-%m-%d")


def _esc(text: str) -> str:
    """Paragraph text is markup: a customer's `Ada & <Co>` must print as typed, not as tags."""
    return html.escape(text, quote=False)


def _esc_multiline(text: str) -> str:
    return "<br/>".join(_esc(line) for line in text.splitlines())
