"""Forms of the seller's catalog pages: add products by link or ASIN, import a CSV file."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from .services import CsvImportError, csv_rows_parse

ADD_MAX_LINES = 200
ADD_EMPTY = "Paste at least one product link or ASIN."
ADD_TOO_MANY_LINES = "You pasted {count} lines; at most {limit} go in at once. For more, upload them as a CSV file."
CSV_TOO_LARGE = "The file is {size}; files up to {limit} can be imported. Split it into smaller files."
CSV_NO_ROWS = "The file has its header but no product rows under it."


class ProductAddForm(forms.Form):
    """One or more supplier links or ASINs, one a line."""

    links = forms.CharField(
        label="Product links or ASINs",
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "placeholder": "https://www.amazon.com/dp/B00FLYWNYQ\nB07H57DNVV\nhttps://shop.example.com/products/kettle",
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
        max_length=ADD_MAX_LINES * 2000,
        help_text=f"One a line, up to {ADD_MAX_LINES}. A bare ASIN goes to your default Amazon site.",
        error_messages={"required": ADD_EMPTY},
    )

    def clean_links(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["links"].splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            raise forms.ValidationError(ADD_EMPTY, code="empty")
        if len(lines) > ADD_MAX_LINES:
            raise forms.ValidationError(
                ADD_TOO_MANY_LINES.format(count=len(lines), limit=ADD_MAX_LINES), code="too_many"
            )
        return lines

    def rows(self) -> list[dict]:
        """The lines as import rows (the shape csv_rows_parse gives), numbered from 1."""
        return [
            {"row": number, "text": text, "supplier": "", "note": ""}
            for number, text in enumerate(self.cleaned_data["links"], start=1)
        ]


class ProductImportForm(forms.Form):
    """A CSV file of products: a header line naming url and/or asin (supplier and note optional)."""

    file = forms.FileField(
        label="CSV file",
        allow_empty_file=True,  # an empty file gets csv_rows_parse's clearer message
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text="Columns: url or asin, and optionally supplier (e.g. amazon.de) and note.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.CSV_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                CSV_TOO_LARGE.format(size=filesizeformat(upload.size), limit=filesizeformat(limit)), code="too_large"
            )
        try:
            rows = csv_rows_parse(upload.read())
        except CsvImportError as exc:
            raise forms.ValidationError(str(exc), code="unusable") from exc
        if not rows:
            raise forms.ValidationError(CSV_NO_ROWS, code="no_rows")
        self.cleaned_data["rows"] = rows
        return upload


OVERRIDE_EMPTY = "Enter a price, a stock quantity or a shipping cost (or several)."


class ProductOverrideForm(forms.Form):
    """A seller's own price, stock and/or shipping for a product (their listings only)."""

    price = forms.DecimalField(
        label="Your price at the supplier",
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="In the product's currency.",
    )
    stock = forms.IntegerField(
        label="Stock", required=False, min_value=0, max_value=2_147_483_647, help_text="0 means out of stock."
    )
    shipping = forms.DecimalField(
        label="Your shipping per unit",
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="What shipping one unit to you or your buyer costs, in the product's currency; 0 for free. "
        "It is part of your unit cost.",
    )
    note = forms.CharField(label="Why (optional)", required=False, max_length=300)

    @classmethod
    def initial_for(cls, override) -> dict:
        """The seller's own values as they stand, so that saving one keeps the others."""
        if override is None:
            return {}
        return {name: getattr(override, name) for name in ("price", "stock", "shipping", "note")}

    def clean(self):
        cleaned = super().clean()
        empty = all(cleaned.get(name) is None for name in ("price", "stock", "shipping"))
        if not self.errors and empty:
            raise forms.ValidationError(OVERRIDE_EMPTY, code="empty")
        return cleaned
