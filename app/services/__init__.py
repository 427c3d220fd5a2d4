"""Business rules as plain functions: they change state and flush, and never commit."""
