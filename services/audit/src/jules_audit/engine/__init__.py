"""The audit engine: the hash chain, the record format, verification and the order export.

Pure and deterministic: it turns events into records and checkpoints and bytes into verdicts;
reading and writing files is the job of ``jules_audit.store``.
"""

from jules_audit.engine.chain import (
    AUDIT_SOURCE,
    GENESIS_HASH,
    AuditChain,
    AuditRecord,
    canonical,
    checkpoint_signature,
    link_hash,
    sign_checkpoint,
)
from jules_audit.engine.config import AuditLogConfig
from jules_audit.engine.export import (
    EXPORT_COLUMNS,
    EXPORTED_EVENT_TYPES,
    OrderRecordExporter,
    format_utc_micros,
)
from jules_audit.engine.records import (
    MalformedLineError,
    decode_checkpoint,
    decode_record,
    encode_record,
)
from jules_audit.engine.verify import (
    CHECKPOINTS_FILE,
    LogVerifier,
    VerifyFailure,
    VerifyReason,
    VerifyResult,
)

__all__ = [
    "AUDIT_SOURCE",
    "CHECKPOINTS_FILE",
    "EXPORTED_EVENT_TYPES",
    "EXPORT_COLUMNS",
    "GENESIS_HASH",
    "AuditChain",
    "AuditLogConfig",
    "AuditRecord",
    "LogVerifier",
    "MalformedLineError",
    "OrderRecordExporter",
    "VerifyFailure",
    "VerifyReason",
    "VerifyResult",
    "canonical",
    "checkpoint_signature",
    "decode_checkpoint",
    "decode_record",
    "encode_record",
    "format_utc_micros",
    "link_hash",
    "sign_checkpoint",
]
