"""The built-in default scenario (``synthetic/default.yaml`` says the same).

Every key of a scenario file is listed here with its default; a scenario file
only needs the keys it changes.  docs/synthetic-data.md explains each one.
"""

from __future__ import annotations

from typing import Any

#: Locales whose names people carry.  ``ar`` is Arabic in Latin spellings.
LOCALES = ("en_US", "es_MX", "es_ES", "vi_VN", "ar", "ru_RU", "uk_UA", "pl_PL")

AGENCY_KINDS = ("healthcare", "social_services", "prosecution")

#: Corruption kinds and what each rate means (per record unless it says otherwise).
CORRUPTION_KINDS: dict[str, str] = {
    "typo": "each of given name and surname: one keyboard error (substitution, insertion, "
    "deletion or transposition)",
    "ocr": "each of given name, surname and date of birth: one OCR confusion (0/O, 1/l, "
    "5/S, rn/m, cl/d, ...)",
    "phonetic": "each of given name and surname: a spelling by sound (ph/f, ie/y, c/k, "
    "double letters, ...)",
    "nickname": "the given name is replaced by a nickname (when the name has one)",
    "middle_in_given": "the middle name is written into the given-name field (when the "
    "person has one)",
    "name_swap": "given name and surname exchanged",
    "surname_drop": "only the first of two surnames is written (people with two surnames)",
    "alias": "the record is made under one of the person's aliases (people with aliases)",
    "transliteration": "a less usual Latin spelling of a Cyrillic or Arabic name (when one "
    "exists)",
    "dob_swap": "day and month of birth exchanged (when the day is 12 or less)",
    "dob_year": "year of birth one too high or too low",
    "dob_typo": "one digit of the written date of birth changed",
    "dob_jan1": "date of birth unknown, written as January 1 of the right year",
    "sex_error": "the other sex recorded",
    "stale_address": "an earlier address written (people who moved before the record)",
    "zip_typo": "one digit of the ZIP code changed",
    "zip_leading_zero": "the ZIP code's leading zero lost (stored as a number)",
    "phone_typo": "one digit of the phone number changed",
}

#: Fields that can be missing, per agency kind (an agency has only its own fields).
MISSING_FIELDS: dict[str, tuple[str, ...]] = {
    "healthcare": ("given_name", "surname", "dob", "sex", "address", "zip", "phone"),
    "social_services": ("given_name", "surname", "dob", "sex", "address", "zip"),
    "prosecution": ("given_name", "surname", "dob"),
}

#: Corruption kinds that do not apply to an agency kind (it has no such field).
NOT_APPLICABLE: dict[str, frozenset[str]] = {
    "healthcare": frozenset(),
    "social_services": frozenset({"phone_typo"}),
    "prosecution": frozenset(
        {"sex_error", "stale_address", "zip_typo", "zip_leading_zero", "phone_typo"}
    ),
}

HEALTHCARE_REASONS = ("injury", "sti", "pregnancy", "substance_use", "other")
REPORT_TYPES = ("runaway", "neglect", "physical_abuse", "sexual_abuse", "exploitation", "other")
ROLES = ("victim", "witness", "defendant")

