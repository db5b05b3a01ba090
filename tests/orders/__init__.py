"""Orders and quotes: order workflows and pages, applying case changes to orders."""
