"""The OpenAPI description, made to say what the routes answer.

Routes refuse a well-formed request they cannot serve (an unknown feed, a time range the
wrong way round) with 422 and a sentence in `detail`, beside FastAPI's own 422 whose
`detail` lists the fields that failed validation. The generated schema only knows the
latter; this adds the former, so that clients and schema checks accept both.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def describe_errors(app: FastAPI) -> None:
    """Let the documented 422 `detail` be a sentence as well as a list of field errors."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        if error is not None:
            listed = error["properties"]["detail"]
            error["properties"]["detail"] = {
                "anyOf": [{k: v for k, v in listed.items() if k != "title"},
                          {"type": "string"}],
                "title": "Detail",
            }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
