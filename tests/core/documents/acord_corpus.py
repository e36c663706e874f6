"""ACORD-25-style certificates with known values, generated in the test run in the three forms brokers send:
fillable (AcroForm fields, in the 2016 field naming and in an older naming known only by tooltips), flattened
(positioned text only) and scanned (rasterised, rotated a little, noisy, JPEG-compressed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import random
from decimal import Decimal

LABEL_FONT, VALUE_FONT = ("Helvetica", 6.5), ("Helvetica", 9)


@dataclasses.dataclass
class Certificate:
    certificate_date: dt.date = dt.date(2027, 2, 1)
    insured_name: str = "ToteTaxi LLC"
    insurer_name: str = "Hudson Mutual Insurance Company"
    insurer_naic: str = "24112"
    general_liability_policy: str = "GL-4471902"
    effective_date: dt.date = dt.date(2027, 1, 1)
    expiration_date: dt.date = dt.date(2028, 1, 1)
    general_each_occurrence: Decimal = Decimal("1000000")
    general_aggregate: Decimal = Decimal("2000000")
    auto_combined_single: Decimal = Decimal("1000000")
    umbrella_each_occurrence: Decimal = Decimal("5000000")
    workers_comp_each_accident: Decimal = Decimal("1000000")
    additional_insured: bool = True
    waiver_of_subrogation: bool = True
    holder_name: str = "The Board of Managers of The Beresford Condominium"
    holder_address: str = "211 Central Park West, New York, NY 10024"
    description_of_operations: str = ("Certificate holder and Beresford Management LLC are included as "
                                      "additional insured per written contract. Waiver of subrogation applies.")


def variants() -> dict[str, Certificate]:
    """The known-good certificate and the failure variants validation must catch."""
    good = Certificate()
    return {
        "good": good,
        "wrong_holder": dataclasses.replace(good, holder_name="Fifth Avenue Realty Associates Inc.",
                                            holder_address="740 Park Avenue, New York, NY 10021"),
        "low_limit": dataclasses.replace(good, general_each_occurrence=Decimal("500000"),
                                         umbrella_each_occurrence=Decimal("1000000")),
        "expired": dataclasses.replace(good, effective_date=dt.date(2026, 1, 1),
                                       expiration_date=dt.date(2027, 1, 15)),
        "missing_additional_insured": dataclasses.replace(
            good, additional_insured=False, waiver_of_subrogation=False,
            description_of_operations="Moving and storage operations."),
        "other_values": dataclasses.replace(
            good, insured_name="Tote Taxi Moving Co Inc", insurer_name="Atlantic Casualty Group",
            insurer_naic="31879", general_liability_policy="CGL 20-118734", effective_date=dt.date(2026, 11, 15),
            expiration_date=dt.date(2027, 11, 15), general_each_occurrence=Decimal("2000000"),
            general_aggregate=Decimal("4000000"), holder_name="740 Park Avenue Corp",
            holder_address="740 Park Avenue, New York, NY 10021", certificate_date=dt.date(2027, 1, 20)),
    }


def _money(value: Decimal) -> str:
    return f"{value:,.0f}"  # the "$" is printed on the form


def _date(value: dt.date) -> str:
    return value.strftime("%m/%d/%Y")


def _wrap(text: str, width: int = 110) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


# (field, 2016 form name, label shown on the form) for every value we fill: the tooltip of the old naming.
def _values(cert: Certificate) -> list[tuple[str, str, str, float, float, str]]:
    """(our field, 2016 field name, label/tooltip, x, top, text) of every value on the page."""
    holder_lines = cert.holder_address.split(", ", 1)
    description = _wrap(cert.description_of_operations)
    rows = [
        ("certificate_date", "Form_CompletionDate_A", "DATE (MM/DD/YYYY)", 480, 44, _date(cert.certificate_date)),
        ("insured_name", "NamedInsured_FullName_A", "INSURED", 36, 154, cert.insured_name),
        ("insurer_name", "Insurer_FullName_A", "INSURER A", 370, 110, cert.insurer_name),
        ("insurer_naic", "Insurer_NAICCode_A", "NAIC # INSURER A", 530, 110, cert.insurer_naic),
        ("additional_insured", "CertificateOfInsurance_GeneralLiability_AdditionalInsuredCode_A",
         "ADDL INSD GENERAL LIABILITY", 160, 240, "Y" if cert.additional_insured else "N"),
        ("waiver_of_subrogation", "Policy_GeneralLiability_SubrogationWaivedCode_A",
         "SUBR WVD GENERAL LIABILITY", 198, 240, "Y" if cert.waiver_of_subrogation else "N"),
        ("general_liability_policy", "Policy_GeneralLiability_PolicyNumberIdentifier_A",
         "POLICY NUMBER GENERAL LIABILITY", 235, 240, cert.general_liability_policy),
        ("effective_date", "Policy_GeneralLiability_EffectiveDate_A", "POLICY EFF GENERAL LIABILITY", 322, 240,
         _date(cert.effective_date)),
        ("expiration_date", "Policy_GeneralLiability_ExpirationDate_A", "POLICY EXP GENERAL LIABILITY", 382, 240,
         _date(cert.expiration_date)),
        ("general_each_occurrence", "GeneralLiability_EachOccurrence_LimitAmount_A",
         "GENERAL LIABILITY EACH OCCURRENCE", 540, 240, _money(cert.general_each_occurrence)),
        ("general_aggregate", "GeneralLiability_GeneralAggregate_LimitAmount_A", "GENERAL AGGREGATE", 540, 254,
         _money(cert.general_aggregate)),
        ("auto_combined_single", "Vehicle_CombinedSingleLimit_EachAccidentAmount_A", "COMBINED SINGLE LIMIT",
         540, 280, _money(cert.auto_combined_single)),
        ("umbrella_each_occurrence", "ExcessUmbrella_Umbrella_EachOccurrenceAmount_A",
         "UMBRELLA LIAB EACH OCCURRENCE", 540, 310, _money(cert.umbrella_each_occurrence)),
        ("workers_comp_each_accident", "WorkersCompensationEmployersLiability_EmployersLiability_EachAccidentLimitAmount_A",
         "E.L. EACH ACCIDENT", 540, 340, _money(cert.workers_comp_each_accident)),
        ("holder_name", "CertificateHolder_FullName_A", "CERTIFICATE HOLDER", 40, 486, cert.holder_name),
        ("holder_address", "CertificateHolder_MailingAddress_LineOne_A", "CERTIFICATE HOLDER ADDRESS", 40, 498,
         holder_lines[0]),
        ("holder_address", "CertificateHolder_MailingAddress_CityStatePostalCode_A",
         "CERTIFICATE HOLDER CITY STATE ZIP", 40, 510, holder_lines[1] if len(holder_lines) > 1 else ""),
    ]
    for n, line in enumerate(description):
        rows.append(("description_of_operations", f"CertificateOfLiabilityInsurance_ACORDForm_RemarkText_A{n}",
                     "DESCRIPTION OF OPERATIONS / LOCATIONS / VEHICLES", 36, 394 + 12 * n, line))
    return rows


LABELS = [
    ("CERTIFICATE OF LIABILITY INSURANCE", 170, 40, ("Helvetica-Bold", 13)),
    ("DATE (MM/DD/YYYY)", 480, 30, LABEL_FONT),
    ("PRODUCER", 36, 90, LABEL_FONT),
    ("INSURER(S) AFFORDING COVERAGE", 320, 90, LABEL_FONT),
    ("NAIC #", 530, 90, LABEL_FONT),
    ("INSURER A :", 320, 110, LABEL_FONT),
    ("INSURER B :", 320, 124, LABEL_FONT),
    ("INSURED", 36, 140, LABEL_FONT),
    ("COVERAGES", 36, 200, ("Helvetica-Bold", 8)),
    ("TYPE OF INSURANCE", 40, 222, LABEL_FONT),
    ("ADDL INSD", 150, 222, LABEL_FONT),
    ("SUBR WVD", 190, 222, LABEL_FONT),
    ("POLICY NUMBER", 236, 222, LABEL_FONT),
    ("POLICY EFF", 322, 222, LABEL_FONT),
    ("POLICY EXP", 382, 222, LABEL_FONT),
    ("LIMITS", 445, 222, LABEL_FONT),
    ("COMMERCIAL GENERAL LIABILITY", 40, 240, LABEL_FONT),
    ("EACH OCCURRENCE", 445, 240, LABEL_FONT),
    ("GENERAL AGGREGATE", 445, 254, LABEL_FONT),
    ("AUTOMOBILE LIABILITY", 40, 280, LABEL_FONT),
    ("COMBINED SINGLE LIMIT", 445, 280, LABEL_FONT),
    ("UMBRELLA LIAB", 40, 310, LABEL_FONT),
    ("EACH OCCURRENCE", 445, 310, LABEL_FONT),
    ("WORKERS COMPENSATION", 40, 340, LABEL_FONT),
    ("E.L. EACH ACCIDENT", 445, 340, LABEL_FONT),
    ("DESCRIPTION OF OPERATIONS / LOCATIONS / VEHICLES", 36, 380, LABEL_FONT),
    ("CERTIFICATE HOLDER", 36, 470, LABEL_FONT),
    ("CANCELLATION", 320, 470, LABEL_FONT),
    ("AUTHORIZED REPRESENTATIVE", 320, 530, LABEL_FONT),
]
PRODUCER = [("Harbor Insurance Brokers", 36, 104), ("100 Wall Street, New York, NY 10005", 36, 116)]
INSURED_ADDRESS = [("27 Further Lane", 36, 166), ("East Hampton, NY 11937", 36, 178)]
CANCELLATION = ["SHOULD ANY OF THE ABOVE DESCRIBED POLICIES BE CANCELLED BEFORE THE EXPIRATION",
                "DATE THEREOF, NOTICE WILL BE DELIVERED IN ACCORDANCE WITH THE POLICY PROVISIONS."]


def _draw_form(c) -> None:
    from reportlab.lib.pagesizes import letter

    height = letter[1]
    for text, x, top, font in LABELS:
        c.setFont(*font)
        c.drawString(x, height - top - font[1], text)
    c.setFont(*VALUE_FONT)
    for text, x, top in PRODUCER + INSURED_ADDRESS:
        c.drawString(x, height - top - VALUE_FONT[1], text)
    for top in (240, 254, 280, 310, 340):
        c.drawString(530, height - top - VALUE_FONT[1], "$")
    c.setFont("Helvetica", 5.5)
    for n, text in enumerate(CANCELLATION):
        c.drawString(320, height - 484 - 8 * n - 5.5, text)
    c.setLineWidth(0.5)
    for top in (84, 196, 216, 232, 272, 302, 332, 372, 464):
        c.line(30, height - top, 582, height - top)


def render_flattened(cert: Certificate) -> bytes:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter, invariant=1)
    _draw_form(c)
    c.setFont(*VALUE_FONT)
    for _field, _name, _label, x, top, text in _values(cert):
        c.drawString(x, letter[1] - top - VALUE_FONT[1], text)
    c.showPage()
    c.save()
    return out.getvalue()


def render_fillable(cert: Certificate, *, naming: str = "acord2016") -> bytes:
    """The blank form with AcroForm text fields holding the values; `legacy` names them Text1…N and only the
    tooltip says what they are (as older ACORD editions do)."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter, invariant=1)
    _draw_form(c)
    for n, (_field, name, label, x, top, text) in enumerate(_values(cert), start=1):
        field_name = name if naming == "acord2016" else f"Text{n}"
        width = 560 - x if x < 445 else 60
        c.acroForm.textfield(name=field_name, tooltip=label, value=text, x=x, y=letter[1] - top - 11,
                             width=min(width, 300 if x < 300 else width), height=12, fontSize=8, borderWidth=0,
                             fillColor=None, borderColor=None, forceBorder=False)
    c.showPage()
    c.save()
    return out.getvalue()