DEFAULT_SCENARIO: dict[str, Any] = {
    "name": "default",
    "reference_date": "2024-12-31",
    "population": {
        "people": 20_000,
        "locales": {
            "en_US": 0.50, "es_MX": 0.16, "es_ES": 0.0, "vi_VN": 0.07, "ar": 0.07,
            "ru_RU": 0.07, "uk_UA": 0.06, "pl_PL": 0.07,
        },
        "female_share": 0.6,
        "age_bands": [[12, 18, 0.22], [18, 25, 0.38], [25, 35, 0.25], [35, 50, 0.11],
                      [50, 70, 0.04]],
        "middle_name_share": 0.35,
        "alias_share": 0.15,
        "married_share": 0.3,
        "hyphenated_share": 0.35,
        "moves": [0.4, 0.35, 0.25],
        "phone_share": 0.85,
        "phone_change_share": 0.5,
    },
    "membership": {
        "agencies_per_person": {1: 0.65, 2: 0.25, 3: 0.10},
        "agency_weights": {"healthcare": 0.5, "social_services": 0.22, "prosecution": 0.28},
    },
    "agencies": {
        "healthcare": {
            "window": ["2015-01-01", "2024-12-31"],
            "age_at_record": [0, 100],
            "records_per_person": {1: 0.75, 2: 0.14, 3: 0.06, 4: 0.03, 6: 0.02},
            "new_local_id": 0.1,
            "diacritics": 0.5,
            "native_script": 0.0,
            "zip_plus4": 0.35,
            "reasons": {"injury": 0.35, "sti": 0.12, "pregnancy": 0.1, "substance_use": 0.18,
                        "other": 0.25},
            "corruption": {
                "typo": 0.008, "ocr": 0.0, "phonetic": 0.005, "nickname": 0.03,
                "middle_in_given": 0.02, "name_swap": 0.005, "surname_drop": 0.15,
                "alias": 0.05, "transliteration": 0.15, "dob_swap": 0.005, "dob_year": 0.005,
                "dob_typo": 0.005, "dob_jan1": 0.005, "sex_error": 0.005,
                "stale_address": 0.1, "zip_typo": 0.01, "zip_leading_zero": 0.03,
                "phone_typo": 0.01,
            },
            "missing": {
                "given_name": 0.002, "surname": 0.002, "dob": 0.005, "sex": 0.02,
                "address": 0.03, "zip": 0.03, "phone": 0.2,
            },
        },
        "social_services": {
            "window": ["2008-01-01", "2024-12-31"],
            "age_at_record": [4, 18.5],
            "records_per_person": {1: 0.78, 2: 0.15, 3: 0.05, 4: 0.02},
            "new_local_id": 0.15,
            "diacritics": 0.3,
            "native_script": 0.15,
            "zip_plus4": 0.1,
            "report_types": {"runaway": 0.3, "neglect": 0.3, "physical_abuse": 0.15,
                             "sexual_abuse": 0.1, "exploitation": 0.08, "other": 0.07},
            "corruption": {
                "typo": 0.015, "ocr": 0.005, "phonetic": 0.015, "nickname": 0.05,
                "middle_in_given": 0.03, "name_swap": 0.015, "surname_drop": 0.25,
                "alias": 0.1, "transliteration": 0.25, "dob_swap": 0.015, "dob_year": 0.01,
                "dob_typo": 0.01, "dob_jan1": 0.01, "sex_error": 0.01,
                "stale_address": 0.2, "zip_typo": 0.02, "zip_leading_zero": 0.02,
            },
            "missing": {
                "given_name": 0.005, "surname": 0.005, "dob": 0.02, "sex": 0.05,
                "address": 0.08, "zip": 0.08,
            },
        },
        "prosecution": {
            "window": ["2012-01-01", "2024-12-31"],
            "age_at_record": [13, 100],
            "records_per_person": {1: 0.8, 2: 0.14, 3: 0.04, 4: 0.02},
            "diacritics": 0.0,
            "native_script": 0.0,
            "aka_listed": 0.7,
            "case_size": {1: 0.45, 2: 0.35, 3: 0.15, 4: 0.05},
            "roles": {"victim": 0.35, "witness": 0.2, "defendant": 0.45},
            "corruption": {
                "typo": 0.02, "ocr": 0.01, "phonetic": 0.02, "nickname": 0.06,
                "middle_in_given": 0.04, "name_swap": 0.025, "surname_drop": 0.3,
                "alias": 0.25, "transliteration": 0.3, "dob_swap": 0.02, "dob_year": 0.015,
                "dob_typo": 0.01, "dob_jan1": 0.015,
            },
            "missing": {"given_name": 0.005, "surname": 0.005, "dob": 0.03},
        },
    },
}

#: Keys an agency of each kind has besides the common ones.
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "healthcare": ("new_local_id", "zip_plus4", "reasons"),
    "social_services": ("new_local_id", "zip_plus4", "report_types"),
    "prosecution": ("aka_listed", "case_size", "roles"),
}
COMMON_AGENCY_KEYS = (
    "window", "age_at_record", "records_per_person", "diacritics", "native_script",
    "corruption", "missing",
)
