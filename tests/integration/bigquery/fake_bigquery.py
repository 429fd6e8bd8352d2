"""A small stand-in for the BigQuery REST API v2 on 127.0.0.1, for the official client.

It keeps datasets, tables and jobs in memory, accepts load-job uploads (multipart and resumable) and reads
the uploaded Parquet, answers query jobs with results registered by the test (it does not execute SQL:
unknown statements succeed with no rows), pages query results, and records every request.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

API = "/bigquery/v2/projects/"
UPLOAD = "/upload/bigquery/v2/projects/"


@dataclass
class Request:
    """One HTTP request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Canned:
    """A result (or failure, or stall) for the query jobs whose SQL matches `pattern`."""

    pattern: re.Pattern[str]
    schema: list[dict[str, Any]] = field(default_factory=list)
    rows: list[Sequence[Any]] = field(default_factory=list)
    error: dict[str, str] | None = None
    stall: bool = False
    times: int | None = None
    lands_on_cancel: bool = False  # a stalled job that finishes anyway when cancelled (COMMIT under way)


@dataclass
class Upload:
    """A load job's uploaded file."""

    job_id: str
    destination: dict[str, str]
    upload_type: str
    data: bytes

    def table(self) -> pa.Table:
        return pq.read_table(io.BytesIO(self.data))


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


