"""`/reports/files/{token}/`: a scheduled report's emailed link (no login; the signed token is the grant).

A refused link answers the API's error envelope: 404 `not_found` (tampered, or no such file) or 410
`link_expired`, whose message tells the person to open the report in the console.
"""

from django.http import HttpResponseRedirect
from ninja import Router

from core.common.audit import client_ip
from core.reporting.reports.services import report_link_download_url

router = Router(tags=["reports"])


@router.get("files/{token}/", url_name="report_file", include_in_schema=False)
def report_file(request, token: str):
    """302 to the file for a few minutes (S3 presigned, or the signed local view); the download is recorded."""
    url = report_link_download_url(token=token, ip_address=client_ip(request),
                                   user_agent=request.headers.get("User-Agent", ""))
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
