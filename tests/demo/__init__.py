"""The demo data set."""
