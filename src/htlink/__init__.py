"""htlink: privacy-preserving record linkage and de-identification.

Agencies encode identifiers locally into Bloom-filter encodings (CLKs) with a
secret the linkage hub never sees; the hub matches encodings across agencies;
a release stage de-identifies the linked data before analysts receive it.
"""

__version__ = "0.1.0"