class FakeBigQuery:
    """Start with `start()` (returns the base URL), stop with `stop()`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.datasets: dict[tuple[str, str], dict[str, Any]] = {}
        self.tables: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.uploads: list[Upload] = []
        self.canned: list[Canned] = []
        self.load_error: dict[str, str] | None = None
        self._results: dict[tuple[str, str], Canned] = {}
        self._sessions: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with fake._lock:
                    fake.requests.append(request)
                try:
                    status, payload, headers = fake.dispatch(request)
                except ApiError as exc:
                    status, headers = exc.code, {}
                    payload = {
                        "error": {
                            "code": exc.code,
                            "message": exc.message,
                            "errors": [{"reason": exc.reason, "message": exc.message, "domain": "global"}],
                        }
                    }
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if payload is not None:
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-bigquery",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def add_dataset(self, project: str, dataset: str, location: str) -> None:
        """A dataset that exists before the test (created by someone else)."""
        self._insert_dataset(
            project, {"datasetReference": {"projectId": project, "datasetId": dataset}, "location": location}
        )

    def on_query(
        self,
        pattern: str,
        schema: Sequence[tuple[str, str]] = (),
        rows: Sequence[Sequence[Any]] = (),
        *,
        times: int | None = None,
    ) -> None:
        """Answer query jobs whose SQL matches `pattern` (a regex) with these rows ((name, type) schema)."""
        fields = [{"name": name, "type": kind, "mode": "NULLABLE"} for name, kind in schema]
        self.canned.append(Canned(re.compile(pattern, re.S), fields, list(rows), times=times))

    def fail_query(self, pattern: str, reason: str, message: str, *, times: int | None = 1) -> None:
        """Make query jobs whose SQL matches `pattern` fail with this errorResult."""
        error = {"reason": reason, "message": message, "location": "query"}
        self.canned.append(Canned(re.compile(pattern, re.S), error=error, times=times))

    def stall_query(self, pattern: str, *, lands_on_cancel: bool = False) -> None:
        """Query jobs whose SQL matches `pattern` never finish until cancelled; then they end cancelled, or
        (`lands_on_cancel`) done without error, as a script whose COMMIT was already under way."""
        self.canned.append(Canned(re.compile(pattern, re.S), stall=True, lands_on_cancel=lands_on_cancel))

    def calls(self, method: str | None = None, contains: str = "") -> list[Request]:
        """The recorded requests, filtered by method and path substring."""
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method) and contains in r.path]

    def inserted_jobs(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The job resources the client submitted (query or load), in order."""
        with self._lock:
            jobs = list(self.jobs.values())
        return [j for j in jobs if kind is None or kind in j["configuration"]]

    def query_sql(self) -> list[str]:
        return [j["configuration"]["query"]["query"] for j in self.inserted_jobs("query")]

    def dispatch(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        path, method = request.path, request.method
        if path.startswith(UPLOAD):
            return self._upload(request)
        if not path.startswith(API):
            raise ApiError(404, "notFound", f"unknown path {path}")
        parts = path[len(API) :].split("/")
        project = parts[0]
        match parts[1:], method:
            case ["datasets"], "POST":
                return 200, self._insert_dataset(project, request.json()), {}
            case ["datasets", dataset], "GET":
                return 200, self._dataset(project, dataset), {}
            case ["datasets", dataset, "tables"], "POST":
                return 200, self._insert_table(project, dataset, request.json()), {}
            case ["datasets", dataset, "tables", table], "GET":
                return 200, self._table(project, dataset, table), {}
            case ["datasets", dataset, "tables", table], "PATCH":
                return 200, self._patch_table(project, dataset, table, request), {}
            case ["datasets", dataset, "tables", table], "DELETE":
                self._table(project, dataset, table)
                with self._lock:
                    del self.tables[(project, dataset, table)]
                return 204, None, {}
            case ["jobs"], "POST":
                return 200, self._insert_job(project, request.json()), {}
            case ["jobs", job_id], "GET":
                return 200, self._job(project, job_id), {}
            case ["jobs", job_id, "cancel"], "POST":
                job = self._job(project, job_id)
                with self._lock:
                    canned = self._results.get((project, job_id))
                if canned is not None and canned.lands_on_cancel:
                    job["status"] = {"state": "DONE"}
                else:
                    job["status"] = {
                        "state": "DONE",
                        "errorResult": {"reason": "stopped", "message": "Job execution was cancelled"},
                    }
                return 200, {"kind": "bigquery#jobCancelResponse", "job": job}, {}
            case ["queries", job_id], "GET":
                return 200, self._query_results(project, job_id, request), {}
        raise ApiError(404, "notFound", f"unknown call {method} {path}")

    def _dataset(self, project: str, dataset: str) -> dict[str, Any]:
        with self._lock:
            found = self.datasets.get((project, dataset))
        if found is None:
            raise ApiError(404, "notFound", f"Not found: Dataset {project}:{dataset}")
        return found

    def _insert_dataset(self, project: str, resource: dict[str, Any]) -> dict[str, Any]:
        dataset = resource["datasetReference"]["datasetId"]
        with self._lock:
            if (project, dataset) in self.datasets:
                raise ApiError(409, "duplicate", f"Already Exists: Dataset {project}:{dataset}")
            stored = {
                **resource,
                "kind": "bigquery#dataset",
                "id": f"{project}:{dataset}",
                "etag": uuid.uuid4().hex,
                "location": resource.get("location", "US"),
                "creationTime": str(int(time.time() * 1000)),
            }
            self.datasets[(project, dataset)] = stored
        return stored

    def _table(self, project: str, dataset: str, table: str) -> dict[str, Any]:
        with self._lock:
            found = self.tables.get((project, dataset, table))
        if found is None:
            raise ApiError(404, "notFound", f"Not found: Table {project}:{dataset}.{table}")
        return found

    def _insert_table(self, project: str, dataset: str, resource: dict[str, Any]) -> dict[str, Any]:
        meta = self._dataset(project, dataset)
        table = resource["tableReference"]["tableId"]
        with self._lock:
            if (project, dataset, table) in self.tables:
                raise ApiError(409, "duplicate", f"Already Exists: Table {project}:{dataset}.{table}")
            stored = {
                **resource,
                "kind": "bigquery#table",
                "id": f"{project}:{dataset}.{table}",
                "etag": uuid.uuid4().hex,
                "type": "TABLE",
                "location": meta["location"],
                "creationTime": str(int(time.time() * 1000)),
            }
            self.tables[(project, dataset, table)] = stored
        return stored

    def _patch_table(self, project: str, dataset: str, table: str, request: Request) -> dict[str, Any]:
        stored = self._table(project, dataset, table)
        expected = request.headers.get("if-match")
        with self._lock:
            if expected and expected != stored["etag"]:
                raise ApiError(412, "conditionNotMet", "Precondition check failed.")
            stored.update(request.json())
            stored["etag"] = uuid.uuid4().hex
        return stored

    def _job(self, project: str, job_id: str) -> dict[str, Any]:
        with self._lock:
            found = self.jobs.get((project, job_id))
        if found is None:
            raise ApiError(404, "notFound", f"Not found: Job {project}:{job_id}")
        return found

    def _insert_job(self, project: str, resource: dict[str, Any], upload: Upload | None = None) -> dict[str, Any]:
        reference = {"projectId": project, "location": "US", **resource.get("jobReference", {})}
        job_id = reference.setdefault("jobId", uuid.uuid4().hex)
        now = str(int(time.time() * 1000))
        job: dict[str, Any] = {
            **resource,
            "kind": "bigquery#job",
            "id": f"{project}:{reference['location']}.{job_id}",
            "jobReference": reference,
            "status": {"state": "DONE"},
            "statistics": {"creationTime": now, "startTime": now, "endTime": now},
        }
        config = resource["configuration"]
        if "load" in config:
            destination = config["load"]["destinationTable"]
            key = (destination["projectId"], destination["datasetId"], destination["tableId"])
            with self._lock:
                exists = key in self.tables
            if self.load_error is not None:
                job["status"] = {"state": "DONE", "errorResult": self.load_error, "errors": [self.load_error]}
            elif not exists and config["load"].get("createDisposition") == "CREATE_NEVER":
                job["status"] = {
                    "state": "DONE",
                    "errorResult": {"reason": "notFound", "message": f"Not found: Table {key}"},
                }
            else:
                rows = upload.table().num_rows if upload is not None else 0
                job["statistics"]["load"] = {"outputRows": str(rows), "inputFiles": "1"}
        elif "query" in config:
            canned = self._match(config["query"]["query"])
            statement = "SCRIPT" if "BEGIN TRANSACTION" in config["query"]["query"] else "SELECT"
            job["statistics"]["query"] = {"statementType": statement, "totalBytesProcessed": "0"}
            if canned is not None and canned.error is not None:
                job["status"] = {"state": "DONE", "errorResult": canned.error, "errors": [canned.error]}
            elif canned is not None and canned.stall:
                job["status"] = {"state": "RUNNING"}
            with self._lock:
                self._results[(project, job_id)] = canned or Canned(re.compile(""))
        with self._lock:
            self.jobs[(project, job_id)] = job
        return job

    def _match(self, sql: str) -> Canned | None:
        with self._lock:
            for canned in self.canned:
                if canned.times != 0 and canned.pattern.search(sql):
                    if canned.times is not None:
                        canned.times -= 1
                    return canned
        return None

    def _query_results(self, project: str, job_id: str, request: Request) -> dict[str, Any]:
        job = self._job(project, job_id)
        base = {"kind": "bigquery#getQueryResultsResponse", "jobReference": job["jobReference"]}
        if job["status"]["state"] != "DONE":
            return {**base, "jobComplete": False}
        error = job["status"].get("errorResult")
        if error is not None:
            raise ApiError(400, error["reason"], error["message"])
        with self._lock:
            canned = self._results[(project, job_id)]
        start = int(request.query.get("pageToken", ["0"])[0])
        size = int(request.query.get("maxResults", [str(len(canned.rows) or 1)])[0])
        int64_timestamps = request.query.get("formatOptions.useInt64Timestamp", ["false"])[0] == "true"
        page = canned.rows[start : start + size] if size else []
        result: dict[str, Any] = {**base, "jobComplete": True}
        if not canned.schema:  # a statement without a result set (DML, a script)
            return result
        result |= {"schema": {"fields": canned.schema}, "totalRows": str(len(canned.rows))}
        if page:  # like the real API: no "rows" key for an empty page (maxResults=0)
            result["rows"] = [{"f": [{"v": _cell(value, int64_timestamps)} for value in row]} for row in page]
        if size and start + size < len(canned.rows):
            result["pageToken"] = str(start + size)
        return result

    def _upload(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        project = request.path[len(UPLOAD) :].split("/")[0]
        upload_type = request.query["uploadType"][0]
        if upload_type == "multipart":
            metadata, data = _split_multipart(request)
            return 200, self._finish_upload(project, metadata, data, "multipart"), {}
        if request.method == "POST":  # start of a resumable session
            session = uuid.uuid4().hex
            with self._lock:
                self._sessions[session] = {"metadata": request.json(), "data": b""}
            location = f"{self.url}{UPLOAD}{project}/jobs?uploadType=resumable&upload_id={session}"
            return 200, None, {"Location": location}
        session = request.query["upload_id"][0]
        with self._lock:
            state = self._sessions[session]
            state["data"] += request.body
        total = request.headers.get("content-range", "").rpartition("/")[2]
        if total != "*" and int(total) == len(state["data"]):
            return 200, self._finish_upload(project, state["metadata"], state["data"], "resumable"), {}
        return 308, None, {"Range": f"bytes=0-{len(state['data']) - 1}"}

    def _finish_upload(self, project: str, metadata: dict[str, Any], data: bytes, upload_type: str) -> dict[str, Any]:
        job_id = metadata["jobReference"]["jobId"]
        upload = Upload(job_id, metadata["configuration"]["load"]["destinationTable"], upload_type, data)
        with self._lock:
            self.uploads.append(upload)
        return self._insert_job(project, metadata, upload)


def _split_multipart(request: Request) -> tuple[dict[str, Any], bytes]:
    boundary = request.headers["content-type"].split("boundary=")[1].strip('"').encode()
    parts = request.body.split(b"--" + boundary)
    metadata_part, data_part = parts[1], parts[2]
    metadata = json.loads(metadata_part.split(b"\r\n\r\n", 1)[1].strip())
    data = data_part.split(b"\r\n\r\n", 1)[1]
    return metadata, data.removesuffix(b"\r\n")


def _cell(value: Any, int64_timestamps: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if int64_timestamps:
            return str(int(value.timestamp() * 1_000_000))
        return str(value.timestamp())
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
