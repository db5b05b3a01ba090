"""The customer portal and the customer isolation walk."""
