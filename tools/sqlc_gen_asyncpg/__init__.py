"""sqlc-gen-asyncpg: a sqlc process plugin that compiles named queries into typed async
Python over asyncpg, with Pydantic row models.

The pipeline has three stages, each a module: `request` (sqlc's GenerateRequest as
frozen dataclasses), `model` (every decision: what to emit), `render` (text).
"""

__version__ = "0.1.0"