def render_scan(cert: Certificate, *, dpi: int = 200, seed: int = 0, as_pdf: bool = True) -> bytes:
    """Print the flattened certificate, scan it: rasterise, rotate a little, add noise, JPEG it."""
    import pypdfium2
    from PIL import Image, ImageFilter

    rng = random.Random(seed)
    page = pypdfium2.PdfDocument(render_flattened(cert))[0]
    image = page.render(scale=dpi / 72).to_pil().convert("L")
    image = image.rotate(rng.uniform(-0.6, 0.6), resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    # speckle from a seeded generator, so every run scans the same page the same way
    noise = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    noise = noise.point(lambda v: 255 if v > 24 else 120)
    image = Image.blend(image, noise, 0.15).filter(ImageFilter.GaussianBlur(0.4))
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", quality=70)
    if not as_pdf:
        return jpeg.getvalue()
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter, invariant=1)
    c.drawImage(ImageReader(io.BytesIO(jpeg.getvalue())), 0, 0, width=letter[0], height=letter[1])
    c.showPage()
    c.save()
    return out.getvalue()


def expected(cert: Certificate) -> dict:
    """What a perfect extraction returns for `cert` (the extractor's field names and types)."""
    values = dataclasses.asdict(cert)
    values["description_of_operations"] = " ".join(_wrap(cert.description_of_operations))
    return values
