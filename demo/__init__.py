"""`make demo`: the seed's clean-up replayed on a local emulated AWS account (a moto server on 127.0.0.1)."""
