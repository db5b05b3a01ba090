"""What everything shares: security, permissions, rendering, numbering, migrations, health, production serving."""
