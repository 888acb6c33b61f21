"""Keys, key derivation and signatures: a thin layer over `cryptography`."""
