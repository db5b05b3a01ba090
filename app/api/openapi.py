"""The REST API's OpenAPI 3.1 document, assembled from the endpoints as they are declared."""
from __future__ import annotations

TAG_DESCRIPTIONS = {
    "Authentication": "Token login (JWT) and the caller's identity; API keys need no login.",
    "Cases": "Order cases and every case action (the UI's buttons) as POSTs.",
    "Case lines": "Case lines and every line action as POSTs.",
    "Tasks": "Case tasks and case line tasks.",
    "Orders": "Customer and service orders and their actions.",
    "Order lines": "Order line items and their fulfilment actions.",
    "Interactions": "Customer contacts an agent may open a case from.",
    "Search": "Find records by number, external id or words; only what the caller may open.",
    "Approvals": "The managers' inbox of orders and quotes awaiting approval, and deciding on it in bulk.",
}


def build_document(operations: dict, schemas: dict, error_statuses: dict) -> dict:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Order Operations Case Management REST API",
            "version": "1.0.0",
            "description": (
                "JSON over the same workflows as the application's pages. Every write carries the record's "
                "`version` and answers 409 when the record moved since it was read. Lists answer one page "
                "(`page`, `page_size` ≤ 100), newest first, with a count that stops at 10,000 "
                "(`count_capped`). Records the caller may not see answer 404."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "tags": [{"name": name, "description": text} for name, text in TAG_DESCRIPTIONS.items()],
        "paths": {path: dict(sorted(methods.items())) for path, methods in sorted(operations.items())},
        "components": {
            "schemas": schemas,
            "responses": {
                str(code): {
                    "description": text,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
                for code, text in error_statuses.items()
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A JWT from POST /auth/token, or an API key (sst_…).",
                },
            },
        },
    }
