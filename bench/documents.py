"""Documents: ACORD 25 extraction time and accuracy per kind, and server memory while a 15 MB file is uploaded.

1. Extraction, in process: the generated corpus (tests/core/documents/acord_corpus.py: 6 certificates) read as
   fillable (2016 field names), fillable (older names, tooltips only), flattened, scanned PDF and photo (JPEG).
   Prints seconds per certificate and the share of fields read exactly, per kind and per field.
   Goals: >= 98 % of fields exact on fillable and flattened, >= 85 % on scans.
2. Upload memory: gunicorn (1 sync worker, bench.api_settings, a throwaway SQLite or $DATABASE_URL) receives a
   15 MB PDF on POST /api/v1/bookings/{id}/documents/, streamed from disk by the client. The worker's peak RSS
   (VmHWM) is read before and after; baseline: the same worker after a small upload.
   Goal: growth <= 2x the file size (the body is streamed to a temp file and hashed in chunks, not copied).

    python bench/documents.py [--skip-ocr] [--skip-upload]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
UPLOAD_MB = 15
GOAL_TEXT, GOAL_SCAN, GOAL_GROWTH = 0.98, 0.85, 2.0


def extraction(skip_ocr: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "totetaxi.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from core.documents.extraction import FIELDS, extract_acord25
    from tests.core.documents import acord_corpus as corpus

    kinds = {
        "fillable (2016 names)": (lambda c, n: corpus.render_fillable(c), "application/pdf"),
        "fillable (old names)": (lambda c, n: corpus.render_fillable(c, naming="legacy"), "application/pdf"),
        "flattened": (lambda c, n: corpus.render_flattened(c), "application/pdf"),
        "scanned PDF (OCR)": (lambda c, n: corpus.render_scan(c, seed=n), "application/pdf"),
        "photo JPEG (OCR)": (lambda c, n: corpus.render_scan(c, as_pdf=False, seed=100 + n), "image/jpeg"),
    }
    if skip_ocr:
        kinds = {k: v for k, v in kinds.items() if "OCR" not in k}
    per_field: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    print(f"\n{'kind':24} {'certs':>5} {'s/cert mean':>11} {'s/cert max':>10} {'fields exact':>12}  goal")
    for kind, (render, mime) in kinds.items():
        times, right, total = [], 0, 0
        for n, cert in enumerate(corpus.variants().values()):
            data = render(cert, n)  # scans: a different speckle pattern and skew per certificate
            start = time.perf_counter()
            result = extract_acord25(data, mime)
            times.append(time.perf_counter() - start)
            expected = corpus.expected(cert)
            for field in FIELDS:
                ok = result.value(field) == expected[field]
                per_field[kind][field].append(ok)
                right, total = right + ok, total + 1
        goal = GOAL_SCAN if "OCR" in kind else GOAL_TEXT
        share = right / total
        print(f"{kind:24} {len(times):5d} {sum(times) / len(times):11.3f} {max(times):10.3f} {share:11.1%}  "
              f">= {goal:.0%} {'OK' if share >= goal else 'MISSED'}")
    print(f"\n{'field':28}" + "".join(f"{k.split(' ')[0][:10]:>11}" for k in per_field))
    for field in FIELDS:
        print(f"{field:28}" + "".join(f"{sum(v[field]) / len(v[field]):11.0%}" for v in per_field.values()))


def _vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def _worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def _big_pdf(path: Path, size: int) -> None:
    """A valid one-page PDF padded to `size` bytes by an unreferenced (incompressible) stream object."""
    head = b"%PDF-1.7\n"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]
    padding = size - 1200
    with path.open("wb") as out:
        out.write(head)
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        offsets.append(out.tell())
        out.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % padding)
        for _ in range(padding // 65536):
            out.write(secrets.token_bytes(65536))
        out.write(secrets.token_bytes(padding % 65536))
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets))
        out.write(b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)


def _upload(port: int, booking: dict, path: Path, name: str) -> tuple[int, dict]:
    boundary = "----bench" + secrets.token_hex(8)
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="document_type"\r\n\r\nother\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.putrequest("POST", f"/api/v1/bookings/{booking['id']}/documents/")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + path.stat().st_size + len(tail)))
    conn.putheader("X-Booking-Token", booking["access_token"])
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as source:  # streamed from disk: the client holds 64 KB at a time
        while chunk := source.read(65536):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, body


def upload_memory() -> bool:
    from bench.api import free_port, prepare_database, wait_ready

    tmp = Path(tempfile.mkdtemp(prefix="tt-bench-docs-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.api_settings", "HUEY_SQLITE_PATH": str(tmp / "huey.db"),
           "PYTHONPATH": str(ROOT), "DOCUMENTS_PRIVATE_ROOT": str(tmp / "private"),
           "DOCUMENTS_MAX_UPLOAD_MB": str(UPLOAD_MB + 1)}
    env.pop("DEBUG", None)
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    if env["DATABASE_URL"].startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"  # keep the bench self-contained
    server = None
    try:
        prepare_database(env)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bench.api_wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--worker-class", "sync", "--chdir", str(ROOT), "--log-level", "warning",
             "--timeout", "60"], env=env, cwd=ROOT, start_new_session=True)
        wait_ready(port, server)
        worker = _worker_pid(server.pid)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/services/available-dates/?service_type=mini_move&days_ahead=60")
        day = json.loads(conn.getresponse().read())["dates"][0]
        conn.request("POST", "/api/v1/bookings/", body=json.dumps({
            "booking_type": "mini_move", "pickup_date": day, "pickup_window": "morning", "package": "petite",
            "item_count": 10, "specialty_items": [], "coi_required": True,
            "customer": {"name": "Bench Person", "email": "bench@example.com", "phone": "+12125550123"},
            "pickup_address": {"line1": "1 Bench St", "city": "New York", "state": "NY", "zip_code": "10001"},
            "dropoff_address": {"line1": "2 Bench St", "city": "New York", "state": "NY", "zip_code": "10001"},
        }), headers={"Content-Type": "application/json"})
        booking = json.loads(conn.getresponse().read())
        conn.close()
        small, big = tmp / "small.pdf", tmp / "big.pdf"
        _big_pdf(small, 200_000)
        _big_pdf(big, UPLOAD_MB * 1024 * 1024)
        status, _ = _upload(port, booking, small, "small.pdf")  # warm the worker (imports, pypdf, storage)
        assert status == 201, status
        before = _vm_hwm_kb(worker)
        start = time.perf_counter()
        status, body = _upload(port, booking, big, "big.pdf")
        elapsed = time.perf_counter() - start
        after = _vm_hwm_kb(worker)
        growth_mb = (after - before) / 1024
        size_mb = big.stat().st_size / (1024 * 1024)
        ratio = growth_mb / size_mb
        print(f"\nupload {size_mb:.1f} MB: HTTP {status} in {elapsed:.2f} s; worker peak RSS {before / 1024:.1f} → "
              f"{after / 1024:.1f} MB (+{growth_mb:.1f} MB = {ratio:.2f}x the file; goal <= {GOAL_GROWTH:g}x): "
              f"{'OK' if status == 201 and ratio <= GOAL_GROWTH else 'MISSED'}")
        if status != 201:
            print(body)
        return status == 201
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-ocr", action="store_true")
    parser.add_argument("--skip-upload", action="store_true")
    args = parser.parse_args()
    ok = True
    if not args.skip_upload:
        ok = upload_memory()
    extraction(args.skip_ocr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
