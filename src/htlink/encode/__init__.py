"""Bloom-filter (CLK) encoding of an agency's records into a submission.

The Python names match the command line: ``htlink encode`` is
:func:`encode_file` with an :class:`EncodeRequest`; :class:`ClkEncoder` encodes
columns already in memory.
"""

from htlink.encode.bloom import ClkEncoder, EncodedChunk
from htlink.encode.mapping import ColumnMapping, load_mapping_file
from htlink.encode.pipeline import EncodeRequest, EncodeResult, encode_file
from htlink.encode.reader import InputSpec
from htlink.encode.submission import Submission, read_clkhash_json, read_submission

__all__ = [
    "ClkEncoder",
    "ColumnMapping",
    "EncodeRequest",
    "EncodeResult",
    "EncodedChunk",
    "InputSpec",
    "Submission",
    "encode_file",
    "load_mapping_file",
    "read_clkhash_json",
    "read_submission",
]
