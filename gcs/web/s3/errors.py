"""S3 errors: one exception carrying the code, and the HTTP status each code is sent with."""

from __future__ import annotations

STATUS: dict[str, int] = {
    "AccessDenied": 403,
    "AuthorizationHeaderMalformed": 400,
    "AuthorizationQueryParametersError": 400,
    "BadDigest": 400,
    "BucketAlreadyExists": 409,
    "BucketAlreadyOwnedByYou": 409,
    "BucketNotEmpty": 409,
    "EntityTooLarge": 400,
    "EntityTooSmall": 400,
    "ExpiredToken": 400,
    "IncompleteBody": 400,
    "InternalError": 500,
    "InvalidAccessKeyId": 403,
    "InvalidArgument": 400,
    "InvalidBucketName": 400,
    "InvalidChunkSizeError": 403,
    "InvalidDigest": 400,
    "InvalidPart": 400,
    "InvalidPartNumber": 416,
    "InvalidPartOrder": 400,
    "InvalidRange": 416,
    "InvalidRequest": 400,
    "InvalidToken": 400,
    "InvalidURI": 400,
    "KeyTooLongError": 400,
    "MalformedTrailerError": 400,
    "MalformedXML": 400,
    "MetadataTooLarge": 400,
    "MethodNotAllowed": 405,
    "MissingContentLength": 411,
    "NoSuchBucket": 404,
    "NoSuchKey": 404,
    "NoSuchUpload": 404,
    "NotImplemented": 501,
    "PreconditionFailed": 412,
    "RequestTimeTooSkewed": 403,
    "SignatureDoesNotMatch": 403,
    "SlowDown": 503,
    "XAmzContentSHA256Mismatch": 400,
    "XAmzContentChecksumMismatch": 400,
    "XMinioAdminBucketQuotaExceeded": 400,
    "XMinioInvalidObjectName": 400,
    "XMinioObjectExistsAsDirectory": 409,
    "XMinioParentIsObject": 400,
    "XMinioStorageFull": 507,
}


class S3Error(Exception):
    """An S3 request failed; rendered as an S3 XML error with the code's HTTP status.

    Attributes:
        code: the S3 error code.
        message: a sentence for a person.
        status: the HTTP status (from `STATUS`, 400 for unknown codes).
        extra: further elements of the XML error (``Key``, ``BucketName``...).
    """

    def __init__(self, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = STATUS.get(code, 400)
        self.extra = {k: v for k, v in extra.items() if v}


def access_denied(why: str = "Access Denied.") -> S3Error:
    """The credential may not do this."""
    return S3Error("AccessDenied", why)


def not_implemented(what: str) -> S3Error:
    """A feature the station's store does not offer."""
    return S3Error("NotImplemented", f"{what} is not implemented by the station's object store.")
