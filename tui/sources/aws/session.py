"""AWS clients, the one-line messages their failures become, and the private files that
downloads are written to.

boto3 is imported here (and only under ``tui.sources.aws``) so that local use never pays for
it. Credentials, profile and region come from the standard boto3 chain; ``AWS_ENDPOINT_URL``
and ``AWS_ENDPOINT_URL_<SERVICE>`` are honoured by boto3 itself, ``--endpoint-url`` by us.

Audit logs are sensitive: every directory created here is 0700 and every file 0600, whatever
the umask; what already exists keeps its mode. Names chosen by a server become one safe path
component each (:func:`file_component`), so nothing lands outside the directory asked for.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tui.model.text import inert
from tui.sources.local import SourceError

try:
    import boto3
    import botocore.exceptions
    import botocore.parsers
    from botocore.config import Config
except ImportError as error:  # pragma: no cover - boto3 is a declared dependency
    raise ImportError("reading logs from AWS needs boto3: pip install boto3") from error

#: The IAM action each API operation needs, to say which one an access denial is about.
IAM_ACTIONS: dict[str, str] = {
    "DescribeDBClusters": "rds:DescribeDBClusters",
    "DescribeDBInstances": "rds:DescribeDBInstances",
    "DescribeDBLogFiles": "rds:DescribeDBLogFiles",
    "DownloadDBLogFilePortion": "rds:DownloadDBLogFilePortion",
    "FilterLogEvents": "logs:FilterLogEvents",
    "DescribeLogGroups": "logs:DescribeLogGroups",
    "DescribeLogStreams": "logs:DescribeLogStreams",
    "StartLiveTail": "logs:StartLiveTail",
    "StartQuery": "logs:StartQuery",
    "GetQueryResults": "logs:GetQueryResults",
    "StopQuery": "logs:StopQuery",
    "GetLogRecord": "logs:GetLogRecord",
}

_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_INVALID = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
}
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
}
_SECRET = re.compile(r"(Credential=|Signature=|X-Amz-Security-Token=|aws_secret_access_key\s*=)\S+")


class AwsError(SourceError):
    """A failure talking to AWS, as one line a user can act on (no secrets in it)."""


@dataclass(frozen=True)
class AwsOptions:
    """Where and as whom to call AWS (None: the standard chain decides)."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


def client(service: Literal["rds", "logs"], options: AwsOptions) -> Any:
    """A boto3 client with adaptive retries (throttling backs off before giving up)."""
    try:
        session = boto3.session.Session(profile_name=options.profile, region_name=options.region)
    except botocore.exceptions.ProfileNotFound as error:
        raise AwsError(f"no AWS profile named {options.profile!r}") from error
    if session.region_name is None:
        raise AwsError("no AWS region: pass --region or set AWS_REGION (or a profile's region)")
    # With an endpoint of one's own, no "stream-" host prefix (StartLiveTail adds one).
    custom = bool(options.endpoint_url) or any(k.startswith("AWS_ENDPOINT_URL") for k in os.environ)
    attempts = int(os.environ.get("AWS_MAX_ATTEMPTS", "8") or 8)
    config = Config(
        inject_host_prefix=not custom,
        retries={"mode": "adaptive", "total_max_attempts": max(1, attempts)},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=16,
        user_agent_extra="neptune-audit",
    )
    return session.client(service, endpoint_url=options.endpoint_url, config=config)


def explain(
    error: Exception, *, subject: str = "", operation: str = "", resumable: bool = True
) -> AwsError:
    """The one-line message for a boto3/botocore failure (``operation``: the API call, named
    when its answer could not be understood; ``resumable``: a download the next run goes
    on with, unlike a Logs Insights run, which starts again)."""
    if isinstance(error, AwsError):
        return error
    if isinstance(
        error, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)
    ):
        return AwsError(
            "no AWS credentials found: configure a profile (--profile), environment variables, "
            "SSO (aws sso login) or an instance role"
        )
    if isinstance(error, botocore.exceptions.TokenRetrievalError):
        return AwsError("cannot refresh the AWS SSO token: run 'aws sso login' again")
    if isinstance(error, botocore.exceptions.ClientError):
        return _client_error(error, subject)
    if isinstance(
        error,
        (
            botocore.parsers.ResponseParserError,
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ProxyConnectionError,
        ),
    ):
        where = getattr(error, "kwargs", {}).get("endpoint_url", "")
        target = f" ({where})" if where else ""
        # A cut-off response's text holds the body (log data): never show it.
        reason = (
            "the connection broke in the middle of a response"
            if isinstance(error, botocore.parsers.ResponseParserError)
            else _clean(str(error))
        )
        after = (
            "what was downloaded is kept and the next run resumes"
            if resumable
            else "run it again when the network is back"
        )
        return AwsError(f"network failure talking to AWS{target}: {reason}; {after}")
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return AwsError(f"AWS call failed: {_clean(str(error))}")
    if operation:
        return unexpected(operation, subject, f"{type(error).__name__} {_clean(str(error))}")
    return AwsError(f"{type(error).__name__}: {_clean(str(error))}")


