"""The three agency extracts; each module builds one agency's table."""

from __future__ import annotations

from collections.abc import Callable

from htlink.synthetic.agencies import healthcare, prosecution, social_services
from htlink.synthetic.agencies.base import AgencyTable
from htlink.synthetic.world import AgencyJob

#: Agency kind -> the function that builds its extract.
BUILDERS: dict[str, Callable[[AgencyJob], AgencyTable]] = {
    "healthcare": healthcare.build,
    "social_services": social_services.build,
    "prosecution": prosecution.build,
}

__all__ = ["BUILDERS", "AgencyTable"]
