"""`/bookings/{id}/documents/`: the customer's uploads (COI requirements, certificates) and their downloads."""

import datetime as dt

from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.multipartparser import MultiPartParserError
from ninja import Router, Schema, Status

from core.bookings.services import booking_get_for_customer
from core.common.audit import client_ip
from core.common.ratelimit import check_request_rate_limit
from core.documents.errors import DocumentValidationError
from core.documents.models import Document, UploadSource
from core.documents.selectors import customer_document, customer_documents_queryset, document_status
from core.documents.services import document_download_url, document_upload
from core.documents.uploads import prepare_upload_request
from core.integrations import storage
from public_api.bookings import TOKEN_HEADER
from public_api.schemas import ErrorOut

router = Router(tags=["documents"])
files_router = Router(tags=["documents"])

_UPLOAD_BODY = {
    "requestBody": {"content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file", "document_type"],
        "properties": {
            "file": {"type": "string", "format": "binary", "description": "PDF, JPEG, PNG or HEIC; ≤ 15 MB"},
            "document_type": {"type": "string", "enum": ["building_requirements", "coi", "permit", "other"]},
            "building": {"type": "string", "enum": ["pickup", "dropoff"]},
        },
    }}}},
}


class DocumentOut(Schema):
    id: str
    document_type: str
    original_filename: str
    size: int
    mime_type: str
    sha256: str
    status: str
    created_at: dt.datetime


def render_document(document: Document) -> dict:
    return {"id": str(document.pk), "document_type": document.document_type,
            "original_filename": document.original_filename, "size": document.size,
            "mime_type": document.mime_type, "sha256": document.sha256, "status": document_status(document),
            "created_at": document.created_at}


@router.post("{booking_id}/documents/",
             response={200: DocumentOut, 201: DocumentOut, 404: ErrorOut, 413: ErrorOut, 415: ErrorOut,
                       422: ErrorOut, 429: ErrorOut},
             summary="Upload a document (token)", openapi_extra=_UPLOAD_BODY)
def upload(request, booking_id: str, x_booking_token: str | None = TOKEN_HEADER):
    """Multipart `file` + `document_type` (+ optional `building`). The same bytes again → 200 with the first
    document. 413 `file_too_large`, 415 `unsupported_file_type`, 422 `invalid_document` / `validation_error`."""
    check_request_rate_limit(request, route="documents.upload")
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    # The token is checked before a byte of the body is read; the size limit applies while it streams.
    prepare_upload_request(request)
    try:
        upload_file = request.FILES.get("file")
    except MultiPartParserError as exc:
        raise DocumentValidationError("Send the file as multipart/form-data.",
                                      fields={"file": ["The upload could not be read."]}) from exc
    if upload_file is None:
        raise DocumentValidationError("Attach the file.", fields={"file": ["Attach the file."]})
    document, created = document_upload(
        file=upload_file, filename=upload_file.name, document_type=request.POST.get("document_type", ""),
        building_role=request.POST.get("building", ""), booking=booking, source=UploadSource.CUSTOMER,
    )
    return Status(201 if created else 200, render_document(document))


@router.get("{booking_id}/documents/", response={200: list[DocumentOut], 404: ErrorOut},
            summary="The booking's documents (token)")
def list_documents(request, booking_id: str, x_booking_token: str | None = TOKEN_HEADER):
    """The customer's own uploads and the certificates issued for the booking."""
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    return Status(200, [render_document(d) for d in customer_documents_queryset(booking)])


@router.get("{booking_id}/documents/{document_id}/download/", response={302: None, 404: ErrorOut},
            summary="Download a document (token)")
def download(request, booking_id: str, document_id: str, x_booking_token: str | None = TOKEN_HEADER):
    """302 to a URL that works for a few minutes (≤ 15)."""
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    document = customer_document(booking, document_id)
    url = document_download_url(document=document, via="token", ip_address=client_ip(request))
    return HttpResponseRedirect(url)


@files_router.get("files/{token}/", url_name="document_file", include_in_schema=False)
def signed_file(request, token: str):
    """Local storage only: the file a signed, unexpired URL grants, as an attachment that never renders."""
    granted = storage.read_signed_token(token)
    if granted is None:
        raise Http404
    response = FileResponse(storage.open_file(granted.key, alias=granted.alias), as_attachment=True, filename=granted.filename,
                            content_type=granted.content_type)
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
