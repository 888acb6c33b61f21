"""Bloom-filter (CLK) encoding of an agency's records into a submission."""
