"""Command-line operations: `flask --app app:create_app <command>`."""
from __future__ import annotations

import click


def register_cli(app) -> None:
    @app.cli.command("load-demo-data")
    def load_demo_data_command():
        """Load the demo data set into an empty database and print the generated logins."""
        from app.demo.loader import DemoDataRefused, load_demo_data

        try:
            result = load_demo_data(app)
        except DemoDataRefused as refusal:
            raise click.ClickException(str(refusal)) from refusal
        click.echo(result.describe())