def unexpected(operation: str, subject: str, detail: str) -> AwsError:
    """The error for an answer that is not what ``operation`` returns."""
    about = f" for {inert(subject)}" if subject else ""
    return AwsError(f"unexpected answer to {operation}{about}: {_clean(detail)[:200]}")


def error_code(error: Exception) -> str:
    """The service's error code of a failed call (the exception's class name otherwise)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return type(error).__name__


def _client_error(error: botocore.exceptions.ClientError, subject: str) -> AwsError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = _clean(str(details.get("Message", "")))
    operation = error.operation_name
    action = IAM_ACTIONS.get(operation, operation)
    if code in _EXPIRED:
        return AwsError("the AWS credentials have expired: refresh them (e.g. aws sso login)")
    if code in _DENIED:
        return AwsError(
            f"access denied: the credentials may not call {action}; add it to the IAM policy"
            + (f" ({message})" if message else "")
        )
    if code in _INVALID:
        return AwsError(f"the AWS credentials are not valid ({code}): check the profile or keys")
    if code in _THROTTLED:
        return AwsError(
            f"AWS kept throttling {operation} after retries: try again later, or fetch fewer "
            "instances at once"
        )
    if code == "DBClusterNotFoundFault":
        return AwsError(f"no Neptune cluster {subject!r} in this account and region")
    if code in ("DBInstanceNotFound", "DBInstanceNotFoundFault"):
        return AwsError(f"no database instance {subject!r} in this account and region")
    if code == "ResourceNotFoundException":
        return AwsError(
            f"{subject or 'the log group'} does not exist: export the audit log to CloudWatch "
            'with EnableCloudwatchLogsExports=["audit"] on the cluster'
        )
    return AwsError(f"{operation} failed: {code} {message}".strip())


def _clean(text: str) -> str:
    """One inert line, with anything that looks like a credential removed."""
    return inert(" ".join(_SECRET.sub(r"\1…", text).split()))


# -- private files ----------------------------------------------------------------------------

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
_NAME_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_NAME_BYTES = 200  # room for ".part", ".kept-N" and the like within NAME_MAX (255)


def make_private_directories(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700; existing directories are left alone."""
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current) and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIRECTORY)
        except FileExistsError:
            continue  # made meanwhile by another process: not ours to change
        os.chmod(directory, PRIVATE_DIRECTORY)  # the umask may have taken bits away


def open_private(path: Path, flags: int) -> int:
    """A descriptor for ``path`` (created 0600 when missing; an existing file keeps its mode).
    A symbolic link in its place is refused (ELOOP)."""
    flags |= os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return os.open(path, flags & ~os.O_CREAT)
    os.fchmod(descriptor, PRIVATE_FILE)
    return descriptor


def file_component(name: str) -> str:
    """A server-chosen ``name`` as one file name that is safe below a directory.

    ``/`` and ``\\`` become ``_`` (log file names carry a folder); other characters outside
    ``[A-Za-z0-9._-]``, ``%`` and a leading ``.`` are percent-encoded (UTF-8), so the result is
    never hidden, never ``..`` and never a path; a name too long for the file system is cut
    and ends with a hash of the whole name.
    """
    parts: list[str] = []
    for index, character in enumerate(name):
        if character in "/\\":
            parts.append("_")
        elif character in _NAME_CHARACTERS and not (index == 0 and character == "."):
            parts.append(character)
        else:
            parts.extend(f"%{byte:02X}" for byte in character.encode("utf-8", "surrogatepass"))
    encoded = "".join(parts) or "%00"  # an empty name is refused by callers; stay total
    if len(encoded) > _NAME_BYTES:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        encoded = f"{encoded[: _NAME_BYTES - 17]}~{digest}"
    return encoded
