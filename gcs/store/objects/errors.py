"""The one error the object store raises, carrying the S3 error code a front end answers with."""

from __future__ import annotations


class StoreError(Exception):
    """An object-store operation was refused or failed; nothing already stored was changed.

    Attributes:
        code: the S3 error code (``NoSuchKey``, ``EntityTooLarge``, ``XMinioStorageFull``...).
        message: a sentence for a person.
        bucket: the bucket concerned, if any.
        key: the key concerned, if any.
    """

    def __init__(self, code: str, message: str, *, bucket: str = "", key: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.bucket = bucket
        self.key = key


def no_such_bucket(bucket: str) -> StoreError:
    """The bucket does not exist."""
    return StoreError("NoSuchBucket", "The specified bucket does not exist.", bucket=bucket)


def no_such_key(bucket: str, key: str) -> StoreError:
    """The object does not exist."""
    return StoreError("NoSuchKey", "The specified key does not exist.", bucket=bucket, key=key)


def no_such_upload(upload_id: str) -> StoreError:
    """The multipart upload does not exist (never created, completed or aborted)."""
    return StoreError(
        "NoSuchUpload",
        f"The multipart upload {upload_id} does not exist: it may have been completed or aborted.",
    )


def storage_full(detail: str = "") -> StoreError:
    """The disk (or file-size limit) refused a write."""
    return StoreError(
        "XMinioStorageFull",
        "The station's disk is full; free some space and upload again. "
        "站点磁盘已满，请释放空间后重新上传。" + (f" ({detail})" if detail else ""),
    )
