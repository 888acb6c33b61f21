"""Release: payloads keyed by pseudonym, k-anonymity, small-cell suppression, audit, report.

One concept per module:

* :mod:`~htlink.release.keys` -- the release officer's X25519 key pair
* :mod:`~htlink.release.payload` -- encrypted payload files (X25519 + HKDF-SHA256 + AES-256-GCM)
* :mod:`~htlink.release.export` -- the agency's payload export (links + row tokens + data)
* :mod:`~htlink.release.policy` -- the YAML release policy and its validation
* :mod:`~htlink.release.hierarchies` -- generalization hierarchies and the loss metric
* :mod:`~htlink.release.merge` -- payloads into one row per person; fresh release IDs
* :mod:`~htlink.release.kanonymity` -- lattice search for k-anonymity / l-diversity
* :mod:`~htlink.release.verify` -- the independent check of the written extract
* :mod:`~htlink.release.tables` -- aggregate tables with totals and subtotals
* :mod:`~htlink.release.suppression` -- primary and complementary cell suppression
* :mod:`~htlink.release.audit` -- the attacker's linear programmes (HiGHS)
* :mod:`~htlink.release.report` -- report.html and the tables' HTML
* :mod:`~htlink.release.build` -- the whole release, written atomically
"""
